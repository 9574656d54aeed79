package handshake_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// socksServer is a test double: a minimal SOCKS5 server (CONNECT only)
// that sends every connection to target, whatever it asks for, and records
// the names asked. With mute set it accepts and then says nothing. With
// auth set it asks for a user name and password (RFC 1929) and admits only
// those.
type socksServer struct {
	ln     net.Listener
	target string
	mute   bool
	auth   *handshake.ProxyAuth
	wg     sync.WaitGroup
	mu     sync.Mutex
	asked  []string
	conns  []net.Conn
}

func startSOCKS(t *testing.T, target string, mute bool, auth *handshake.ProxyAuth) *socksServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &socksServer{ln: ln, target: target, mute: mute, auth: auth}
	s.wg.Go(s.accept)
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *socksServer) track(c net.Conn) {
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
}

func (s *socksServer) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.track(c)
		s.wg.Go(func() { s.serve(c) })
	}
}

func (s *socksServer) serve(c net.Conn) {
	defer c.Close()
	if s.mute {
		io.Copy(io.Discard, c)
		return
	}
	// Greeting: version, methods; we choose "no authentication", or
	// "user name and password" when auth is set.
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil || hdr[0] != 5 {
		return
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return
	}
	if s.auth == nil {
		c.Write([]byte{5, 0})
	} else {
		if !slices.Contains(methods, 2) {
			c.Write([]byte{5, 0xff})
			return
		}
		c.Write([]byte{5, 2})
		// RFC 1929: version 1, user, password, each length-prefixed.
		field := func() string {
			var n [1]byte
			if _, err := io.ReadFull(c, n[:]); err != nil {
				return ""
			}
			b := make([]byte, n[0])
			io.ReadFull(c, b)
			return string(b)
		}
		var ver [1]byte
		io.ReadFull(c, ver[:])
		if user, pass := field(), field(); ver[0] != 1 || user != s.auth.User || pass != s.auth.Password {
			c.Write([]byte{1, 1})
			return
		}
		c.Write([]byte{1, 0})
	}
	// Request: version, CONNECT, reserved, a domain name (type 3), port.
	var req [5]byte
	if _, err := io.ReadFull(c, req[:]); err != nil || req[1] != 1 || req[3] != 3 {
		return
	}
	name := make([]byte, int(req[4])+2)
	if _, err := io.ReadFull(c, name); err != nil {
		return
	}
	s.mu.Lock()
	s.asked = append(s.asked, net.JoinHostPort(string(name[:req[4]]), strconv.Itoa(int(binary.BigEndian.Uint16(name[req[4]:])))))
	s.mu.Unlock()
	up, err := net.Dial("tcp", s.target)
	if err != nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	s.track(up)
	defer up.Close()
	c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 0})
	s.wg.Go(func() { io.Copy(up, c); up.Close() })
	io.Copy(c, up)
}

const onionHost = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"

func TestSOCKS5(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 10*time.Second)
	p := startPeer(t, handshaketest.Config{Behavior: handshaketest.Core, Addrs: gossip(50)})
	s := startSOCKS(t, p.Addr(), false, nil)
	c, r, err := handshake.DialConn(ctx, onionHost, handshake.Options{
		Dialer:    handshake.SOCKS5(s.ln.Addr().String(), nil),
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.asked) != 1 || s.asked[0] != onionHost+":8333" {
		t.Errorf("proxy was asked for %v, want the onion name unresolved", s.asked)
	}
}

// TestSOCKS5Auth: the credentials reach a proxy that asks for them, and
// wrong ones fail the dial.
func TestSOCKS5Auth(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 10*time.Second)
	p := startPeer(t, handshaketest.Config{Behavior: handshaketest.Core})
	s := startSOCKS(t, p.Addr(), false, &handshake.ProxyAuth{User: "circuit-7", Password: "x"})
	auth := *s.auth
	d := handshake.SOCKS5(s.ln.Addr().String(), &auth)
	auth.User = "changed later" // SOCKS5 keeps its own copy
	res, err := handshake.Dial(ctx, onionHost, handshake.Options{Dialer: d, Transport: handshake.TransportV1})
	if err != nil || res.Status != handshake.StatusOK {
		t.Fatalf("with the right credentials: %v, %v", res.Status, err)
	}
	for _, auth := range []*handshake.ProxyAuth{nil, {User: "circuit-7", Password: "y"}} {
		_, err := handshake.Dial(ctx, onionHost, handshake.Options{Dialer: handshake.SOCKS5(s.ln.Addr().String(), auth), Transport: handshake.TransportV1})
		var he *handshake.Error
		if !errors.As(err, &he) || he.Step != handshake.StepConnect {
			t.Errorf("credentials %+v: err %v, want a failure to connect", auth, err)
		}
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
	s := startSOCKS(t, p.Addr(), false, nil)
	d := handshake.SOCKS5(s.ln.Addr().String(), nil)
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
	s := startSOCKS(t, "", true, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := handshake.DialConn(ctx, onionHost, handshake.Options{Dialer: handshake.SOCKS5(s.ln.Addr().String(), nil)})
	var he *handshake.Error
	var pe *handshake.ProxyError
	if !errors.Is(err, handshake.ErrProxyDown) || !errors.As(err, &he) || he.Step != handshake.StepConnect ||
		!errors.As(err, &pe) || pe.Proxy != s.ln.Addr().String() {
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
