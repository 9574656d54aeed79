package handshake_test

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// hookDialer dials TCP and wraps the connection in a hookConn, whose first
// Read runs onRead if set.
type hookDialer struct {
	onRead func()
	conn   atomic.Pointer[hookConn] // the last connection made
}

func (d *hookDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	hc := &hookConn{Conn: c}
	if d.onRead != nil {
		hc.onRead(d.onRead)
	}
	d.conn.Store(hc)
	return hc, nil
}

// hookConn runs a function set by onRead when the next Read begins, before
// it reads: a test learns that a read has reached the connection, where it
// blocks, without guessing how long that takes.
type hookConn struct {
	net.Conn
	hook atomic.Pointer[func()]
}

func (c *hookConn) onRead(f func()) { c.hook.Store(&f) }

func (c *hookConn) Read(b []byte) (int, error) {
	if f := c.hook.Swap(nil); f != nil {
		(*f)()
	}
	return c.Conn.Read(b)
}

// dialConn opens a Conn to addr and closes it when the test ends.
func dialConn(t *testing.T, ctx context.Context, addr string, opts handshake.Options) *handshake.Conn {
	t.Helper()
	c, _, err := handshake.DialConn(ctx, addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// pingPong sends a ping and reads until its pong, returning the commands
// read on the way.
func pingPong(t *testing.T, ctx context.Context, c *handshake.Conn) []string {
	t.Helper()
	const nonce = 0x1234_5678_9abc_def0
	if err := c.WriteMessage(ctx, wire.NewMsgPing(nonce)); err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for {
		msg, err := c.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("after %v: %v", cmds, err)
		}
		cmds = append(cmds, msg.Command())
		if p, ok := msg.(*wire.MsgPong); ok {
			if p.Nonce != nonce {
				t.Fatalf("pong nonce %x, want %x", p.Nonce, nonce)
			}
			return cmds
		}
	}
}

// TestConnExchange reads what Bitcoin Core sends after the handshake, over
// both transports, and checks the automatic pong and a ping round trip.
func TestConnExchange(t *testing.T) {
	t.Parallel()
	for _, tr := range []handshake.Transport{handshake.TransportV1, handshake.TransportV2} {
		for _, noPong := range []bool{false, true} {
			t.Run(tr.String(), func(t *testing.T) {
				t.Parallel()
				ctx := testContext(t, 10*time.Second)
				p := startPeer(t, handshaketest.Config{Behavior: handshaketest.Core, V2: true})
				c, r, err := handshake.DialConn(ctx, p.Addr(), handshake.Options{Transport: tr, NoPong: noPong})
				if err != nil || r.Status != handshake.StatusOK || r.Transport != tr {
					t.Fatalf("result %+v, %v", r, err)
				}
				defer c.Close()
				if c.RemoteAddr().String() != p.Addr() || c.LocalAddr() == nil {
					t.Errorf("addrs %v %v", c.LocalAddr(), c.RemoteAddr())
				}
				// Core sends these after our verack (nodes.go afterVerack).
				var got []string
				for range 3 {
					msg, err := c.ReadMessage(ctx)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, msg.Command())
					if u, ok := msg.(*handshake.UnknownMessage); ok && (u.Cmd != "sendcmpct" || len(u.Payload) != 9) {
						t.Errorf("unknown message %+v", u)
					}
				}
				if want := []string{"sendcmpct", "ping", "feefilter"}; !slices.Equal(got, want) {
					t.Errorf("read %v, want %v", got, want)
				}
				pingPong(t, ctx, c)
				ponged := slices.Contains(p.Received(), "pong")
				if ponged == noPong {
					t.Errorf("NoPong %v: peer received %v", noPong, p.Received())
				}
				if err := c.Close(); err != nil {
					t.Error(err)
				}
				if _, err := c.ReadMessage(ctx); !errors.Is(err, net.ErrClosed) {
					t.Errorf("read after close: %v", err)
				}
			})
		}
	}
}

// handshakeThen is a peer that completes a v1 handshake and then sends
// after in the same write as its verack, so the bytes sit in the client's
// buffer when its handshake returns.
func handshakeThen(after ...[]byte) handshaketest.Config {
	return handshaketest.Config{Handler: func(ctx context.Context, c *handshaketest.Conn) error {
		if _, err := c.ReadVersion(); err != nil {
			return err
		}
		if err := c.WriteMessage(c.Version()); err != nil {
			return err
		}
		b := handshaketest.Frame(wire.MainNet, wire.CmdVerAck, nil)
		for _, a := range after {
			b = append(b, a...)
		}
		if err := c.WriteRaw(b); err != nil {
			return err
		}
		for { // hold the connection, answering nothing
			if _, _, err := c.ReadMessage(); err != nil {
				return err
			}
		}
	}}
}

