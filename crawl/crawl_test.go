package crawl_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
	"go.uber.org/goleak"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// collect runs Crawl and returns its Results by address, failing the test
// on an address reported twice.
func collect(t *testing.T, ctx context.Context, opts crawl.Options, start []crawl.Target) (map[string]crawl.Result, crawl.Summary, error) {
	t.Helper()
	got := map[string]crawl.Result{}
	var mu sync.Mutex // fn is never called concurrently: the race detector checks that claim
	sum, err := crawl.Crawl(ctx, opts, start, func(r crawl.Result) {
		if !mu.TryLock() {
			t.Error("fn called concurrently")
			return
		}
		defer mu.Unlock()
		if _, dup := got[r.Addr]; dup {
			t.Errorf("%s reported twice", r.Addr)
		}
		got[r.Addr] = r
	})
	return got, sum, err
}

func targets(t *testing.T, addrs ...string) []crawl.Target {
	t.Helper()
	ts := make([]crawl.Target, len(addrs))
	for i, a := range addrs {
		var err error
		if ts[i], err = crawl.ParseTarget(a, ""); err != nil {
			t.Fatal(err)
		}
	}
	return ts
}

// TestCrawlNetwork crawls a gossip graph from two of its nodes: every node
// is found and reported once, completed, pinged and harvested; every
// address where nothing listens reported once as failed; every node
// reached through gossip connected to once, over the transport its
// gossiped services name (v2 with NODE_P2P_V2, v1 without).
func TestCrawlNetwork(t *testing.T) {
	t.Parallel()
	cfgs := make([]handshaketest.Config, 40)
	for i := range cfgs {
		cfgs[i] = handshaketest.Config{V2: i%4 == 0, V1Only: i%4 != 0}
	}
	n, err := handshaketest.NewNetwork(handshaketest.NetworkConfig{
		Peers: cfgs, FirstIP: netip.MustParseAddr("127.61.0.1"),
		Gossip: &handshaketest.Gossip{Seeded: 2, Unreachable: 6},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	got, sum, err := collect(t, testContext(t, 30*time.Second), crawl.Options{AllowPrivate: true, Concurrency: 8},
		targets(t, n.Addrs()[0], n.Addrs()[1], n.Addrs()[0]))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range n.Peers {
		r := got[p.Addr()]
		if r.Status != handshake.StatusOK || r.Err != nil || r.Ping <= 0 || len(r.Addrs) < 12 || r.Handshake == nil {
			t.Errorf("node %s: %v, err %v, ping %v, %d addresses", p.Addr(), r.Status, r.Err, r.Ping, len(r.Addrs))
			continue
		}
		if i < 2 {
			continue // start targets: services unknown, v2 tried first
		}
		want := handshake.TransportV1
		if i%4 == 0 {
			want = handshake.TransportV2
		}
		if r.Depth < 1 || r.Handshake.Transport != want || p.Accepted() != 1 {
			t.Errorf("node %s: depth %d over %v, %d connections; want gossip's %v, once", p.Addr(), r.Depth, r.Handshake.Transport, p.Accepted(), want)
		}
	}
	for _, a := range n.Unreachable {
		if r := got[a]; r.Status != handshake.StatusFailed || r.Err == nil || errors.Is(r.Err, crawl.ErrNotVisited) {
			t.Errorf("dead %s: %v, %v", a, r.Status, r.Err)
		}
	}
	if want := len(n.Peers) + len(n.Unreachable); len(got) != want || sum.Admitted != want || sum.Visited != want ||
		sum.OK != len(n.Peers) || sum.Failed != len(n.Unreachable) || sum.NotVisited != 0 || sum.Known != want ||
		len(sum.Dropped) != 0 {
		t.Errorf("%d results, summary %+v; want %d addresses", len(got), sum, want)
	}
}

// TestCrawlTransportChoice: the transport follows the gossiped services.
func TestCrawlTransportChoice(t *testing.T) {
	t.Parallel()
	start := func(cfg handshaketest.Config) *handshaketest.Peer {
		p, err := handshaketest.NewPeer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	v1 := start(handshaketest.Config{Addr: "127.62.0.1:0", V1Only: true})
	v2 := start(handshaketest.Config{Addr: "127.62.0.2:0", V2: true})
	stale := start(handshaketest.Config{Addr: "127.62.0.3:0", V1Only: true}) // gossiped as v2
	na := func(p *handshaketest.Peer, s wire.ServiceFlag) wire.NetAddressV2 {
		ap := netip.MustParseAddrPort(p.Addr())
		return *wire.NetAddressV2FromBytes(time.Now(), s, ap.Addr().AsSlice(), ap.Port())
	}
	base := wire.SFNodeNetwork | wire.SFNodeWitness
	gossip := []wire.NetAddressV2{na(v1, base), na(v2, base|wire.SFNodeP2PV2), na(stale, base|wire.SFNodeP2PV2)}
	for len(gossip) < 11 { // an answer to getaddr, not relayed gossip
		gossip = append(gossip, gossip[len(gossip)%3])
	}
	seed := start(handshaketest.Config{Addr: "127.62.0.4:0", Addrs: gossip, V1Only: true})
	got, _, err := collect(t, testContext(t, 20*time.Second), crawl.Options{AllowPrivate: true}, targets(t, seed.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		p        *handshaketest.Peer
		want     handshake.Transport
		conns    int
		fallback bool
	}{
		{seed, handshake.TransportV1, 2, true}, // unknown services: v2 first, then v1
		{v1, handshake.TransportV1, 1, false},
		{v2, handshake.TransportV2, 1, false},
		{stale, handshake.TransportV1, 2, true}, // as Bitcoin Core reconnects in v1
	} {
		r := got[tt.p.Addr()]
		if r.Handshake == nil || r.Status != handshake.StatusOK {
			t.Errorf("%s: %v %v", tt.p.Addr(), r.Status, r.Err)
			continue
		}
		if r.Handshake.Transport != tt.want || tt.p.Accepted() != tt.conns || (r.Handshake.Fallback != "") != tt.fallback {
			t.Errorf("%s: over %v with fallback %q, %d connections; want %v, %d", tt.p.Addr(),
				r.Handshake.Transport, r.Handshake.Fallback, tt.p.Accepted(), tt.want, tt.conns)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d results, want 4", len(got))
	}
}

// countingDialer counts the connections open at once per /16.
type countingDialer struct {
	mu       sync.Mutex
	open     map[string]int
	most     map[string]int
	attempts map[string]int // dials per address
	refuse   bool           // fail every dial, sending nothing
}

func newCountingDialer() *countingDialer {
	return &countingDialer{open: map[string]int{}, most: map[string]int{}, attempts: map[string]int{}}
}

func (d *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.attempts[addr]++
	d.mu.Unlock()
	if d.refuse || !ap.Addr().IsLoopback() {
		// Never traffic past loopback, whatever the gossip says.
		return nil, fmt.Errorf("test dialer: %s not dialled", addr)
	}
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	g, _ := ap.Addr().Prefix(16)
	d.mu.Lock()
	d.open[g.String()]++
	d.most[g.String()] = max(d.most[g.String()], d.open[g.String()])
	d.mu.Unlock()
	return &countedConn{Conn: c, done: func() {
		d.mu.Lock()
		d.open[g.String()]--
		d.mu.Unlock()
	}}, nil
}

type countedConn struct {
	net.Conn
	once sync.Once
	done func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.done)
	return c.Conn.Close()
}

// addrV2Entry encodes one BIP 155 entry: time, services, network id,
// address, port.
func addrV2Entry(netID byte, addr []byte, port uint16) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(time.Now().Unix()))
	b = append(b, byte(wire.SFNodeNetwork), netID, byte(len(addr)))
	b = append(b, addr...)
	return binary.BigEndian.AppendUint16(b, port)
}

// hostileGossip is an answer to getaddr meant to blow the crawl's state
// up: 3,000 addresses, of which the first 1,000 hold duplicates, port 0,
// private ranges, non-loopback public addresses, and onion, I2P and CJDNS
// ones.
func hostileGossip(self netip.AddrPort) [][]byte {
	var out [][]byte
	for i := range 100 {
		out = append(out,
			addrV2Entry(1, self.Addr().AsSlice(), self.Port()), // itself, over and over
			addrV2Entry(1, []byte{10, 0, byte(i), 1}, 8333),
			addrV2Entry(1, []byte{192, 168, 0, byte(i)}, 8333),
			addrV2Entry(1, []byte{198, 51, 100, byte(i)}, 0),
			addrV2Entry(1, []byte{203, 0, 113, byte(i)}, 8333), // public: dialled once each
			addrV2Entry(1, []byte{203, 0, 113, byte(i)}, 8333), // and again
			addrV2Entry(4, append([]byte{byte(i)}, make([]byte, 31)...), 8333),
			addrV2Entry(5, append([]byte{byte(i)}, make([]byte, 31)...), 0), // I2P: port 0 by BIP 155
			addrV2Entry(6, append([]byte{0xfc, byte(i)}, make([]byte, 14)...), 8333),
			addrV2Entry(1, []byte{127, 0, 0, byte(i + 1)}, 8333),
		)
	}
	for len(out) < 3000 {
		out = append(out, addrV2Entry(1, []byte{203, 0, 114, byte(len(out))}, 8333))
	}
	return out
}

// gossipPeer completes a v1 handshake, answers pings, and answers getaddr
// with entries in addrv2 messages of up to 1,000.
func gossipPeer(entries func(self netip.AddrPort) [][]byte) handshaketest.Config {
	return handshaketest.Config{Handler: func(ctx context.Context, c *handshaketest.Conn) error {
		if _, err := c.Accept(); err != nil {
			return err
		}
		for {
			cmd, payload, err := c.ReadMessage()
			if err != nil {
				return err
			}
			switch cmd {
			case wire.CmdPing:
				err = c.WriteCommand(wire.CmdPong, payload)
			case wire.CmdGetAddr:
				all := entries(netip.MustParseAddrPort(c.Net().LocalAddr().String()))
				for len(all) > 0 && err == nil {
					n := min(len(all), wire.MaxAddrPerMsg)
					var msg bytes.Buffer
					wire.WriteVarInt(&msg, 0, uint64(n))
					for _, e := range all[:n] {
						msg.Write(e)
					}
					err, all = c.WriteCommand(wire.CmdAddrV2, msg.Bytes()), all[n:]
				}
			}
			if err != nil {
				return err
			}
		}
	}}
}

func TestCrawlHostileGossip(t *testing.T) {
	t.Parallel()
	cfg := gossipPeer(hostileGossip)
	cfg.Addr = "127.65.0.1:0"
	p, err := handshaketest.NewPeer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	d := newCountingDialer()
	opts := crawl.Options{Dialers: map[handshake.AddrNetwork]handshake.Dialer{handshake.NetIPv4: d}}
	got, sum, err := collect(t, testContext(t, 20*time.Second), opts, targets(t, p.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	r := got[p.Addr()]
	if len(r.Addrs) != crawl.DefaultMaxAddrs || !errors.Is(r.Err, handshake.ErrLimitExceeded) {
		t.Errorf("flooding node: %d addresses, %v; want the first %d and ErrLimitExceeded", len(r.Addrs), r.Err, crawl.DefaultMaxAddrs)
	}
	counts := map[string]int{}
	for _, r := range got {
		switch {
		case r.Skipped != "":
			counts["skipped "+r.Network.String()]++
		case r.Network == handshake.NetIPv4 && strings.HasPrefix(r.Addr, "203.0.113."):
			counts["public"]++
			if d.attempts[r.Addr] != 1 {
				t.Errorf("%s dialled %d times", r.Addr, d.attempts[r.Addr])
			}
		}
	}
	// The first 1,000 hold 100 each of onion, I2P and CJDNS, and 100
	// distinct public addresses; the rest of the 3,000 was cut off.
	want := map[string]int{"skipped onion": 100, "skipped i2p": 100, "skipped cjdns": 100, "public": 100}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%s: %d, want %d", k, counts[k], v)
		}
	}
	if r.New != 400 || sum.Admitted != 401 || len(got) != 401 || sum.Skipped != 300 || sum.Given != 1000 ||
		sum.Dropped["private"] != 300 || sum.Dropped["port 0"] != 100 {
		t.Errorf("%d new, %d results, summary %+v", r.New, len(got), sum)
	}

	// A small MaxKnown bounds what is remembered.
	got, sum, err = collect(t, testContext(t, 20*time.Second), crawl.Options{MaxKnown: 50, NoPing: true,
		Dialers: map[handshake.AddrNetwork]handshake.Dialer{handshake.NetIPv4: newCountingDialer()}}, targets(t, p.Addr()))
	if err != nil || sum.Known != 50 || sum.Dropped["max known"] == 0 || len(got) > 50 {
		t.Errorf("MaxKnown 50: %v, %d results, summary %+v", err, len(got), sum)
	}
}

// TestCrawlLongQueue: thousands of addresses queue up behind a few slots
// (the test dialer fails them without a packet sent); each is visited
// once however far the queue's head runs ahead of its end.
func TestCrawlLongQueue(t *testing.T) {
	t.Parallel()
	const n = 5000
	cfg := gossipPeer(func(netip.AddrPort) [][]byte {
		var out [][]byte
		for i := range n {
			out = append(out, addrV2Entry(1, []byte{203, 0, byte(i >> 8), byte(i)}, 8333))
		}
		return out
	})
	cfg.Addr = "127.65.0.2:0"
	p, err := handshaketest.NewPeer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	d := newCountingDialer()
	var order []string
	opts := crawl.Options{Concurrency: 2, MaxAddrs: n, NoPing: true,
		Dialers: map[handshake.AddrNetwork]handshake.Dialer{handshake.NetIPv4: d}}
	sum, err := crawl.Crawl(testContext(t, 30*time.Second), opts, targets(t, p.Addr()), func(r crawl.Result) {
		order = append(order, r.Addr)
	})
	if err != nil || sum.Admitted != n+1 || len(order) != n+1 {
		t.Fatalf("%v: %d results, summary %+v", err, len(order), sum)
	}
	seen := map[string]bool{}
	for _, a := range order {
		if seen[a] {
			t.Errorf("%s reported twice", a)
		}
		seen[a] = true
	}
	for i := range n {
		if a := fmt.Sprintf("203.0.%d.%d:8333", i>>8, i&0xff); !seen[a] || d.attempts[a] != 1 {
			t.Errorf("%s: reported %v, dialled %d times", a, seen[a], d.attempts[a])
		}
	}
}
