package handshake

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/bitcoin-handshake/handshake/internal/p2p"
	"github.com/btcsuite/btcd/wire/v2"
)

// Conn is a connection kept open after a completed handshake, for a program
// that goes on talking to the peer: asking for addresses (GetAddrs),
// pinging, reading what the peer sends. It works the same over the v1 and
// v2 transports.
//
// One goroutine may call ReadMessage while another calls WriteMessage;
// Close may be called from any goroutine and unblocks both. Writes are
// synchronous: over a connection without a buffer, such as net.Pipe, a
// pong blocks until the peer reads.
type Conn struct {
	s      *session // the handshake's session: its transport and buffered reader
	addr   string
	pver   uint32
	noPong bool

	rmu  sync.Mutex // one reader at a time
	rerr error      // a read that left the stream out of sync

	wmu  sync.Mutex // one writer at a time, the pong of a read included
	werr error      // a failed write: the stream may hold half a message
	wbuf bytes.Buffer

	closeOnce sync.Once
	closeErr  error
}

// DialConn connects to addr and performs the handshake like Dial, but keeps
// the connection open: the returned Conn carries on where the handshake
// ended, bytes the peer sent after its verack included, and the caller must
// Close it. The Result is Dial's: on failure it holds what the handshake
// learned, the Conn is nil, the error an *Error, and the connection closed.
// The Conn does not keep the Result: keep it alongside if needed.
//
// For a Conn over a connection made another way (a proxy, a pipe in
// tests), give Options.Dialer a Dialer that makes it, as SOCKS5 does.
func DialConn(ctx context.Context, addr string, opts Options) (*Conn, Result, error) {
	s, res, err := dial(ctx, addr, &opts)
	if err != nil {
		return nil, *res, err
	}
	return newConn(s), *res, nil
}

func newConn(s *session) *Conn {
	// Each call sets its own deadlines from its context from now on.
	s.conn.SetDeadline(time.Time{})
	return &Conn{s: s, addr: s.addr, pver: s.res.NegotiatedVersion, noPong: s.o.NoPong}
}

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.s.conn.LocalAddr() }

// RemoteAddr returns the peer's network address (a proxy's, through one).
func (c *Conn) RemoteAddr() net.Addr { return c.s.conn.RemoteAddr() }

// ProtocolVersion returns the negotiated protocol version, at which
// messages are encoded and decoded.
func (c *Conn) ProtocolVersion() uint32 { return c.pver }

// Close closes the connection, unblocking any ReadMessage or WriteMessage
// in progress. Later calls return the first call's result.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.s.conn.Close() })
	return c.closeErr
}

// ReadMessage reads the next message from the peer. Commands wire/v2 has a
// type for come back as that type (*wire.MsgPing, *wire.MsgAddrV2,
// *wire.MsgInv, ...), others as *UnknownMessage; neither is an error.
// Messages Bitcoin Core's transports drop are skipped as Core skips them: a
// bad checksum or an invalid command on v1, an undecodable message type or
// an unknown one-byte ID on v2. Each
// payload is bounded by its type's MaxPayloadLength and by
// wire.MaxProtocolMessageLength (Bitcoin Core's limit), checked before a
// buffer of that size is made. A ping is answered with a pong before it is
// returned, unless Options.NoPong was set.
//
// ctx bounds the call: its deadline becomes the read's, and cancelling it
// unblocks the read. A call that times out before any byte of a message
// arrived leaves the Conn usable; after any other error, further reads
// return the same error. Errors are *Error with Step StepRead (StepWrite
// when answering a ping failed).
func (c *Conn) ReadMessage(ctx context.Context) (wire.Message, error) {
	cmd, payload, err := c.next(ctx)
	if err != nil {
		return nil, err
	}
	msg, err := decodeMessage(cmd, payload, c.pver)
	if err != nil {
		return nil, &Error{Addr: c.addr, Step: StepRead, Err: err}
	}
	return msg, nil
}

