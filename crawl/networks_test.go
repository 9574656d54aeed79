package crawl_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// socksProxy is a minimal SOCKS5 proxy (RFC 1928, no authentication,
// CONNECT only) that reaches the names in route, as Tor reaches onion
// services, and records the names asked.
type socksProxy struct {
	ln    net.Listener
	route map[string]string // host name → loopback "ip:port"
	wg    sync.WaitGroup

	mu    sync.Mutex
	asked []string
}

func startSOCKS(t *testing.T, route map[string]string) *socksProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &socksProxy{ln: ln, route: route}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *socksProxy) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || hdr[0] != 5 {
		return
	}
	if _, err := io.CopyN(io.Discard, r, int64(hdr[1])); err != nil {
		return
	}
	c.Write([]byte{5, 0}) // no authentication
	var req [5]byte       // VER CMD RSV ATYP LEN
	if _, err := io.ReadFull(r, req[:]); err != nil || req[1] != 1 || req[3] != 3 {
		return // CONNECT to a domain name only: names are never resolved here
	}
	name := make([]byte, int(req[4])+2)
	if _, err := io.ReadFull(r, name); err != nil {
		return
	}
	host := string(name[:req[4]])
	s.mu.Lock()
	s.asked = append(s.asked, host)
	s.mu.Unlock()
	to, ok := s.route[host]
	if !ok || binary.BigEndian.Uint16(name[req[4]:]) != 8333 {
		c.Write([]byte{5, 4, 0, 1, 0, 0, 0, 0, 0, 0}) // host unreachable
		return
	}
	up, err := net.Dial("tcp", to)
	if err != nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	defer up.Close()
	c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	done := make(chan struct{})
	go func() {
		io.Copy(up, r)
		up.Close()
		close(done)
	}()
	io.Copy(c, up)
	c.Close()
	<-done
}

// TestCrawlOnionThroughSOCKS5: an onion address a node gossips is visited
// through the caller's SOCKS5 dialer, its name handed to the proxy
// unresolved, and without a dialer it is reported as skipped.
func TestCrawlOnionThroughSOCKS5(t *testing.T) {
	t.Parallel()
	hidden, err := handshaketest.NewPeer(handshaketest.Config{Addr: "127.69.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer hidden.Close()
	onion := make([]byte, 32)
	onion[0] = 7
	na := wire.NetAddressV2FromBytes(time.Now(), wire.SFNodeNetwork, onion, 8333)
	gossip := make([]wire.NetAddressV2, 11) // an answer to getaddr, not relayed gossip
	for i := range gossip {
		gossip[i] = *na
	}
	seed, err := handshaketest.NewPeer(handshaketest.Config{Addr: "127.69.0.2:0", Addrs: gossip})
	if err != nil {
		t.Fatal(err)
	}
	defer seed.Close()
	name := na.Addr.String()
	proxy := startSOCKS(t, map[string]string{name: hidden.Addr()})
	target := net.JoinHostPort(name, "8333")

	got, _, err := collect(t, testContext(t, 20*time.Second), crawl.Options{
		Dialers: map[handshake.AddrNetwork]handshake.Dialer{handshake.NetTorV3: handshake.SOCKS5(proxy.ln.Addr().String(), nil)},
		// The hidden node knows no address: do not wait for an answer.
		Limits: map[handshake.AddrNetwork]crawl.Limits{handshake.NetTorV3: {GetAddr: 200 * time.Millisecond}},
	}, targets(t, seed.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	r := got[target]
	if r.Network != handshake.NetTorV3 || r.Status != handshake.StatusOK || r.Ping <= 0 || hidden.Accepted() != 1 {
		t.Errorf("onion %s: %v %v, ping %v, %d connections", target, r.Status, r.Err, r.Ping, hidden.Accepted())
	}
	proxy.mu.Lock()
	if len(proxy.asked) != 1 || proxy.asked[0] != name {
		t.Errorf("proxy asked for %q, want %q once", proxy.asked, name)
	}
	proxy.mu.Unlock()

	got, sum, err := collect(t, testContext(t, 20*time.Second), crawl.Options{NoPing: true}, targets(t, seed.Addr()))
	if r := got[target]; err != nil || r.Skipped != "no dialer for onion" || r.Handshake != nil || sum.Skipped != 1 {
		t.Errorf("without a dialer: %v, %+v, summary %+v", err, r, sum)
	}
}

// TestCrawlConnectLimit: an address whose connect hangs costs its connect
// limit, not the handshake's, which here is longer than the test may run.
func TestCrawlConnectLimit(t *testing.T) {
	t.Parallel()
	h, err := handshaketest.NewHanging("127.69.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	opts := crawl.Options{Limits: map[handshake.AddrNetwork]crawl.Limits{
		handshake.NetIPv4: {Connect: 200 * time.Millisecond, Handshake: time.Hour},
	}}
	got, _, err := collect(t, testContext(t, 30*time.Second), opts, targets(t, h.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	var he *handshake.Error
	r := got[h.Addr()]
	if !errors.As(r.Err, &he) || he.Step != handshake.StepConnect || !errors.Is(r.Err, context.DeadlineExceeded) || errors.Is(r.Err, crawl.ErrNotVisited) {
		t.Errorf("hanging address: %v, want the connect's deadline", r.Err)
	}
}

func TestDefaultLimits(t *testing.T) {
	t.Parallel()
	clear := crawl.Limits{Connect: 5 * time.Second, Handshake: 10 * time.Second, GetAddr: 10 * time.Second, Ping: 5 * time.Second}
	slow := crawl.Limits{Connect: 30 * time.Second, Handshake: 30 * time.Second, GetAddr: 30 * time.Second, Ping: 20 * time.Second}
	for n, want := range map[handshake.AddrNetwork]crawl.Limits{
		handshake.NetIPv4: clear, handshake.NetIPv6: clear, handshake.NetCJDNS: clear,
		handshake.NetTorV3: slow, handshake.NetI2P: slow,
	} {
		if got := crawl.DefaultLimits(n); got != want {
			t.Errorf("DefaultLimits(%v) = %+v, want %+v", n, got, want)
		}
	}
}
