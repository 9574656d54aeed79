package bip324

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/bitcoin-handshake/handshake/internal/p2p"
	"github.com/btcsuite/btcd/btcec/v2/ellswift"
)

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
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return start(&Conn{r: r, w: w, role: role}, cfg)
}

// Initiate runs Handshake as the initiator over r and w, reading the
// responder's 64-byte key straight from r and only then making the
// buffered reader, of bufSize bytes, that the rest of the handshake and
// the Conn read through (Conn.Reader): an initiator waiting for its peer
// holds no read buffer. r must not return more than it is asked for, as a
// net.Conn does not.
func Initiate(r io.Reader, w io.Writer, bufSize int, cfg Config) (*Conn, error) {
	if r == nil || w == nil {
		return nil, fmt.Errorf("%w: nil reader or writer", ErrInvalidConfig)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return start(&Conn{src: r, bufSize: bufSize, w: w, role: Initiator}, cfg)
}

// start runs the handshake on a new Conn, which it returns on success.
func start(c *Conn, cfg Config) (*Conn, error) {
	c.maxDecoys, c.otherMagics = cfg.maxDecoys(), cfg.OtherMagics
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
	// terminator, decoys and version packet. One buffer holds both
	// flights and the messages after them, the first flight kept intact
	// while the second is written: its garbage is the AAD of our first
	// packet.
	flight := keyLen + garbageLen + secondFlightLen(cfg.Decoys)
	for _, m := range cfg.Messages {
		flight += typeLen(m.Cmd) + len(m.Payload) + packetExtra
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

	theirs := &c.scratch.key
	if c.role == Initiator {
		if err := c.write(out); err != nil {
			return keyExchangeErr("sending our key", err)
		}
		if err := c.readInitiatorKey(theirs, cfg.Magic); err != nil {
			return err
		}
	} else {
		if err := c.readResponderKey(theirs); err != nil {
			return err
		}
	}

	secret, err := ellswift.V2Ecdh(priv, *theirs, ours, c.role == Initiator)
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
		out = out[len(out):]
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
	if cap(out) <= p2p.RetainLimit {
		c.wbuf = out[:0] // for WriteMessages
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
	var n int
	var err error
	if c.r == nil {
		// Initiate: the key straight from the connection, then the
		// reader for the rest.
		n, err = io.ReadFull(c.src, theirs[:])
		c.br = *bufio.NewReaderSize(c.src, c.bufSize)
		c.r = &c.br
	} else {
		n, err = io.ReadFull(c.r, theirs[:])
	}
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
		// Another network's terminator is looked for only when ours is
		// not among the bytes that have arrived and more must be read,
		// which may block: a peer whose first flight arrives whole (in a
		// buffer that holds it) and is on our network never pays for it.
		if magic, ok := c.otherNetwork(got); ok {
			return nil, &WrongNetworkError{Magic: magic, How: "garbage terminator"}
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

// isClosed reports a connection that ended: the peer hung up, or, on a
// connection shared with a caller, it was closed under us.
func isClosed(err error) bool {
	return p2p.HungUp(err) || errors.Is(err, net.ErrClosed)
}

// eofUnexpected turns io.EOF in the middle of the handshake or a packet into
// io.ErrUnexpectedEOF.
func eofUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
