// Package bip324 implements the BIP324 v2 encrypted transport of the Bitcoin
// P2P protocol: the ElligatorSwift key exchange, the garbage and garbage
// terminator framing, version negotiation and packet encryption.
//
// The cryptography comes from libraries: ElligatorSwift keys and the x-only
// ECDH from github.com/btcsuite/btcd/btcec/v2/ellswift, HKDF from
// golang.org/x/crypto/hkdf, and the rekeying FSChaCha20 / FSChaCha20Poly1305
// ciphers from github.com/btcsuite/btcd/v2transport. This package only does
// the framing, so that it can read through a *bufio.Reader in bulk: it finds
// the garbage terminator with one bytes.Index over what is buffered instead
// of receiving one byte at a time, and it accepts exactly what BIP324 allows
// (up to 4,095 bytes of garbage followed by the 16-byte terminator).
//
// The package never starts goroutines and never sets deadlines: the caller
// bounds every call by setting deadlines on its net.Conn.
package bip324

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ellswift"
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
	// RandomGarbage as Config.GarbageLen picks a uniformly random garbage
	// length in [0, MaxGarbageLen] for each handshake, as Bitcoin Core does.
	RandomGarbage = -1
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
	// 0 (the zero value) sends none, 1..4095 that many, RandomGarbage (-1)
	// a uniformly random length in [0, 4095] per handshake (what Bitcoin
	// Core does; a fixed length makes the first flight's size a
	// fingerprint).
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

