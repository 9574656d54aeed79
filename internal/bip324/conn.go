package bip324

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"sync/atomic"

	"github.com/bitcoin-handshake/handshake/internal/p2p"
)

// Conn is an established v2 connection. It encrypts and decrypts application
// messages; it does not own the underlying connection (closing and deadlines
// stay with the caller).
//
// One goroutine may read (ReadMessage) while another writes (WriteMessage,
// WriteMessages); BytesRead, BytesWritten and SessionID may be called from
// any goroutine. Concurrent reads, or concurrent writes, are not allowed.
//
// After a read error other than ErrMalformed or a too-large payload, or after
// any write error, the stream is out of sync: every later call in that
// direction returns the same error.
type Conn struct {
	r    *bufio.Reader
	w    io.Writer
	role Role

	// Initiate's: the connection, read directly until the peer's key has
	// arrived, and then through br, of bufSize bytes.
	src     io.Reader
	bufSize int
	br      bufio.Reader

	sessionID          [32]byte
	sendTerm, recvTerm [termLen]byte
	sendL, recvL       fsChaCha20
	sendP, recvP       fsAEAD
	maxDecoys          int

	// During the handshake only: to recognise a peer of another network
	// by its garbage terminator (Config.OtherMagics).
	secret      [32]byte
	otherMagics []uint32
	otherTerms  [][termLen]byte
	derived     bool // whether otherTerms had to be derived

	nRead, nWritten atomic.Int64

	// What io.ReadFull reads into, here rather than on the stack, where
	// a reader behind an interface would make it an allocation per call.
	scratch struct {
		key    [keyLen]byte    // the peer's key
		length [lengthLen]byte // a packet's length field
	}

	// Read side.
	rbuf []byte // ciphertext of packets larger than the bufio buffer
	dbuf []byte // plaintext of the packet last read
	rerr error

	// Write side.
	wbuf []byte // packets being written
	werr error
}

// Message is one application message for WriteMessages.
type Message struct {
	Cmd     string
	Payload []byte
}

// Reader returns the buffered reader the Conn reads through: Handshake's
// or the one Initiate made.
func (c *Conn) Reader() *bufio.Reader { return c.r }

// SessionID returns the BIP324 session ID, identical on both ends.
func (c *Conn) SessionID() [32]byte { return c.sessionID }

// Role returns the side of the connection we are.
func (c *Conn) Role() Role { return c.role }

// BytesRead returns the raw bytes consumed from the connection so far,
// including the key exchange.
func (c *Conn) BytesRead() int64 { return c.nRead.Load() }

// BytesWritten returns the raw bytes written to the connection so far,
// including the key exchange.
func (c *Conn) BytesWritten() int64 { return c.nWritten.Load() }

func (c *Conn) addRead(n int) { c.nRead.Add(int64(n)) }

func (c *Conn) discard(n int) {
	d, _ := c.r.Discard(n) // n is always buffered
	c.addRead(d)
}

func (c *Conn) write(b []byte) error {
	n, err := c.w.Write(b)
	c.nWritten.Add(int64(n))
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	return err
}

// growStep is how far ahead of the bytes that arrived a packet buffer may
// first grow.
const growStep = 4 << 10

// readGrowing appends n bytes from c.r to buf and returns it. The buffer
// grows as bytes arrive, by the larger of growStep and what it holds
// (Bitcoin Core reserves up to 256 KiB ahead), never to the length the
// peer's packet claims: a peer that announces 4 MB and trickles costs what it
// actually sent.
func (c *Conn) readGrowing(buf []byte, n int) ([]byte, error) {
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), max(len(buf), growStep)))
		}
		got, err := c.r.Read(buf[len(buf):min(n, cap(buf))])
		c.addRead(got)
		buf = buf[:len(buf)+got]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// appendPacket encrypts one packet whose contents are typ + payload + zeros
