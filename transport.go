package handshake

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake/internal/bip324"
)

// transport frames the messages of one connection: v1Transport in the clear,
// v2Transport encrypted (BIP324).
type transport interface {
	// readMessage reads one message of at most limit bytes on the wire
	// into m. Its payload, kept for version and feature messages only, is
	// valid until the next call.
	readMessage(limit int, m *message) error
	// queue and queueVersion add a message to the next write and return
	// its size on the wire.
	queue(cmd string, payload []byte) int
	queueVersion(v *wire.MsgVersion) int
	// write sends what is queued in one Write call.
	write() (int, error)

	// After the handshake, for a Conn:
	// wait returns once the peer has sent a byte, consuming none.
	wait() error
	// readPayload reads a message of any command with its payload,
	// valid until the next call, failing with ErrMessageTooLarge past
	// maxPayload(cmd).
	readPayload(maxPayload func(cmd string) int) (cmd string, payload []byte, err error)
}

// maxGarbage bounds the garbage we send after our key.
const maxGarbage = 255

// v2BufferSize holds a responder's whole first flight: its key, 4,095
// bytes of garbage, the terminator and a version packet.
const v2BufferSize = 8192

// v2SocketBufferSize holds the 4,111 bytes after a responder's key that
// may hold its garbage and terminator (the key is read before the buffer is
// made), and the packets that usually follow.
const v2SocketBufferSize = 4608

// It must hold the whole garbage search (4,095 + 16), or other networks'
// terminators are derived for a flight that arrived whole: this fails to
// compile if it does not.
const _ = uint(v2SocketBufferSize - (4095 + 16))

// v2Overhead is what a packet adds to its contents (length, header, tag)
// plus the long form of a message type, the most a command may take.
const v2Overhead = 3 + 1 + 16 + 13

// v2Transport carries messages over an established BIP324 session.
type v2Transport struct {
	c      *bip324.Conn
	br     *bufio.Reader // under c, for wait
	msgs   []bip324.Message
	vbuf   [160]byte                // backs our version payload
	msga   [4]bip324.Message        // backs msgs: a verack flight fits
	others [len(knownMagics)]uint32 // backs Config.OtherMagics
}

// keyExchange runs the BIP324 handshake as the initiator and makes the
// session's transport a v2 one. A peer that hangs up before sending any byte
// or answers in v1 speaks only v1 (ErrV1Only), as Bitcoin Core judges it.
func (s *session) keyExchange(version *wire.MsgVersion) error {
	// On v2 the byte counts are the raw socket's, key exchange included,
	// which the bip324 package cannot report when it fails.
	s.rawCount = true
	s.cr = countingReader{r: s.conn, n: &s.res.BytesReceived}
	s.cw = countingWriter{w: s.conn, n: &s.res.BytesSent}
	t := &s.v2
	payload := appendVersion(t.vbuf[:0], version)
	cfg := bip324.Config{
		Magic: uint32(s.o.ChainParams.Net),
		// Random, as BIP324 intends, but short: the garbage we send
		// was a sixth of a handshake's CPU at Bitcoin Core's 0-4,095.
		GarbageLen: garbageLen(),
		// Our version message rides in the write that completes the
		// key exchange.
		Messages: append(t.msga[:0], bip324.Message{Cmd: wire.CmdVersion, Payload: payload}),
		// A peer of another network is recognised by its garbage
		// terminator, where v1 would have shown its magic.
		OtherMagics: otherMagics(t.others[:0], s.o.ChainParams.Net),
	}
	var c *bip324.Conn
	var err error
	if _, ok := s.conn.(*net.TCPConn); ok {
		// A socket buffers in the kernel: the read buffer is made once
		// the peer's key has arrived, so that a handshake waiting for
		// its peer holds none, and it holds the whole search for the
		// garbage terminator, so that a flight that arrived whole is
		// read in one call and searched at once, and other networks'
		// terminators are derived only when the peer's is not there
		// and more must be read.
		c, err = bip324.Initiate(&s.cr, &s.cw, v2SocketBufferSize, cfg)
	} else {
		// Over a synchronous connection such as net.Pipe the buffer
		// must hold a responder's whole first flight (key, up to 4,095
		// bytes of garbage, terminator, version packet) from the
		// start, or its write never completes before we write again.
		s.br = *bufio.NewReaderSize(&s.cr, v2BufferSize)
		c, err = bip324.Handshake(&s.br, &s.cw, bip324.Initiator, cfg)
	}
	if err != nil {
		if we := wrongNetwork(err); we != nil {
			return fmt.Errorf("%w: got %s (by its %s), want %s", ErrWrongNetwork,
				netName(wire.BitcoinNet(we.Magic)), we.How, netName(s.o.ChainParams.Net))
		}
		switch {
		case errors.Is(err, bip324.ErrV1Peer),
			errors.Is(err, bip324.ErrPeerClosed) && s.res.BytesReceived == 0:
			return fmt.Errorf("%w: %w", ErrV1Only, err)
		}
		return v2Error(err)
	}
	t.br = c.Reader()
	id := c.SessionID()
	var h [2 * len(id)]byte
	hex.Encode(h[:], id[:])
	s.res.SessionID = string(h[:])
	t.c = c
	t.msgs = t.msga[:0]
	s.t = t
	s.log("sent", wire.CmdVersion, v2Overhead+len(payload))
	return nil
}