func TestConnKeepsBufferedBytes(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 5*time.Second)
	p := startPeer(t, handshakeThen(
		handshaketest.Frame(wire.MainNet, "sendtxrcncl", make([]byte, 12)),
		handshaketest.Frame(wire.MainNet, "futurecmd", []byte("x")),
		handshaketest.Frame(wire.MainNet, wire.CmdWTxIdRelay, nil),
	))
	c := dialConn(t, ctx, p.Addr(), handshake.Options{Transport: handshake.TransportV1})
	var got []string
	for range 3 {
		msg, err := c.ReadMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, msg.Command())
	}
	if want := []string{"sendtxrcncl", "futurecmd", "wtxidrelay"}; !slices.Equal(got, want) {
		t.Errorf("read %v, want %v", got, want)
	}
}

func TestConnOversized(t *testing.T) {
	t.Parallel()
	big := handshaketest.Frame(wire.MainNet, "futurecmd", nil)
	big[16], big[17], big[18], big[19] = 0x00, 0x12, 0x7a, 0x00 // claims 8,000,000 bytes
	for name, frame := range map[string][]byte{
		"ping over its maximum": handshaketest.Frame(wire.MainNet, wire.CmdPing, make([]byte, 9)),
		"unknown over Core's":   big,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, 5*time.Second)
			p := startPeer(t, handshakeThen(frame))
			c := dialConn(t, ctx, p.Addr(), handshake.Options{Transport: handshake.TransportV1})
			_, err := c.ReadMessage(ctx)
			var he *handshake.Error
			if !errors.Is(err, handshake.ErrMessageTooLarge) || !errors.As(err, &he) || he.Step != handshake.StepRead {
				t.Fatalf("got %v, want ErrMessageTooLarge at read", err)
			}
			if _, err2 := c.ReadMessage(ctx); err2 != err {
				t.Errorf("second read %v: the stream is out of sync, want the same error", err2)
			}
		})
	}
}

// TestConnUnblock: a context that ends unblocks a read and leaves the Conn
// usable; Close from another goroutine unblocks it for good.
func TestConnUnblock(t *testing.T) {
	t.Parallel()
	for _, tr := range []handshake.Transport{handshake.TransportV1, handshake.TransportV2} {
		t.Run(tr.String(), func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, 10*time.Second)
			// Old sends nothing after its verack unless pinged.
			p := startPeer(t, handshaketest.Config{Behavior: handshaketest.Old, V2: true})
			d := &hookDialer{}
			c := dialConn(t, ctx, p.Addr(), handshake.Options{Transport: tr, Dialer: d})

			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			_, err := c.ReadMessage(short)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("quiet peer: %v, want a deadline error", err)
			}
			// Cancelled once the read has reached the connection, so
			// that the cancellation must unblock it, not merely be
			// noticed before it starts. The context has no deadline that
			// could end the read instead; should the cancellation fail to,
			// a watchdog closes the Conn, which fails the test.
			cancelled, cancel := context.WithCancel(context.Background())
			d.conn.Load().onRead(func() { go cancel() })
			var fired atomic.Bool
			watchdog := time.AfterFunc(5*time.Second, func() { fired.Store(true); c.Close() })
			_, err = c.ReadMessage(cancelled)
			watchdog.Stop()
			if fired.Load() {
				t.Fatalf("the cancellation did not unblock the read; the watchdog ended it (%v)", err)
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled: %v, want context.Canceled", err)
			}
			if got := pingPong(t, ctx, c); !slices.Equal(got, []string{"pong"}) {
				t.Errorf("after timeouts read %v", got)
			}

			// Closed once the read has reached the connection.
			reading := make(chan struct{})
			d.conn.Load().onRead(func() { close(reading) })
			done := make(chan error)
			go func() {
				_, err := c.ReadMessage(ctx)
				done <- err
			}()
			<-reading
			c.Close()
			if err := <-done; !errors.Is(err, net.ErrClosed) {
				t.Errorf("read unblocked by Close: %v", err)
			}
		})
	}
}

func TestConnWriteInvalid(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 5*time.Second)
	p := startPeer(t, handshaketest.Config{Behavior: handshaketest.Old})
	c := dialConn(t, ctx, p.Addr(), handshake.Options{Transport: handshake.TransportV1})
	for _, m := range []wire.Message{
		&handshake.UnknownMessage{Cmd: "much-too-long-command"},
		&handshake.UnknownMessage{Cmd: ""},
		&handshake.UnknownMessage{Cmd: "big", Payload: make([]byte, handshake.MaxUnknownPayload+1)},
	} {
		if err := c.WriteMessage(ctx, m); err == nil {
			t.Errorf("%q accepted", m.Command())
		}
	}
	// Nothing reached the wire: the Conn still works.
	if err := c.WriteMessage(ctx, &handshake.UnknownMessage{Cmd: "sendcmpct", Payload: make([]byte, 9)}); err != nil {
		t.Fatal(err)
	}
	pingPong(t, ctx, c)
	waitFor(t, func() bool { return slices.Contains(p.Received(), "sendcmpct") })
}

