package handshake_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

var errInjected = errors.New("injected fault")

// faultConn fails the n-th Read, or the n-th Write, on a working connection.
// Reads and writes are counted apart because a write may run in the
// background, concurrently with a read.
type faultConn struct {
	net.Conn
	write  bool // fail a Write rather than a Read
	failAt int

	mu     sync.Mutex
	calls  int
	failed bool
}

func (c *faultConn) fault(write bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if write != c.write {
		return false
	}
	c.calls++
	c.failed = c.failed || c.calls == c.failAt
	return c.calls == c.failAt
}

func (c *faultConn) Read(b []byte) (int, error) {
	if c.fault(false) {
		return 0, errInjected
	}
	return c.Conn.Read(b)
}

func (c *faultConn) Write(b []byte) (int, error) {
	if c.fault(true) {
		return 0, errInjected
	}
	return c.Conn.Write(b)
}

// faultDialer hands out faultConns.
type faultDialer struct {
	write  bool
	failAt int
	last   *faultConn
}

func (d *faultDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.last = &faultConn{Conn: c, write: d.write, failAt: d.failAt}
	return d.last, nil
}

// TestFaultAtEveryStep fails the transport at each read, then each write, of
// the exchange in turn and checks every error: it names the step, keeps the
// cause, and leaves a Result consistent with that step.
func TestFaultAtEveryStep(t *testing.T) {
	t.Parallel()
	// The peer sends the rest of its messages only once our verack shows
	// that its version was read, so the version and the rest arrive in
	// separate reads and read faults land in both read steps.
	peer := startPeer(t, handshaketest.Config{Handler: func(ctx context.Context, c *handshaketest.Conn) error {
		if _, err := c.ReadVersion(); err != nil {
			return err
		}
		if err := c.WriteMessage(c.Version()); err != nil {
			return err
		}
		for {
			cmd, _, err := c.ReadMessage()
			if err != nil {
				return nil // a fault ended the client's side
			}
			if cmd == wire.CmdVerAck {
				break
			}
		}
		for _, msg := range []wire.Message{&wire.MsgWTxIdRelay{}, &wire.MsgVerAck{}} {
			if err := c.WriteMessage(msg); err != nil {
				return err
			}
		}
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return nil
			}
		}
	}})
	steps := map[handshake.Step]bool{}
	for _, write := range []bool{false, true} {
		for n := 1; ; n++ {
			if n > 20 {
				t.Fatal("no fault-free run after 20 calls")
			}
			d := &faultDialer{write: write, failAt: n}
			res, err := handshake.Dial(testContext(t, 5*time.Second), peer.Addr(), handshake.Options{Dialer: d, Transport: handshake.TransportV1})
			if !d.last.failed {
				if err != nil || res.Status != handshake.StatusOK {
					t.Fatalf("fault-free run: %v, %v", res.Status, err)
				}
				break
			}
			var he *handshake.Error
			if !errors.As(err, &he) || !errors.Is(err, errInjected) {
				t.Fatalf("fault at call %d (write %v): err = %v, want an *Error wrapping the fault", n, write, err)
			}
			steps[he.Step] = true
			wantStatus := handshake.StatusFailed
			if he.Step == handshake.StepSendVerack || he.Step == handshake.StepReadVerack {
				wantStatus = handshake.StatusPartiallyOK
			}
			if res.Status != wantStatus || res.Err != err {
				t.Errorf("fault at %s: Status = %v, want %v", he.Step, res.Status, wantStatus)
			}
			if write && n == 1 && he.Step != handshake.StepSendVersion || write && n == 2 && he.Step != handshake.StepSendVerack {
				t.Errorf("write fault %d reported at step %q", n, he.Step)
			}
		}
	}
	for _, s := range []handshake.Step{handshake.StepSendVersion, handshake.StepReadVersion, handshake.StepSendVerack, handshake.StepReadVerack} {
		if !steps[s] {
			t.Errorf("no fault landed in step %q (saw %v)", s, steps)
		}
	}
}

// lateFailConn's writes wait for the first read to return data and then
// fail: a peer that spoke and hung up without reading us.
type lateFailConn struct {
	net.Conn
	readOnce sync.Once
	read     chan struct{}
}

func (c *lateFailConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.readOnce.Do(func() { close(c.read) })
	}
	return n, err
}

func (c *lateFailConn) Write(b []byte) (int, error) {
	<-c.read
	return 0, io.ErrClosedPipe
}

// TestVerdictBeatsLateWriteError: when the peer's own bytes already decided
// the outcome (here: too old), a write failing afterwards does not replace
// that verdict.
func TestVerdictBeatsLateWriteError(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	defer client.Close()
	ctx := testContext(t, 5*time.Second)
	var wg sync.WaitGroup
	wg.Go(func() {
		handshaketest.Serve(ctx, server, handshaketest.Config{Handler: func(ctx context.Context, hc *handshaketest.Conn) error {
			v := hc.Version()
			v.ProtocolVersion = 31799
			return hc.WriteMessage(v)
		}})
	})
	conn := &lateFailConn{Conn: client, read: make(chan struct{})}
	res, err := handshake.Handshake(ctx, conn, handshake.Options{Transport: handshake.TransportV1})
	client.Close()
	wg.Wait()
	var he *handshake.Error
	if !errors.Is(err, handshake.ErrPeerTooOld) || !errors.As(err, &he) || he.Step != handshake.StepReadVersion || res.Status != handshake.StatusPartiallyOK {
		t.Errorf("err = %v, status %v; want ErrPeerTooOld at read version", err, res.Status)
	}
}
