package handshake_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

const onionHost = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"

func TestSOCKS5(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 10*time.Second)
	p := startPeer(t, handshaketest.Config{Behavior: handshaketest.Core, Addrs: gossip(50)})
	s := startProxy(t, noDelay)
	// The double routes by name: reaching the node proves the name went
	// to the proxy unresolved.
	s.Set(onionHost, handshaketest.Route{Target: p.Addr()})
	c, r, err := handshake.DialConn(ctx, onionHost, handshake.Options{
		Dialer:    handshake.SOCKS5(s.SOCKSAddr(), nil),
		Transport: handshake.TransportV1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r.Status != handshake.StatusOK || r.Addr != onionHost+":8333" {
		t.Errorf("result %+v", r)
	}
	addrs, err := handshake.GetAddrs(ctx, c, handshake.AddrOptions{})
	if err != nil || len(addrs) != 50 {
		t.Errorf("through the proxy: %d addresses, %v", len(addrs), err)
	}
}

// TestSOCKS5Auth: the credentials reach a proxy that asks for them, and
// wrong ones, or none, find the proxy unusable.
func TestSOCKS5Auth(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 10*time.Second)
	p := startPeer(t, handshaketest.Config{Behavior: handshaketest.Core})
	want := handshaketest.Credential{User: "circuit-7", Password: "x"}
	s := startProxy(t, handshaketest.ProxyConfig{Delay: -1, Auth: &want})
	s.Set(onionHost, handshaketest.Route{Target: p.Addr()})
	auth := handshake.ProxyAuth{User: want.User, Password: want.Password}
	d := handshake.SOCKS5(s.SOCKSAddr(), &auth)
	auth.User = "changed later" // SOCKS5 keeps its own copy
	res, err := handshake.Dial(ctx, onionHost, handshake.Options{Dialer: d, Transport: handshake.TransportV1})
	if err != nil || res.Status != handshake.StatusOK {
		t.Fatalf("with the right credentials: %v, %v", res.Status, err)
	}
	for _, tt := range []struct {
		auth *handshake.ProxyAuth
		why  string
	}{
		{nil, "accepts none of our authentication methods"},
		{&handshake.ProxyAuth{User: "circuit-7", Password: "y"}, "refused the credentials"},
	} {
		_, err := handshake.Dial(ctx, onionHost, handshake.Options{Dialer: handshake.SOCKS5(s.SOCKSAddr(), tt.auth), Transport: handshake.TransportV1})
		var he *handshake.Error
		if !errors.As(err, &he) || he.Step != handshake.StepConnect || !errors.Is(err, handshake.ErrProxyDown) || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("credentials %+v: err %v, want the proxy down: %s", tt.auth, err, tt.why)
		}
	}
	if got := s.Credentials(); len(got) != 1 || got[0] != want {
		t.Errorf("the proxy took %v", got)
	}
}

// TestSOCKS5AddrYou: through the SOCKS5 dialer the connection's remote
// address is the proxy's, so our version reports no address for the peer
// (TestAddrYou shows the rule for a routable proxy address).
func TestSOCKS5AddrYou(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 10*time.Second)
	got := make(chan wire.NetAddress, 1)
	p := startPeer(t, handshaketest.Config{Handler: func(ctx context.Context, c *handshaketest.Conn) error {
		v, err := c.Accept()
		if err != nil {
			return err
		}
		got <- v.AddrYou
		return nil
	}})
	s := startProxy(t, noDelay)
	s.Set(onionHost, handshaketest.Route{Target: p.Addr()})
	d := handshake.SOCKS5(s.SOCKSAddr(), nil)
	conn, err := d.DialContext(ctx, "tcp", onionHost+":8333")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if !handshake.IsProxied(conn) {
		t.Errorf("the SOCKS5 dialer's connection (%T) is not marked as proxied", conn)
	}
	if _, err := handshake.Handshake(ctx, conn, handshake.Options{}); err != nil {
		t.Fatal(err)
	}
	if a := <-got; !a.IP.IsUnspecified() || a.Port != 0 {
		t.Errorf("peer read addr_recv %v:%d, want [::]:0", a.IP, a.Port)
	}
}

// TestSOCKS5Context: a proxy that never answers holds the dial only until
// the context ends, and is then reported down: a SOCKS5 greeting is
// answered at once by any working proxy.
func TestSOCKS5Context(t *testing.T) {
	t.Parallel()
	s := startProxy(t, handshaketest.ProxyConfig{Fault: handshaketest.ProxyHangs})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := handshake.DialConn(ctx, onionHost, handshake.Options{Dialer: handshake.SOCKS5(s.SOCKSAddr(), nil)})
	var he *handshake.Error
	var pe *handshake.ProxyError
	if !errors.Is(err, handshake.ErrProxyDown) || !errors.As(err, &he) || he.Step != handshake.StepConnect ||
		!errors.As(err, &pe) || pe.Proxy != s.SOCKSAddr() {
		t.Errorf("got %v, want the proxy down at connect", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// deadlineDialer records the deadline of the context it is asked to dial
// with, per address, and fails.
type deadlineDialer struct {
	mu        sync.Mutex
	deadline  time.Time
	deadlines map[string]time.Time
}

func (d *deadlineDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.deadline, _ = ctx.Deadline()
	if d.deadlines == nil {
		d.deadlines = map[string]time.Time{}
	}
	d.deadlines[addr] = d.deadline
	return nil, errors.New("no network here")
}

// TestSweepOnionTimeout: Sweep gives .onion addresses the onion time limit
// too, as Dial does.
func TestSweepOnionTimeout(t *testing.T) {
	t.Parallel()
	d := &deadlineDialer{}
	start := time.Now()
	_, err := handshake.Sweep(context.Background(), handshake.SweepOptions{
		Handshake: handshake.Options{Dialer: d},
		Addrs:     []string{"expyuzz4wqqyqhjn.onion", "203.0.113.7"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]time.Duration{
		"expyuzz4wqqyqhjn.onion:8333": handshake.DefaultOnionTimeout,
		"203.0.113.7:8333":            handshake.DefaultTimeout,
	} {
		if got := d.deadlines[addr].Sub(start); got < want-time.Second || got > want+time.Second {
			t.Errorf("%s: time limit %v, want %v", addr, got, want)
		}
	}
}

// TestOnionTimeout: Tor is slow, so .onion addresses get a longer default
// time limit than others; an explicit Timeout still wins.
func TestOnionTimeout(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		addr    string
		timeout time.Duration
		want    time.Duration
	}{
		{"expyuzz4wqqyqhjn.onion", 0, handshake.DefaultOnionTimeout},
		{"example.onion:8333", 0, handshake.DefaultOnionTimeout},
		{"203.0.113.7", 0, handshake.DefaultTimeout},
		{"example.onion", 5 * time.Second, 5 * time.Second},
	} {
		d := &deadlineDialer{}
		start := time.Now()
		handshake.Dial(context.Background(), tt.addr, handshake.Options{Dialer: d, Timeout: tt.timeout})
		if got := d.deadline.Sub(start); got < tt.want-time.Second || got > tt.want+time.Second {
			t.Errorf("%s with Timeout %v: time limit %v, want %v", tt.addr, tt.timeout, got, tt.want)
		}
	}
}
