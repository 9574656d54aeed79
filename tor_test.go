package handshake_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// startProxy starts a proxy double with cfg, closed at the end of the test.
func startProxy(t testing.TB, cfg handshaketest.ProxyConfig) *handshaketest.Proxy {
	t.Helper()
	p, err := handshaketest.NewProxy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// noDelay is a proxy double that answers at once.
var noDelay = handshaketest.ProxyConfig{Delay: -1}

// deadPort returns a loopback address where nothing listens.
func deadPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func newTor(t testing.TB, opts handshake.TorOptions) *handshake.Tor {
	t.Helper()
	tor, err := handshake.NewTor(opts)
	if err != nil {
		t.Fatal(err)
	}
	return tor
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestTorHandshake: a handshake with a fake node behind the proxy double's
// onion name, through Tor with isolation, completes.
func TestTorHandshake(t *testing.T) {
	t.Parallel()
	node := startPeer(t, handshaketest.Config{})
	p := startProxy(t, noDelay)
	name := handshaketest.OnionName(1)
	p.Set(name, handshaketest.Route{Target: node.Addr()})
	tor := newTor(t, handshake.TorOptions{Proxies: []string{p.SOCKSAddr()}})
	res, err := handshake.Dial(testCtx(t), name+":8333", handshake.Options{Dialer: tor})
	if err != nil || res.Status != handshake.StatusOK {
		t.Fatalf("status %v, err %v", res.Status, err)
	}
}

// TestTorIsolation: each connection sends credentials of its own, as
// Core's -proxyrandomize, unless isolation is off.
func TestTorIsolation(t *testing.T) {
	t.Parallel()
	for _, noIso := range []bool{false, true} {
		p := startProxy(t, noDelay)
		tor := newTor(t, handshake.TorOptions{Proxies: []string{p.SOCKSAddr()}, NoIsolation: noIso})
		const n = 8
		for i := range n {
			_, err := tor.DialContext(testCtx(t), "tcp", handshaketest.OnionName(i)+":8333")
			if !errors.Is(err, handshake.SOCKSOnionNotFound) {
				t.Fatalf("dial %d: %v, want onion not found", i, err)
			}
		}
		creds := p.Credentials()
		if len(creds) != n {
			t.Fatalf("%d requests recorded, want %d", len(creds), n)
		}
		seen := map[handshaketest.Credential]bool{}
		for _, c := range creds {
			if noIso && c != (handshaketest.Credential{}) {
				t.Errorf("NoIsolation sent credentials %+v", c)
			}
			if !noIso && (c.User == "" || c.Password == "" || seen[c]) {
				t.Errorf("isolation: credentials %+v empty or repeated", c)
			}
			seen[c] = true
		}
	}
}

// TestMaxPending: no more connections wait at a Tor proxy, or at an I2P
// router, at once than MaxPending, and the cap is reached.
func TestMaxPending(t *testing.T) {
	t.Parallel()
	node := startPeer(t, handshaketest.Config{})
	for _, tt := range []struct {
		name string
		d    func(p *handshaketest.Proxy) handshake.Dialer
		addr func(i int) string
		max  int
	}{
		{"tor", func(p *handshaketest.Proxy) handshake.Dialer {
			return newTor(t, handshake.TorOptions{Proxies: []string{p.SOCKSAddr()}, MaxPending: 3})
		}, func(i int) string { return handshaketest.OnionName(i) + ":8333" }, 3},
		{"i2p", func(p *handshaketest.Proxy) handshake.Dialer {
			return newI2P(t, handshake.I2POptions{SAM: p.SAMAddr(), MaxPending: 2})
		}, func(i int) string { return handshaketest.I2PName(i) + ":0" }, 2},
	} {
		p := startProxy(t, handshaketest.ProxyConfig{Delay: 50 * time.Millisecond})
		d := tt.d(p)
		var wg sync.WaitGroup
		for i := range 4 * tt.max {
			host, _, _ := net.SplitHostPort(tt.addr(i))
			p.Set(host, handshaketest.Route{Target: node.Addr()})
			wg.Go(func() {
				c, err := d.DialContext(testCtx(t), "tcp", tt.addr(i))
				if err != nil {
					t.Error(err)
					return
				}
				c.Close()
			})
		}
		wg.Wait()
		if got := p.MaxPending(); got != tt.max {
			t.Errorf("%s: at most %d connections waited at once, want %d", tt.name, got, tt.max)
		}
	}
}

// TestTorSpread: connections go to every proxy, and a proxy that is down
// is left alone while another works.
func TestTorSpread(t *testing.T) {
	t.Parallel()
	a, b := startProxy(t, noDelay), startProxy(t, noDelay)
	dead := deadPort(t)
	tor := newTor(t, handshake.TorOptions{Proxies: []string{a.SOCKSAddr(), dead, b.SOCKSAddr()}})
	down := 0
	for i := range 10 {
		_, err := tor.DialContext(testCtx(t), "tcp", handshaketest.OnionName(i)+":8333")
		switch {
		case errors.Is(err, handshake.ErrProxyDown):
			down++
		case !errors.Is(err, handshake.SOCKSOnionNotFound):
			t.Fatalf("dial %d: %v", i, err)
		}
	}
	if down != 1 {
		t.Errorf("%d dials found the dead proxy, want 1 (then it is left alone)", down)
	}
	if a.Requests() < 4 || b.Requests() < 4 {
		t.Errorf("requests spread %d and %d, want about even", a.Requests(), b.Requests())
	}
}

// TestTorAllDown: with every proxy down, a dial fails at once with a
// ProxyError naming the proxy, without trying it again.
func TestTorAllDown(t *testing.T) {
	t.Parallel()
	dead := deadPort(t)
	tor := newTor(t, handshake.TorOptions{Proxies: []string{dead}, RetryDown: time.Hour})
	for i := range 3 {
		_, err := tor.DialContext(testCtx(t), "tcp", handshaketest.OnionName(i)+":8333")
		var pe *handshake.ProxyError
		if !errors.As(err, &pe) || pe.Proxy != dead || !errors.Is(err, handshake.ErrProxyDown) || pe.Kind() != "proxy-down" {
			t.Fatalf("dial %d: %v, want the proxy %s down", i, err, dead)
		}
		if want := handshaketest.OnionName(i) + ":8333"; pe.Addr != want {
			t.Errorf("ProxyError.Addr %q, want %q", pe.Addr, want)
		}
	}
}

// TestTorSlowIsNotDown: a proxy still building the circuit when the time
// runs out gives a context error, not a ProxyError: a slow service is not
// an offline one, nor a dead proxy.
func TestTorSlowIsNotDown(t *testing.T) {
	t.Parallel()
	p := startProxy(t, handshaketest.ProxyConfig{Delay: time.Hour})
	tor := newTor(t, handshake.TorOptions{Proxies: []string{p.SOCKSAddr()}})
	// Limits long enough for a busy machine to finish the greeting, which
	// a proxy must answer within them; the circuit takes an hour.
	_, err := tor.DialWithin(testCtx(t), time.Second, "tcp", handshaketest.OnionName(1)+":8333")
	var pe *handshake.ProxyError
	if errors.As(err, &pe) || handshake.ErrorKind(err) != "timeout" {
		t.Errorf("got %v (kind %q), want a timeout", err, handshake.ErrorKind(err))
	}
	// The proxy is not marked down: the next dial asks it again.
	before := p.Requests()
	tor.DialWithin(testCtx(t), time.Second, "tcp", handshaketest.OnionName(2)+":8333")
	if p.Requests() != before+1 {
		t.Error("a slow answer marked the proxy down")
	}
}

// TestProxyFaults: a proxy that refuses, hangs or answers garbage is down,
// soon, with a reason.
func TestProxyFaults(t *testing.T) {
	t.Parallel()
	hang := startProxy(t, handshaketest.ProxyConfig{Fault: handshaketest.ProxyHangs})
	garbage := startProxy(t, handshaketest.ProxyConfig{Fault: handshaketest.ProxyGarbage})
	for _, tt := range []struct {
		name, proxy, why string
	}{
		{"refuses", deadPort(t), "cannot connect"},
		{"hangs", hang.SOCKSAddr(), "no answer to the greeting"},
		{"garbage", garbage.SOCKSAddr(), "not a SOCKS5 proxy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := handshake.SOCKS5(tt.proxy, nil).DialContext(ctx, "tcp", handshaketest.OnionName(1)+":8333")
			if !errors.Is(err, handshake.ErrProxyDown) || !strings.Contains(err.Error(), tt.why) {
				t.Errorf("got %v, want the proxy down: %s", err, tt.why)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestInvalidOnionNeverDialled: a malformed onion name fails with
// ErrInvalidAddress and the proxy is never asked.
func TestInvalidOnionNeverDialled(t *testing.T) {
	t.Parallel()
	p := startProxy(t, noDelay)
	tor := newTor(t, handshake.TorOptions{Proxies: []string{p.SOCKSAddr()}})
	good := handshaketest.OnionName(1)
	badSum := good[:10] + flip(good[10]) + good[11:]
	for _, host := range []string{
		badSum,
		good[1:],                           // 55 characters
		"expyuzz4wqqyqhjn.onion",           // v2
		strings.Repeat("a", 56) + ".onion", // version 0
	} {
		_, err := tor.DialContext(testCtx(t), "tcp", host+":8333")
		if !errors.Is(err, handshake.ErrInvalidAddress) || handshake.ErrorKind(err) != "invalid-address" {
			t.Errorf("%s: got %v, want ErrInvalidAddress", host, err)
		}
	}
	if n := p.Requests(); n != 0 || len(p.Credentials()) != 0 {
		t.Errorf("the proxy was asked %d times", n)
	}
}

// flip changes one base32 character of a name.
func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}

func TestNewTorOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []handshake.TorOptions{
		{MaxPending: -1},
		{RetryDown: -time.Second},
		{Proxies: []string{"127.0.0.1"}},
		{Proxies: []string{"127.0.0.1:9050", "127.0.0.1:9050"}},
	} {
		if _, err := handshake.NewTor(o); !errors.Is(err, handshake.ErrInvalidOptions) {
			t.Errorf("%+v: %v, want ErrInvalidOptions", o, err)
		}
	}
}

// TestTorQueue: connections waiting for a slot that give up leave the line
// without losing the slot: the others all get theirs, and so does one
// more after them.
func TestTorQueue(t *testing.T) {
	t.Parallel()
	node := startPeer(t, handshaketest.Config{})
	p := startProxy(t, handshaketest.ProxyConfig{Delay: 20 * time.Millisecond})
	tor := newTor(t, handshake.TorOptions{Proxies: []string{p.SOCKSAddr()}, MaxPending: 1})
	impatient, cancel := context.WithCancel(testCtx(t))
	var wg sync.WaitGroup
	var mu sync.Mutex
	gaveUp := 0
	for i := range 16 {
		name := handshaketest.OnionName(i)
		p.Set(name, handshaketest.Route{Target: node.Addr()})
		ctx := testCtx(t)
		if i%2 == 1 {
			ctx = impatient
		}
		wg.Go(func() {
			c, err := tor.DialContext(ctx, "tcp", name+":8333")
			switch {
			case err == nil:
				c.Close()
			case i%2 == 0 || !errors.Is(err, context.Canceled):
				t.Errorf("dial %d: %v", i, err)
			default:
				mu.Lock()
				gaveUp++
				mu.Unlock()
			}
		})
	}
	time.AfterFunc(30*time.Millisecond, cancel) // while most wait in line
	wg.Wait()
	if gaveUp == 0 {
		t.Error("no connection gave up: the test tested nothing")
	}
	ctx, stop := context.WithTimeout(context.Background(), 2*time.Second)
	defer stop()
	c, err := tor.DialContext(ctx, "tcp", handshaketest.OnionName(0)+":8333")
	if err != nil {
		t.Fatalf("after the line: %v (a slot was lost)", err)
	}
	c.Close()
}
