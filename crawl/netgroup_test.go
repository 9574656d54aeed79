package crawl_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// groupDialer dials the loopback node standing in for each address (so no
// traffic leaves loopback) and counts the visits open at once per network
// group of the address dialled, as Bitcoin Core groups it.
type groupDialer struct {
	to         map[string]string // address dialled -> loopback node
	mu         sync.Mutex
	open, most map[string]int
}

func (d *groupDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	node, ok := d.to[addr]
	if !ok {
		return nil, fmt.Errorf("test dialer: %s not dialled", addr)
	}
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, node)
	if err != nil {
		return nil, err
	}
	g := handshake.IPNetGroup(netip.MustParseAddrPort(addr).Addr()).String()
	d.mu.Lock()
	d.open[g]++
	d.most[g] = max(d.most[g], d.open[g])
	d.mu.Unlock()
	return &countedConn{Conn: c, done: func() {
		d.mu.Lock()
		d.open[g]--
		d.mu.Unlock()
	}}, nil
}

// TestCrawlNetgroupCap: with PerNetgroup 2, no network group ever has more
// than two visits at once, though the concurrency would allow more, and
// the crawl still reaches everything. The groups are Core's: 1.2/16 and
// 1.3/16 are two, and the private addresses, 10/8 and 192.168/16 alike,
// are one (unroutable).
func TestCrawlNetgroupCap(t *testing.T) {
	t.Parallel()
	cfgs := make([]handshaketest.Config, 24)
	for i := range cfgs {
		cfgs[i] = handshaketest.Config{Delay: 50 * time.Millisecond} // visits overlap
	}
	n, err := handshaketest.NewNetwork(handshaketest.NetworkConfig{Peers: cfgs, FirstIP: netip.MustParseAddr("127.65.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	_, port, _ := net.SplitHostPort(n.Addrs()[0])
	var addrs []string
	to := map[string]string{}
	for i, node := range n.Addrs() {
		host := [...]string{"1.2.0.%d", "1.3.0.%d", "10.0.0.%d", "192.168.0.%d"}[i%4]
		a := net.JoinHostPort(fmt.Sprintf(host, i+1), port)
		addrs, to[a] = append(addrs, a), node
	}
	want := map[string]bool{"ipv4:0102": true, "ipv4:0103": true, "unroutable": true}
	for _, cap := range []int{2, 0} {
		d := &groupDialer{to: to, open: map[string]int{}, most: map[string]int{}}
		opts := crawl.Options{Concurrency: 24, PerNetgroup: cap, NoPing: true,
			Dialers: map[handshake.AddrNetwork]handshake.Dialer{handshake.NetIPv4: d},
			// The nodes know no address: do not wait for an answer.
			Limits: map[handshake.AddrNetwork]crawl.Limits{handshake.NetIPv4: {GetAddr: 100 * time.Millisecond}}}
		got, sum, err := collect(t, testContext(t, 20*time.Second), opts, targets(t, addrs...))
		if err != nil || len(got) != len(addrs) || sum.OK != len(addrs) {
			t.Fatalf("cap %d: %d results, %d OK, %v", cap, len(got), sum.OK, err)
		}
		if len(d.most) != len(want) {
			t.Errorf("cap %d: groups %v, want %v", cap, d.most, want)
		}
		for g, most := range d.most {
			if !want[g] || cap > 0 && most != cap || cap == 0 && most <= 2 {
				t.Errorf("cap %d: %s had %d visits at once", cap, g, most)
			}
		}
	}
}