// garbageLen validates GarbageLen and resolves RandomGarbage.
func (cfg *Config) garbageLen() (int, error) {
	switch {
	case cfg.GarbageLen == RandomGarbage:
		var b [2]byte
		if _, err := io.ReadFull(cfg.rand(), b[:]); err != nil {
			return 0, fmt.Errorf("bip324: reading entropy: %w", err)
		}
		return int(binary.LittleEndian.Uint16(b[:]) & 0x0fff), nil // 4096 = 2^12 values
	case cfg.GarbageLen < 0 || cfg.GarbageLen > MaxGarbageLen:
		return 0, fmt.Errorf("%w: GarbageLen %d not in [0, %d] or RandomGarbage",
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

// v1Prefix is the first 16 bytes of a v1 version message for magic.
func v1Prefix(magic uint32) [16]byte {
	var p [16]byte
	binary.LittleEndian.PutUint32(p[:4], magic)
	copy(p[4:], "version\x00\x00\x00\x00\x00")
	return p
}

// Handshake runs the BIP324 key exchange and version negotiation over r and w
// and returns a Conn that encrypts application messages.
//
// r should wrap the connection w writes to; it is read in bulk and never
// beyond the end of the handshake, so bytes the peer sent after its version
// packet stay in r for the Conn. Any buffer size works (bufio's minimum, 16,
// included); the default 4,096 is right for sockets.
//
// Initiator: sends our 64-byte ElligatorSwift key and the garbage, reads the
// responder's key, derives the keys (HKDF with the BIP324 labels), sends our
// garbage terminator, the decoys and the version packet (empty contents; the
// first packet carries our garbage as AAD), then finds the responder's
// terminator within the 4,111 bytes after its key and authenticates its
// version packet (AAD = its garbage), skipping decoys.
//
// Responder: peeks at the initiator's first 16 bytes and returns ErrV1Peer on
// a v1 version header; otherwise reads the initiator's whole key, derives the
// keys and sends key, garbage, terminator, decoys and version packet in a
// single write, then receives as above.
//
// Deadlines and cancellation are the caller's: it sets deadlines on its
// net.Conn (a deadline error is returned wrapped). No goroutines are started.
//
// On a synchronous in-memory pipe (net.Pipe), where a write completes only
// once the other side has read it, each side's bufio.Reader must be able to
// hold the other side's first flight (up to 64+4,095 bytes from an
// initiator, 64+4,095+16+20 bytes plus decoys from a responder), or the two
// writers block each other: use bufio.NewReaderSize(conn, 8192) there when
// garbage may be long. Sockets are not affected.
func Handshake(r *bufio.Reader, w io.Writer, role Role, cfg Config) (*Conn, error) {
	if r == nil || w == nil {
		return nil, fmt.Errorf("%w: nil reader or writer", ErrInvalidConfig)
	}
	if role != Initiator && role != Responder {
		return nil, fmt.Errorf("%w: role %v", ErrInvalidConfig, role)
	}
	for _, n := range cfg.Decoys {
		if n < 0 || n > MaxContentsLen {
			return nil, fmt.Errorf("%w: decoy length %d not in [0, %d]", ErrInvalidConfig, n, MaxContentsLen)
		}
	}
	for _, m := range cfg.Messages {
		if err := checkCommand(m.Cmd); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		if len(m.Payload)+typeLen(m.Cmd) > MaxContentsLen {
			return nil, fmt.Errorf("%w: %s message of %d bytes", ErrInvalidConfig, m.Cmd, len(m.Payload))
		}
	}
	c := &Conn{r: r, w: w, role: role, maxDecoys: cfg.maxDecoys(), otherMagics: cfg.OtherMagics}
	err := c.handshake(&cfg)
	clear(c.secret[:])
	c.otherMagics, c.otherTerms = nil, nil
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Conn) handshake(cfg *Config) error {
	garbageLen, err := cfg.garbageLen()
	if err != nil {
		return err
	}
	if c.role == Responder {
		if err := c.detectV1(cfg.Magic); err != nil {
			return err
		}
	}

	// Our first flight: key + garbage, and for a responder also the
	// terminator, decoys and version packet. Size it once.
	flight := keyLen + garbageLen
	if c.role == Responder {
		flight += secondFlightLen(cfg.Decoys)
	}
	out := make([]byte, keyLen+garbageLen, flight)
	priv, ours, err := cfg.newKey()
	if err != nil {
		return fmt.Errorf("bip324: generating key: %w", err)
	}
	copy(out, ours[:])
	garbage := out[keyLen:]
	if _, err := io.ReadFull(cfg.rand(), garbage); err != nil {
		return fmt.Errorf("bip324: generating garbage: %w", err)
	}

	var theirs [keyLen]byte
	if c.role == Initiator {
		if err := c.write(out); err != nil {
			return keyExchangeErr("sending our key", err)
		}
		if err := c.readInitiatorKey(&theirs, cfg.Magic); err != nil {
			return err
		}
	} else {
		if err := c.readResponderKey(&theirs); err != nil {
			return err
		}
	}

	secret, err := ellswift.V2Ecdh(priv, theirs, ours, c.role == Initiator)
	if err != nil {
		return fmt.Errorf("bip324: ECDH: %w", err)
	}
	keys, err := deriveKeys(secret[:], cfg.Magic)
	if len(c.otherMagics) > 0 {
		c.secret = *secret // until the garbage is found (otherNetwork)
	}
	clear(secret[:])
	if err != nil {
		return err
	}
	if err := c.initCiphers(&keys); err != nil {
		return err
	}

	// Second flight: terminator + decoys + version packet.
	if c.role == Initiator {
		out = make([]byte, 0, secondFlightLen(cfg.Decoys))
	}
	if out, err = c.appendSecondFlight(out, garbage, cfg.Decoys); err != nil {
		return err
	}
	var typ [1 + commandSize]byte
	for _, m := range cfg.Messages {
		if out, err = c.appendPacket(out, nil, false, appendType(typ[:0], m.Cmd), m.Payload, 0); err != nil {
			return err
		}
	}
	if err := c.write(out); err != nil {
		return fmt.Errorf("bip324: sending our version packet: %w", err)
	}

	theirGarbage, err := c.skipGarbage()
	if err != nil {
		return err
	}
	return c.readVersionPacket(theirGarbage, cfg.maxDecoyBytes())
}

func secondFlightLen(decoys []int) int {
	n := termLen + packetExtra
	for _, d := range decoys {
		n += d + packetExtra
	}
	return n
}

func (c *Conn) appendSecondFlight(out, garbage []byte, decoys []int) ([]byte, error) {
	out = append(out, c.sendTerm[:]...)
	aad := garbage
	var err error
	for _, n := range decoys {
		if out, err = c.appendPacket(out, aad, true, nil, nil, n); err != nil {
			return nil, err
		}
		aad = nil
	}
	// The version packet: empty contents (TRANSPORT_VERSION = b'').
	return c.appendPacket(out, aad, false, nil, nil, 0)
}

// detectV1 (responder) compares the initiator's first 16 bytes with the v1
// prefix, peeking only: on ErrV1Peer nothing has been consumed. A v2
// initiator sends at least 64 bytes before it waits, so waiting for 16 costs
// nothing (we answer only once we have its whole key anyway).
func (c *Conn) detectV1(magic uint32) error {
	prefix := v1Prefix(magic)
	p, err := c.r.Peek(len(prefix))
	if err != nil {
		return keyExchangeErr("reading the initiator's key", err)
	}
	switch {
	case bytes.Equal(p, prefix[:]):
		return fmt.Errorf("%w: initiator sent a v1 version message", ErrV1Peer)
	case bytes.Equal(p[4:], prefix[4:]):
		// BIP324 only compares with our network's prefix; this one
		// would otherwise fail much later, at the terminator search.
		return fmt.Errorf("%w: initiator sent a v1 version message for network magic %08x, want %08x",
			ErrV1Peer, binary.LittleEndian.Uint32(p[:4]), magic)
	}
	return nil
}

// readResponderKey (responder) reads the initiator's 64-byte key.
func (c *Conn) readResponderKey(theirs *[keyLen]byte) error {
	n, err := io.ReadFull(c.r, theirs[:])
	c.addRead(n)
	if err != nil {
		return keyExchangeErr("reading the initiator's key", err)
	}
	return nil
}

// readInitiatorKey (initiator) reads the responder's 64-byte key, detecting a
// v1 answer.
func (c *Conn) readInitiatorKey(theirs *[keyLen]byte, magic uint32) error {
	n, err := io.ReadFull(c.r, theirs[:])
	c.addRead(n)
	var m [4]byte
	binary.LittleEndian.PutUint32(m[:], magic)
	startsWithMagic := n >= 4 && bytes.Equal(theirs[:4], m[:])
	if err != nil {
		if startsWithMagic {
			return fmt.Errorf("%w: responder answered with v1 bytes and closed (%v)", ErrV1Peer, err)
		}
		return keyExchangeErr("reading the responder's key", err)
	}
	// A v1 node of another network that answers at all answers with its
	// version; Bitcoin Core's responder applies the same test to an
	// initiator (ProcessReceivedKeyBytes).
	if !startsWithMagic && string(theirs[4:16]) == "version\x00\x00\x00\x00\x00" {
		return &WrongNetworkError{Magic: binary.LittleEndian.Uint32(theirs[:4]), How: "v1 version message"}
	}
	// A v2 key starts with the magic once in 2^32 handshakes; require a
	// well-formed v1 command field too before calling it v1.
	if startsWithMagic && isV1Command(theirs[4:16]) {
		return fmt.Errorf("%w: responder answered with a v1 %q message", ErrV1Peer,
			string(bytes.TrimRight(theirs[4:16], "\x00")))
	}
	return nil
}

// isV1Command reports whether b is a v1 header command field: 1 to 12
// printable ASCII bytes, zero-padded.
func isV1Command(b []byte) bool {
	n := bytes.IndexByte(b, 0)
	if n < 0 {
		n = len(b)
	}
	if n == 0 {
		return false
	}
	for _, ch := range b[:n] {
		if ch < 0x20 || ch > 0x7e {
			return false
		}
	}
	for _, ch := range b[n:] {
		if ch != 0 {
			return false
		}
	}
	return true
}

// skipGarbage finds the peer's garbage terminator among the first
// MaxGarbageLen+16 bytes, consuming exactly the garbage and the terminator,
// and returns a copy of the garbage (the AAD of the peer's first packet).
//
// It gives up with ErrGarbageTooLong as soon as the terminator can no longer
// start within the first MaxGarbageLen bytes: at the latest after 4,111
// bytes, and right after 4,096 bytes unless they end with the first bytes of
// the terminator, so a peer that sends too much garbage and then waits is
// not waited for.
func (c *Conn) skipGarbage() ([]byte, error) {
	got := make([]byte, 0, maxGarbageSearch)
	for {
		if c.r.Buffered() == 0 {
			if _, err := c.r.Peek(1); err != nil {
				return nil, fmt.Errorf("bip324: reading the peer's garbage (%d bytes so far): %w",
					len(got), eofUnexpected(err))
			}
		}
		chunk, _ := c.r.Peek(min(c.r.Buffered(), cap(got)-len(got)))
		// The terminator may straddle the previous chunk.
		from := max(0, len(got)-(termLen-1))
		got = append(got, chunk...)
		if i := bytes.Index(got[from:], c.recvTerm[:]); i >= 0 {
			end := from + i + termLen
			used := end - (len(got) - len(chunk))
			c.discard(used)
			return got[:end-termLen], nil
		}
		c.discard(len(chunk))
		if magic, ok, err := c.otherNetwork(got); err != nil || ok {
			if err == nil {
				err = &WrongNetworkError{Magic: magic, How: "garbage terminator"}
			}
			return nil, err
		}
		if len(got) > MaxGarbageLen && !c.terminatorCanFit(got) {
			return nil, fmt.Errorf("%w (%d bytes received)", ErrGarbageTooLong, len(got))
		}
	}
}

// terminatorCanFit reports whether the terminator, not found in got, can
// still start at an offset <= MaxGarbageLen: only if got ends with its first
// k bytes for some k >= len(got)-MaxGarbageLen.
func (c *Conn) terminatorCanFit(got []byte) bool {
	for k := max(1, len(got)-MaxGarbageLen); k < termLen; k++ {
		if bytes.HasSuffix(got, c.recvTerm[:k]) {
			return true
		}
	}
	return false
}

// readVersionPacket reads the peer's first packets: decoys, then the version
// packet, whose contents are ignored (reserved for future extensions). The
// first packet, decoy or not, is authenticated with the garbage as AAD.
func (c *Conn) readVersionPacket(garbage []byte, budget int) error {
	aad := garbage
	for decoys := 0; ; decoys++ {
		contents, ignore, err := c.readPacket(aad, budget)
		if err != nil {
			return fmt.Errorf("bip324: reading the peer's version packet: %w", eofUnexpected(err))
		}
		aad = nil
		budget -= len(contents)
		if !ignore {
			return nil
		}
		if decoys >= c.maxDecoys {
			return fmt.Errorf("%w: more than %d before the version packet", ErrTooManyDecoys, c.maxDecoys)
		}
	}
}

// keyExchangeErr classifies an I/O error before the peer's key arrived.
func keyExchangeErr(what string, err error) error {
	if isClosed(err) {
		return fmt.Errorf("%w: %s: %w", ErrPeerClosed, what, err)
	}
	return fmt.Errorf("bip324: %s: %w", what, err)
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED)
}

// eofUnexpected turns io.EOF in the middle of the handshake or a packet into
// io.ErrUnexpectedEOF.
func eofUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
