package handshake_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

func newI2P(t testing.TB, opts handshake.I2POptions) *handshake.I2P {
	t.Helper()
	d, err := handshake.NewI2P(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestI2PHandshake: handshakes with fake nodes behind the SAM double's I2P
// names, at port 0, complete, all in one session.
func TestI2PHandshake(t *testing.T) {
	t.Parallel()
	node := startPeer(t, handshaketest.Config{})
	p := startProxy(t, noDelay)
	d := newI2P(t, handshake.I2POptions{SAM: p.SAMAddr()})
	var wg sync.WaitGroup
	for i := range 4 {
		name := handshaketest.I2PName(i)
		p.Set(name, handshaketest.Route{Target: node.Addr()})
		wg.Go(func() {
			res, err := handshake.Dial(testCtx(t), name+":0", handshake.Options{Dialer: d})
			if err != nil || res.Status != handshake.StatusOK {
				t.Errorf("%s: status %v, err %v", name, res.Status, err)
			}
		})
	}
	wg.Wait()
	if n := p.Sessions(); n != 1 {
		t.Errorf("%d sessions made, want 1", n)
	}
}

// TestI2PFailures: each way an I2P destination cannot be reached is a
// typed result.
func TestI2PFailures(t *testing.T) {
	t.Parallel()
	p := startProxy(t, noDelay)
	d := newI2P(t, handshake.I2POptions{SAM: p.SAMAddr()})
	unreachable, timeout := handshaketest.I2PName(1), handshaketest.I2PName(2)
	p.Set(unreachable, handshaketest.Route{SAM: "CANT_REACH_PEER"})
	p.Set(timeout, handshaketest.Route{SAM: "TIMEOUT"})
	for _, tt := range []struct {
		addr string
		want error
		kind string
	}{
		{handshaketest.I2PName(3) + ":0", handshake.SAMKeyNotFound, "i2p-not-found"},
		{unreachable + ":0", handshake.SAMCantReachPeer, "i2p-cant-reach-peer"},
		{timeout + ":0", handshake.SAMTimeout, "i2p-timeout"},
		{handshaketest.I2PName(4) + ":8333", handshake.ErrInvalidAddress, "invalid-address"},
		{handshaketest.I2PName(4)[1:] + ":0", handshake.ErrInvalidAddress, "invalid-address"},
		{handshaketest.OnionName(4) + ":0", handshake.ErrInvalidAddress, "invalid-address"},
	} {
		_, err := d.DialContext(testCtx(t), "tcp", tt.addr)
		if !errors.Is(err, tt.want) || handshake.ErrorKind(err) != tt.kind {
			t.Errorf("%s: got %v (kind %q), want %v (%q)", tt.addr, err, handshake.ErrorKind(err), tt.want, tt.kind)
		}
		if errors.Is(err, handshake.ErrProxyDown) {
			t.Errorf("%s: the router counted as down: %v", tt.addr, err)
		}
	}
	if n := p.Requests(); n != 3 {
		t.Errorf("%d lookups, want 3: invalid addresses must not reach the router", n)
	}
}

// TestI2PSessionLost: a session the router dropped is made again; the
// connection that found it gone fails with INVALID_ID.
func TestI2PSessionLost(t *testing.T) {
	t.Parallel()
	node := startPeer(t, handshaketest.Config{})
	p := startProxy(t, noDelay)
	name := handshaketest.I2PName(1)
	p.Set(name, handshaketest.Route{Target: node.Addr()})
	d := newI2P(t, handshake.I2POptions{SAM: p.SAMAddr()})
	dial := func() error {
		c, err := d.DialContext(testCtx(t), "tcp", name+":0")
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatal(err)
	}
	p.DropSessions()
	// The session's control socket is closed; the dialer may notice
	// before or after its next STREAM CONNECT.
	if err := dial(); err != nil && !errors.Is(err, handshake.SAMInvalidID) {
		t.Fatalf("after the session was dropped: %v", err)
	}
	if err := dial(); err != nil {
		t.Fatalf("no new session: %v", err)
	}
	if n := p.Sessions(); n != 2 {
		t.Errorf("%d sessions made, want 2", n)
	}
}

// TestI2PRouterFaults: a router that refuses, hangs or answers garbage is
// down, soon.
func TestI2PRouterFaults(t *testing.T) {
	t.Parallel()
	hang := startProxy(t, handshaketest.ProxyConfig{Fault: handshaketest.ProxyHangs})
	garbage := startProxy(t, handshaketest.ProxyConfig{Fault: handshaketest.ProxyGarbage})
	for _, tt := range []struct{ name, sam, why string }{
		{"refuses", deadPort(t), "cannot connect"},
		{"hangs", hang.SAMAddr(), "no answer to HELLO"},
		{"garbage", garbage.SAMAddr(), "not a SAM 3.1 bridge"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newI2P(t, handshake.I2POptions{SAM: tt.sam, RetryDown: time.Hour})
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := d.DialContext(ctx, "tcp", handshaketest.I2PName(1)+":0")
			var pe *handshake.ProxyError
			if !errors.As(err, &pe) || !errors.Is(err, handshake.ErrProxyDown) || pe.Proxy != tt.sam || !strings.Contains(err.Error(), tt.why) {
				t.Errorf("got %v, want the router down: %s", err, tt.why)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
			// Down: the next dial fails at once.
			start = time.Now()
			if _, err := d.DialContext(testCtx(t), "tcp", handshaketest.I2PName(2)+":0"); !errors.Is(err, handshake.ErrProxyDown) {
				t.Errorf("second dial: %v", err)
			}
			if d := time.Since(start); d > time.Second { // asked again, it would hang until testCtx ends
				t.Errorf("second dial took %v, the router was not left alone", d)
			}
		})
	}
}

// TestI2PClosed: after Close, dials fail with net.ErrClosed.
func TestI2PClosed(t *testing.T) {
	t.Parallel()
	p := startProxy(t, noDelay)
	d := newI2P(t, handshake.I2POptions{SAM: p.SAMAddr()})
	d.DialContext(testCtx(t), "tcp", handshaketest.I2PName(1)+":0") // makes the session
	d.Close()
	if _, err := d.DialContext(testCtx(t), "tcp", handshaketest.I2PName(1)+":0"); !errors.Is(err, net.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// TestI2PSessionNeverMade: a router that answers HELLO but never makes the
// session is down once SessionTimeout runs out (not a timeout blamed on
// the address), and the dials after it fail at once without asking it
// again until RetryDown has passed.
func TestI2PSessionNeverMade(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var mu sync.Mutex
	var conns []net.Conn
	accepted := make(chan struct{}, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			accepted <- struct{}{}
			go func() {
				buf := make([]byte, 512)
				c.Read(buf) // HELLO
				c.Write([]byte("HELLO REPLY RESULT=OK VERSION=3.1\n"))
				io.Copy(io.Discard, c) // SESSION CREATE, never answered
			}()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	d := newI2P(t, handshake.I2POptions{SAM: l.Addr().String(), SessionTimeout: 200 * time.Millisecond, RetryDown: time.Hour})
	name := handshaketest.I2PName(0) + ":0"
	_, err = d.DialContext(testCtx(t), "tcp", name)
	if !errors.Is(err, handshake.ErrProxyDown) || handshake.ErrorKind(err) != "proxy-down" {
		t.Fatalf("no session made: %v (kind %q), want ErrProxyDown", err, handshake.ErrorKind(err))
	}
	<-accepted
	_, err = d.DialContext(testCtx(t), "tcp", handshaketest.I2PName(1)+":0")
	if !errors.Is(err, handshake.ErrProxyDown) {
		t.Errorf("the next dial: %v, want ErrProxyDown at once", err)
	}
	select {
	case <-accepted:
		t.Error("the router was asked again before RetryDown")
	default:
	}
}
