// Package bip324 implements the BIP324 v2 encrypted transport of the Bitcoin
// P2P protocol: the ElligatorSwift key exchange, the garbage and garbage
// terminator framing, version negotiation and packet encryption.
//
// The cryptography comes from libraries: ElligatorSwift keys and the x-only
// ECDH from github.com/btcsuite/btcd/btcec/v2/ellswift, HMAC-SHA256 from
// crypto/hmac (HKDF is its one-block case here), ChaCha20 and
// ChaCha20-Poly1305 from golang.org/x/crypto. This package does the framing
// around them (the key schedule, the rekeying of BIP324's FSChaCha20 and
// FSChaCha20Poly1305, held to btcd v2transport's bytes and to golang.org/x/
// crypto/hkdf's by tests), writing into its own buffers, and it reads
// through a *bufio.Reader in bulk: it finds
// the garbage terminator with one bytes.Index over what is buffered instead
// of receiving one byte at a time, and it accepts exactly what BIP324 allows
// (up to 4,095 bytes of garbage followed by the 16-byte terminator).
//
// The package never starts goroutines and never sets deadlines: the caller
// bounds every call by setting deadlines on its net.Conn.
package bip324

import (
	"errors"
	"fmt"
)

// Role says which side of the connection we are.
type Role uint8

const (
	// Initiator is the side that opened the connection. It sends its key
	// first.
	Initiator Role = iota + 1
	// Responder is the side that accepted the connection. It first checks
	// whether the initiator speaks v1 (ErrV1Peer), then answers with its own
	// key.
	Responder
)

func (r Role) String() string {
	switch r {
	case Initiator:
		return "initiator"
	case Responder:
		return "responder"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// Protocol limits from BIP324.
const (
	// MaxGarbageLen is the most garbage either side may send after its key.
	MaxGarbageLen = 4095
	// NoGarbage as Config.GarbageLen sends no garbage; the zero value
	// sends a random length, as Bitcoin Core does (the same meaning as
	// handshaketest.Config.V2GarbageLen's).
	NoGarbage = -1
	// MaxContentsLen is the largest packet contents the 3-byte length field
	// can describe.
	MaxContentsLen = 1<<24 - 1

	keyLen      = 64 // ElligatorSwift-encoded public key
	termLen     = 16 // garbage terminator
	lengthLen   = 3  // encrypted length field
	headerLen   = 1  // packet header (ignore bit)
	tagLen      = 16 // Poly1305 tag
	ignoreBit   = 0x80
	packetExtra = lengthLen + headerLen + tagLen // bytes a packet adds to its contents

	// maxGarbageSearch is how many bytes after the peer's key may hold its
	// garbage and terminator: BIP324's loop checks received lengths 16
	// through 16+4095.
	maxGarbageSearch = MaxGarbageLen + termLen
)

// Defaults for the Config limits.
const (
	// DefaultMaxDecoys is the default for Config.MaxDecoys.
	DefaultMaxDecoys = 64
	// DefaultMaxDecoyBytes is the default for Config.MaxDecoyBytes.
	DefaultMaxDecoyBytes = 16 << 10
	// DefaultMaxPayload is what ReadMessage uses when given maxPayload <= 0:
	// Bitcoin Core's MAX_PROTOCOL_MESSAGE_LENGTH.
	DefaultMaxPayload = 4_000_000
)

// Errors, matched with errors.Is. Handshake and the Conn methods wrap them
// with detail.
var (
	// ErrV1Peer reports a peer that speaks the v1 protocol.
	//
	// Responder: the first 16 bytes the initiator sent are the v1 prefix for
	// Config.Magic (magic + "version\x00\x00\x00\x00\x00"), or the same
	// with another network's magic (the error says which). Nothing has been
	// consumed from the reader and nothing written, so the caller can go on
	// with v1 on the same *bufio.Reader (and reject a wrong magic there).
	//
	// Initiator: the responder's first bytes are Config.Magic, i.e. it
	// answered in v1: either it closed before 64 bytes arrived, or its 64
	// bytes start with the magic followed by a well-formed v1 command field.
	ErrV1Peer = errors.New("bip324: peer speaks v1")

	// ErrPeerClosed reports EOF, a reset or a broken pipe during the key
	// exchange, before the peer's 64-byte key arrived. It wraps the I/O
	// error. This is how a v1-only peer usually reacts to a v2 initiator: it
	// reads our key as a bad v1 header and hangs up; callers typically retry
	// with v1. A close after the peer's key arrived is reported as the
	// wrapped io.ErrUnexpectedEOF (or the network error) instead.
	ErrPeerClosed = errors.New("bip324: peer closed the connection during the key exchange")

	// ErrGarbageTooLong reports that the peer's garbage terminator was not
	// among the first 4,095+16 bytes after its key. It is returned as soon as
	// the terminator can no longer fit: at the latest once 4,111 bytes have
	// arrived, usually right after the 4,096th byte of garbage.
	ErrGarbageTooLong = errors.New("bip324: no garbage terminator within 4095 bytes of garbage")

	// ErrBadTag reports a packet that failed ChaCha20-Poly1305
	// authentication: corruption, tampering, garbage that is not what the
	// peer authenticated, or a garbage terminator found by chance inside the
	// garbage.
	ErrBadTag = errors.New("bip324: packet authentication failed")

	// ErrPacketTooLarge reports a packet whose decrypted length field
	// exceeds the limit in force (ReadMessage's maxPayload, or during
	// Handshake the remaining Config.MaxDecoyBytes). It is returned before
	// the packet body is read or any buffer of that size is allocated, and
	// the stream is then unusable. ReadMessage also returns it, with the
	// stream intact, for a packet within the limit whose payload exceeds
	// maxPayload once the message type is removed; WriteMessage returns it
	// for a message too large for a packet.
	ErrPacketTooLarge = errors.New("bip324: packet too large")

	// ErrTooManyDecoys reports more decoy (ignore-bit) packets in a row than
	// Config.MaxDecoys allows, during Handshake or within one ReadMessage.
	ErrTooManyDecoys = errors.New("bip324: too many decoy packets")

	// ErrMalformed reports authenticated packet contents that cannot be
	// decoded: empty contents, or a long-form message type that is short,
	// empty, not printable ASCII or not zero-padded.
	ErrMalformed = errors.New("bip324: malformed packet")

	// ErrInvalidConfig reports arguments Handshake cannot work with.
	ErrInvalidConfig = errors.New("bip324: invalid config")

	// ErrWrongNetwork reports a peer on another network: a
	// *WrongNetworkError says which.
	ErrWrongNetwork = errors.New("bip324: peer is on another network")
)

// WrongNetworkError reports a peer found to be on another network: its
// garbage terminator is the one derived with Magic (Config.OtherMagics), or
// a responder answered with a v1 version message carrying Magic. It matches
// ErrWrongNetwork.
type WrongNetworkError struct {
	Magic uint32
	How   string
}

func (e *WrongNetworkError) Error() string {
	return fmt.Sprintf("%v: %s for network magic %08x", ErrWrongNetwork, e.How, e.Magic)
}

// Is makes errors.Is(err, ErrWrongNetwork) hold.
func (e *WrongNetworkError) Is(target error) bool { return target == ErrWrongNetwork }