// zero bytes and appends it (length field + AEAD ciphertext) to dst. The
// contents are written where their ciphertext goes and encrypted in place.
func (c *Conn) appendPacket(dst, aad []byte, ignore bool, typ, payload []byte, zeros int) ([]byte, error) {
	n := len(typ) + len(payload) + zeros
	if n > MaxContentsLen {
		return dst, fmt.Errorf("%w: %d bytes of contents, the most a packet holds is %d",
			ErrPacketTooLarge, n, MaxContentsLen)
	}
	hdr := byte(0)
	if ignore {
		hdr = ignoreBit
	}
	at := len(dst)
	dst = slices.Grow(dst, lengthLen+headerLen+n+tagLen)
	dst = append(dst, byte(n), byte(n>>8), byte(n>>16))
	if err := c.sendL.crypt(dst[at:]); err != nil {
		return dst[:at], err
	}
	pt := len(dst)
	dst = append(dst, hdr)
	dst = append(dst, typ...)
	dst = append(dst, payload...)
	dst = append(dst, make([]byte, zeros)...)
	// The room for the tag was grown above, so Seal works in place.
	ct, err := c.sendP.seal(dst[pt:pt], aad, dst[pt:])
	if err != nil {
		return dst[:at], err
	}
	return dst[:pt+len(ct)], nil
}

// readPacket reads and decrypts one packet whose contents may be at most
// maxLen bytes, returning its contents and ignore bit. The length is checked
// before the body is read or any buffer for it is allocated.
func (c *Conn) readPacket(aad []byte, maxLen int) (contents []byte, ignore bool, err error) {
	l := &c.scratch.length
	n, err := io.ReadFull(c.r, l[:])
	c.addRead(n)
	if err != nil {
		if n > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, false, err
	}
	if err := c.recvL.crypt(l[:]); err != nil {
		return nil, false, err
	}
	size := int(l[0]) | int(l[1])<<8 | int(l[2])<<16
	if size > maxLen {
		return nil, false, fmt.Errorf("%w: length field says %d bytes, limit %d", ErrPacketTooLarge, size, maxLen)
	}
	total := headerLen + size + tagLen
	var ct []byte
	if total <= c.r.Size() {
		// Decrypt straight out of the bufio buffer.
		if ct, err = c.r.Peek(total); err != nil {
			c.discard(len(ct))
			return nil, false, eofUnexpected(err)
		}
		defer c.discard(total)
	} else {
		ct, err = c.readGrowing(c.rbuf[:0], total)
		c.rbuf = ct[:0]
		if cap(c.rbuf) > p2p.RetainLimit {
			c.rbuf = nil
		}
		if err != nil {
			return nil, false, eofUnexpected(err)
		}
	}
	pt, err := c.recvP.open(c.dbuf[:0], aad, ct)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %d-byte packet: %v", ErrBadTag, size, err)
	}
	if cap(pt) <= p2p.RetainLimit {
		c.dbuf = pt[:0]
	}
	return pt[headerLen:], pt[0]&ignoreBit != 0, nil
}

// WriteContents encrypts one packet whose contents are given whole,
// message type encoding included, and writes it: for test peers that send
// contents WriteMessage refuses, such as an undecodable message type.
func (c *Conn) WriteContents(contents []byte) error {
	if c.werr != nil {
		return c.werr
	}
	out, err := c.appendPacket(c.wbuf[:0], nil, false, nil, contents, 0)
	if err != nil {
		return err
	}
	if err := c.write(out); err != nil {
		c.werr = fmt.Errorf("bip324: writing: %w", err)
		return c.werr
	}
	return nil
}

// WriteLengthField writes the encrypted length field of a packet of n
// contents bytes, and nothing else: for test peers that claim a length and
// then send bytes of their choosing, which cannot authenticate. Every later
// write fails.
func (c *Conn) WriteLengthField(n int) error {
	if c.werr != nil {
		return c.werr
	}
	if n < 0 || n > MaxContentsLen {
		return fmt.Errorf("%w: length %d", ErrPacketTooLarge, n)
	}
	l := []byte{byte(n), byte(n >> 8), byte(n >> 16)}
	err := c.sendL.crypt(l)
	if err == nil {
		err = c.write(l)
	}
	c.werr = fmt.Errorf("bip324: a claimed packet was written: %w", io.ErrClosedPipe)
	if err != nil {
		c.werr = err
	}
	return err
}