func (t *v2Transport) readMessage(limit int, m *message) error {
	*m = message{}
	room := limit - v2Overhead
	if room < 0 {
		return fmt.Errorf("%w: no room for another message", ErrLimitExceeded)
	}
	before := t.c.BytesRead()
	cmd, payload, err := t.c.ReadMessage(max(1, min(room, wire.MaxProtocolMessageLength)))
	m.n = int(t.c.BytesRead() - before)
	switch {
	case errors.Is(err, bip324.ErrMalformed):
		// Bitcoin Core's V2Transport drops a packet whose message type
		// it cannot decode and keeps the connection.
		m.drop = "undecodable message type"
		return nil
	case err != nil:
		return v2Error(err)
	case strings.HasPrefix(cmd, "shortid-"):
		m.cmd, m.drop = cmd, "unknown message type ID"
		return nil
	}
	m.cmd, m.size = cmd, len(payload)
	if keepPayload(cmd) > 0 {
		m.payload = payload[:min(len(payload), keepPayload(cmd))]
	}
	return nil
}

func (t *v2Transport) wait() error {
	_, err := t.br.Peek(1)
	return err
}

func (t *v2Transport) readPayload(maxPayload func(cmd string) int) (string, []byte, error) {
	// The command is inside the encrypted packet, so the packet is
	// bounded by the largest any command may have, and the command's own
	// bound is checked once it is decrypted.
	cmd, payload, err := t.c.ReadMessage(wire.MaxProtocolMessageLength)
	// Bitcoin Core's V2Transport drops a packet whose message type it
	// cannot decode, or whose one-byte ID it does not know, and reads on.
	for errors.Is(err, bip324.ErrMalformed) || err == nil && strings.HasPrefix(cmd, "shortid-") {
		cmd, payload, err = t.c.ReadMessage(wire.MaxProtocolMessageLength)
	}
	switch {
	case errors.Is(err, bip324.ErrPacketTooLarge):
		return "", nil, fmt.Errorf("%w: %w", ErrMessageTooLarge, err)
	case err != nil:
		return "", nil, v2Error(err)
	case len(payload) > maxPayload(cmd):
		return cmd, nil, fmt.Errorf("%w: %s of %d bytes, the maximum is %d", ErrMessageTooLarge, cmd, len(payload), maxPayload(cmd))
	}
	return cmd, payload, nil
}

func (t *v2Transport) queue(cmd string, payload []byte) int {
	t.msgs = append(t.msgs, bip324.Message{Cmd: cmd, Payload: payload})
	return v2Overhead + len(payload)
}

func (t *v2Transport) queueVersion(v *wire.MsgVersion) int {
	return t.queue(wire.CmdVersion, appendVersion(t.vbuf[:0], v))
}

func (t *v2Transport) write() (int, error) {
	before := t.c.BytesWritten()
	err := t.c.WriteMessages(t.msgs...)
	t.msgs = t.msgs[:0]
	return int(t.c.BytesWritten() - before), err
}

// wrongNetwork returns the *bip324.WrongNetworkError in err's chain, or
// nil. A function of its own, so that the variable errors.As needs is an
// allocation of failed handshakes only.
func wrongNetwork(err error) *bip324.WrongNetworkError {
	var we *bip324.WrongNetworkError
	if errors.As(err, &we) {
		return we
	}
	return nil
}

// v2Error files a BIP324 failure under the package's error classes, keeping
// the detail.
func v2Error(err error) error {
	switch {
	case errors.Is(err, bip324.ErrBadTag), errors.Is(err, bip324.ErrMalformed):
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	case errors.Is(err, bip324.ErrGarbageTooLong):
		return fmt.Errorf("%w: %w", ErrProtocolViolation, err)
	case errors.Is(err, bip324.ErrPacketTooLarge), errors.Is(err, bip324.ErrTooManyDecoys):
		return fmt.Errorf("%w: %w", ErrLimitExceeded, err)
	}
	return err
}

// knownMagics are the networks netName knows.
var knownMagics = [...]wire.BitcoinNet{wire.MainNet, wire.TestNet3, wire.TestNet4, wire.SigNet, wire.TestNet, wire.SimNet}

// otherMagics appends the known networks' magics other than ours to others.
func otherMagics(others []uint32, ours wire.BitcoinNet) []uint32 {
	for _, m := range knownMagics {
		if m != ours {
			others = append(others, uint32(m))
		}
	}
	return others
}

// countingReader and countingWriter count a connection's raw bytes.
type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n *int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}

type countingWriter struct {
	w interface{ Write([]byte) (int, error) }
	n *int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	*c.n += int64(n)
	return n, err
}

// garbageLen is the garbage our v2 first flight carries: random, as BIP324
// intends, but at most maxGarbage bytes.
func garbageLen() int {
	if n := rand.IntN(maxGarbage + 1); n > 0 {
		return n
	}
	return bip324.NoGarbage // 0 would ask bip324 for up to 4,095
}