func TestDialConnFailure(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 5*time.Second)
	p := startPeer(t, handshaketest.Config{Behavior: handshaketest.WrongMagic})
	c, res, err := handshake.DialConn(ctx, p.Addr(), handshake.Options{Transport: handshake.TransportV1})
	if c != nil || !errors.Is(err, handshake.ErrWrongNetwork) {
		t.Fatalf("got %v, %v", c, err)
	}
	// The failure's Result is kept, as Dial keeps it.
	if res.Err != err || res.Addr != p.Addr() || res.Status != handshake.StatusFailed {
		t.Errorf("Result = %+v", res)
	}

	close := startPeer(t, handshaketest.Config{Behavior: handshaketest.CloseAfterVersion})
	c, res, err = handshake.DialConn(ctx, close.Addr(), handshake.Options{Transport: handshake.TransportV1})
	if c != nil || res.Status != handshake.StatusPartiallyOK || res.Peer.UserAgent == "" || !errors.Is(err, handshake.ErrPeerClosed) {
		t.Errorf("close after version: %v, %+v, %v", c, res, err)
	}
}

// pipeDialer hands out one end of a pipe, once.
type pipeDialer struct{ conn chan net.Conn }

func (d pipeDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	select {
	case c := <-d.conn:
		return c, nil
	default:
		return nil, errors.New("pipe already taken")
	}
}

// TestConnPipe: a Conn over a connection made another way, here a pipe,
// through Options.Dialer.
func TestConnPipe(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 5*time.Second)
	client, server := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- handshaketest.Serve(ctx, server, handshaketest.Config{Behavior: handshaketest.Bcoin}) }()
	d := pipeDialer{conn: make(chan net.Conn, 1)}
	d.conn <- client
	// A pipe has no buffer: the peer's four messages after its verack
	// must be read before we write, and a pong would wait on the peer
	// still writing, hence NoPong.
	c, _, err := handshake.DialConn(ctx, "pipe", handshake.Options{NoPong: true, Transport: handshake.TransportV1, Dialer: d})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 4 {
		msg, err := c.ReadMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, msg.Command())
	}
	got = append(got, pingPong(t, ctx, c)...)
	if want := []string{"sendheaders", "sendcmpct", "ping", "feefilter", "pong"}; !slices.Equal(got, want) {
		t.Errorf("read %v, want %v", got, want)
	}
	c.Close()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// TestConnClaimAllocatesLittle: after the handshake, a peer that claims a
// 3,999,000-byte message (within Core's 4,000,000) and then trickles costs
// what it sent, not what it claimed, over v1 and v2: the read buffer grows
// as bytes arrive. Not parallel, so that the process's allocation counter
// sees this read and the peer's trickle alone.
func TestConnClaimAllocatesLittle(t *testing.T) {
	const bound = 64 << 10
	for _, tr := range []handshake.Transport{handshake.TransportV1, handshake.TransportV2} {
		cfg := handshaketest.Config{Behavior: handshaketest.ClaimAfterHandshake}
		cfg.V2 = tr == handshake.TransportV2
		cfg.DripInterval = 5 * time.Millisecond
		peer := startPeer(t, cfg)
		c := dialConn(t, testContext(t, 10*time.Second), peer.Addr(), handshake.Options{Transport: tr})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := c.ReadMessage(ctx)
		cancel()
		runtime.ReadMemStats(&after)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%v: ReadMessage = %v, want the deadline while the peer trickles", tr, err)
		}
		allocated := after.TotalAlloc - before.TotalAlloc
		if allocated > bound {
			t.Errorf("%v: %d bytes allocated facing a %d-byte claim, past %d", tr, allocated, handshaketest.ClaimSize, bound)
		}
		t.Logf("%v: %d bytes allocated facing a %d-byte claim", tr, allocated, handshaketest.ClaimSize)
	}
}

// TestConnSkipsDropped: after the handshake, what Bitcoin Core's transports
// drop (V1Transport: bad checksum, invalid command; V2Transport:
// undecodable message type, unknown one-byte ID) is skipped, and the next
// message read.
func TestConnSkipsDropped(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 10*time.Second)
	bad := handshaketest.Frame(wire.MainNet, wire.CmdPing, make([]byte, 8))
	bad[20] ^= 0xff
	v1 := startPeer(t, handshakeThen(bad,
		handshaketest.Frame(wire.MainNet, "p\x01ng", make([]byte, 8)),
		handshaketest.Frame(wire.MainNet, wire.CmdFeeFilter, make([]byte, 8)),
	))
	v2 := startPeer(t, handshaketest.Config{V2: true, Handler: func(ctx context.Context, c *handshaketest.Conn) error {
		if _, err := c.Accept(); err != nil {
			return err
		}
		for _, contents := range [][]byte{nil, {0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {200, 1}} {
			if err := c.WritePacket(contents); err != nil {
				return err
			}
		}
		if err := c.WriteCommand(wire.CmdFeeFilter, make([]byte, 8)); err != nil {
			return err
		}
		_, err := io.Copy(io.Discard, c.Net())
		return err
	}})
	for tr, p := range map[handshake.Transport]*handshaketest.Peer{handshake.TransportV1: v1, handshake.TransportV2: v2} {
		c := dialConn(t, ctx, p.Addr(), handshake.Options{Transport: tr})
		msg, err := c.ReadMessage(ctx)
		if err != nil || msg.Command() != wire.CmdFeeFilter {
			t.Errorf("%v: read %v, %v; want the feefilter after the dropped messages", tr, msg, err)
		}
	}
}