// next reads one message's command and payload, answering pings. The
// payload is valid until the next call.
func (c *Conn) next(ctx context.Context) (string, []byte, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.rerr != nil {
		return "", nil, c.rerr
	}
	stop := watch(ctx, c.s.conn.SetReadDeadline)
	defer stop()
	if err := c.s.t.wait(); err != nil {
		// Nothing of a message was consumed: a timeout here is not
		// sticky, so a caller may poll with short contexts.
		return "", nil, &Error{Addr: c.addr, Step: StepRead, Err: classify(ctx, ctx, err)}
	}
	cmd, payload, err := c.s.t.readPayload(c.maxPayload)
	if err != nil {
		c.rerr = &Error{Addr: c.addr, Step: StepRead, Err: classify(ctx, ctx, err)}
		return "", nil, c.rerr
	}
	if cmd == wire.CmdPing && !c.noPong && c.pver > wire.BIP0031Version {
		// The pong echoes the ping's nonce, which is its whole payload.
		if err := c.write(ctx, wire.CmdPong, payload); err != nil {
			return "", nil, err
		}
	}
	return cmd, payload, nil
}

// maxPayload bounds the payload of cmd at the negotiated version.
func (c *Conn) maxPayload(cmd string) int {
	return maxPayload(cmd, c.pver)
}

// WriteMessage encodes msg at the negotiated protocol version and sends it.
// ctx bounds the call as in ReadMessage. An *UnknownMessage sends any
// command, such as sendcmpct. After a failed write the stream may hold part
// of a message, so later writes fail with the same error. Errors are
// *Error with Step StepWrite.
func (c *Conn) WriteMessage(ctx context.Context, msg wire.Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf.Reset()
	if err := msg.BtcEncode(&c.wbuf, c.pver, wire.LatestEncoding); err != nil {
		return &Error{Addr: c.addr, Step: StepWrite, Err: fmt.Errorf("encoding %s: %w", msg.Command(), err)}
	}
	if n, m := c.wbuf.Len(), min(int(msg.MaxPayloadLength(c.pver)), wire.MaxProtocolMessageLength); n > m {
		return &Error{Addr: c.addr, Step: StepWrite, Err: fmt.Errorf("%w: %s of %d bytes, the maximum is %d", ErrMessageTooLarge, msg.Command(), n, m)}
	}
	if !p2p.ValidCommand(msg.Command()) {
		return &Error{Addr: c.addr, Step: StepWrite, Err: fmt.Errorf("%w: invalid command %q", ErrInvalidOptions, msg.Command())}
	}
	return c.writeLocked(ctx, msg.Command(), c.wbuf.Bytes())
}

// write sends one message with a raw payload.
func (c *Conn) write(ctx context.Context, cmd string, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(ctx, cmd, payload)
}

func (c *Conn) writeLocked(ctx context.Context, cmd string, payload []byte) error {
	if c.werr != nil {
		return c.werr
	}
	stop := watch(ctx, c.s.conn.SetWriteDeadline)
	defer stop()
	c.s.t.queue(cmd, payload)
	if _, err := c.s.t.write(); err != nil {
		c.werr = &Error{Addr: c.addr, Step: StepWrite, Err: classify(ctx, ctx, err)}
		return c.werr
	}
	return nil
}

// watch applies ctx to one direction of the connection: its deadline, or
// none, and on cancellation a deadline in the past, which unblocks the I/O
// at once. The returned stop must be called when the I/O is done; it waits
// for a callback already started, so no goroutine outlives the call.
func watch(ctx context.Context, setDeadline func(time.Time) error) (stop func()) {
	dl, _ := ctx.Deadline() // zero, clearing an earlier call's, when none
	setDeadline(dl)
	if ctx.Done() == nil {
		return func() {}
	}
	unblocked := make(chan struct{})
	after := context.AfterFunc(ctx, func() {
		setDeadline(time.Unix(1, 0))
		close(unblocked)
	})
	return func() {
		if !after() {
			<-unblocked
		}
	}
}
