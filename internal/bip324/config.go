package bip324

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ellswift"
)

// Config parameterises Handshake. The zero value (plus Magic) is usable: no
// garbage, no decoys, crypto/rand, default limits.
type Config struct {
	// Magic is the network magic (the wire.BitcoinNet value, e.g.
	// 0xd9b4bef9 for mainnet). It is part of the v1-detection prefix and of
	// the key derivation (HKDF salt "bitcoin_v2_shared_secret" + the magic
	// in little-endian): peers on different networks derive different
	// garbage terminators and never find each other's, so the handshake
	// ends with the caller's deadline, an EOF or ErrGarbageTooLong.
	Magic uint32

	// GarbageLen is how many bytes of random garbage we send after our key:
	// 0 (the zero value) a uniformly random length in [0, 4095] per
	// handshake (what Bitcoin Core does; a fixed length makes the first
	// flight's size a fingerprint), 1..4095 that many, NoGarbage (-1)
	// none.
	GarbageLen int

	// Decoys are the content lengths of decoy packets (ignore bit set, zero
	// contents) we send after our garbage terminator and before our version
	// packet. The first of them carries our garbage as AAD. Meant for tests
	// and traffic shaping.
	Decoys []int

	// Rand is the entropy source for our private key, the garbage length
	// and the garbage bytes. nil means crypto/rand. With a non-nil Rand the
	// private key is read from it, but the ElligatorSwift encoding of the
	// public key still draws its randomness from crypto/rand (the ellswift
	// library does not take a reader).
	Rand io.Reader

	// MaxDecoys bounds the decoy packets accepted in a row: before the
	// peer's version packet in Handshake, and within one ReadMessage call.
	// One more fails with ErrTooManyDecoys. 0 means DefaultMaxDecoys (64);
	// negative means no decoys are accepted.
	MaxDecoys int

	// MaxDecoyBytes bounds the total contents of the decoy packets and the
	// version packet received during Handshake. A packet whose length field
	// exceeds what remains fails with ErrPacketTooLarge before it is read.
	// 0 means DefaultMaxDecoyBytes (16 KiB).
	//
	// Together with the fixed garbage bound, this caps what Handshake reads
	// and allocates whatever the peer sends: at most 64 + 4,111 bytes of key
	// and garbage, then (MaxDecoys+1) packets of at most MaxDecoyBytes
	// contents in total.
	MaxDecoyBytes int

	// Messages are application messages sent encrypted right after our
	// version packet, in the same write: an initiator's version message,
	// so that it costs no write of its own.
	Messages []Message

	// OtherMagics are the magics of networks other than Magic. When the
	// peer's garbage terminator is not ours but the one it would send on
	// one of these, Handshake fails with a *WrongNetworkError naming it
	// rather than searching on to ErrGarbageTooLong or a deadline. The
	// other terminators are derived only once ours was not found first.
	OtherMagics []uint32

	// keygen replaces key generation in tests (BIP324 test vectors).
	keygen func() (*btcec.PrivateKey, [64]byte, error)
}

func (cfg *Config) maxDecoys() int {
	switch {
	case cfg.MaxDecoys == 0:
		return DefaultMaxDecoys
	case cfg.MaxDecoys < 0:
		return 0
	}
	return cfg.MaxDecoys
}

func (cfg *Config) maxDecoyBytes() int {
	if cfg.MaxDecoyBytes <= 0 {
		return DefaultMaxDecoyBytes
	}
	return min(cfg.MaxDecoyBytes, MaxContentsLen)
}

func (cfg *Config) rand() io.Reader {
	if cfg.Rand == nil {
		return rand.Reader
	}
	return cfg.Rand
}

// garbageLen validates GarbageLen and resolves its zero value and NoGarbage.
func (cfg *Config) garbageLen() (int, error) {
	switch {
	case cfg.GarbageLen == NoGarbage:
		return 0, nil
	case cfg.GarbageLen == 0:
		var b [2]byte
		if _, err := io.ReadFull(cfg.rand(), b[:]); err != nil {
			return 0, fmt.Errorf("bip324: reading entropy: %w", err)
		}
		return int(binary.LittleEndian.Uint16(b[:]) & 0x0fff), nil // 4096 = 2^12 values
	case cfg.GarbageLen < 0 || cfg.GarbageLen > MaxGarbageLen:
		return 0, fmt.Errorf("%w: GarbageLen %d not in [0, %d] or NoGarbage",
			ErrInvalidConfig, cfg.GarbageLen, MaxGarbageLen)
	}
	return cfg.GarbageLen, nil
}

func (cfg *Config) newKey() (*btcec.PrivateKey, [64]byte, error) {
	if cfg.keygen != nil {
		return cfg.keygen()
	}
	if cfg.Rand == nil {
		return ellswift.EllswiftCreate()
	}
	return keyFromReader(cfg.Rand)
}

// check validates the decoys and messages.
func (cfg *Config) check() error {
	for _, n := range cfg.Decoys {
		if n < 0 || n > MaxContentsLen {
			return fmt.Errorf("%w: decoy length %d not in [0, %d]", ErrInvalidConfig, n, MaxContentsLen)
		}
	}
	for _, m := range cfg.Messages {
		if err := checkCommand(m.Cmd); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		if len(m.Payload)+typeLen(m.Cmd) > MaxContentsLen {
			return fmt.Errorf("%w: %s message of %d bytes", ErrInvalidConfig, m.Cmd, len(m.Payload))
		}
	}
	return nil
}