// WriteMessage encrypts one application message and writes it in one Write
// call. cmd is sent as its one-byte BIP324 message type ID when it has one
// (ShortID), otherwise as 0x00 + the command zero-padded to 12 bytes; cmd
// must then be 1 to 12 printable ASCII characters.
func (c *Conn) WriteMessage(cmd string, payload []byte) error {
	return c.WriteMessages(Message{Cmd: cmd, Payload: payload})
}

// WriteMessages encrypts several messages and writes them with a single Write
// call (e.g. wtxidrelay, sendaddrv2 and verack together). All commands and
// sizes are checked before anything is encrypted, so an invalid message
// fails the call without touching the stream.
func (c *Conn) WriteMessages(msgs ...Message) error {
	if c.werr != nil {
		return c.werr
	}
	if len(msgs) == 0 {
		return nil
	}
	size := 0
	for _, m := range msgs {
		if err := checkCommand(m.Cmd); err != nil {
			return err
		}
		typeLen := typeLen(m.Cmd)
		if n := typeLen + len(m.Payload); n > MaxContentsLen {
			return fmt.Errorf("%w: %s message of %d bytes, the most a packet holds is %d",
				ErrPacketTooLarge, m.Cmd, n, MaxContentsLen)
		}
		size += typeLen + len(m.Payload) + packetExtra
	}
	out := c.wbuf[:0]
	if cap(out) < size {
		out = make([]byte, 0, size)
	}
	var typ [1 + commandSize]byte
	for _, m := range msgs {
		var err error
		if out, err = c.appendPacket(out, nil, false, appendType(typ[:0], m.Cmd), m.Payload, 0); err != nil {
			c.werr = err
			return err
		}
	}
	if cap(out) <= p2p.RetainLimit {
		c.wbuf = out
	}
	if err := c.write(out); err != nil {
		c.werr = fmt.Errorf("bip324: writing: %w", err)
		return c.werr
	}
	return nil
}

// ReadMessage reads packets until one that is not a decoy arrives and returns
// its command and payload. Short message type IDs are mapped back to command
// names (ShortID's table); IDs BIP324 does not assign come back as
// "shortid-N" (N in decimal) with a nil error, so that callers can ignore
// them as Bitcoin Core does. The payload aliases a buffer the next call may
// reuse.
//
// maxPayload bounds the payload (maxPayload <= 0 means DefaultMaxPayload): a
// packet whose length field claims more than maxPayload plus the 13 bytes of
// a long message type fails with ErrPacketTooLarge before its body is read or
// any buffer of that size allocated; a payload that turns out longer than
// maxPayload after decryption fails with ErrPacketTooLarge too. At most
// Config.MaxDecoys decoy packets are skipped per call (ErrTooManyDecoys).
//
// A clean close between packets returns io.EOF; in the middle of a packet,
// io.ErrUnexpectedEOF.
func (c *Conn) ReadMessage(maxPayload int) (cmd string, payload []byte, err error) {
	if c.rerr != nil {
		return "", nil, c.rerr
	}
	if maxPayload <= 0 {
		maxPayload = DefaultMaxPayload
	}
	limit := min(maxPayload, MaxContentsLen-1-commandSize) + 1 + commandSize
	for decoys := 0; ; decoys++ {
		contents, ignore, err := c.readPacket(nil, limit)
		if err != nil {
			c.rerr = err
			return "", nil, err
		}
		if ignore {
			if decoys >= c.maxDecoys {
				c.rerr = fmt.Errorf("%w: more than %d in a row", ErrTooManyDecoys, c.maxDecoys)
				return "", nil, c.rerr
			}
			continue
		}
		cmd, payload, err := decodeContents(contents)
		if err != nil {
			return "", nil, err
		}
		if len(payload) > maxPayload {
			return "", nil, fmt.Errorf("%w: %s payload of %d bytes, limit %d",
				ErrPacketTooLarge, cmd, len(payload), maxPayload)
		}
		return cmd, payload, nil
	}
}
