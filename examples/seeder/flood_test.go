package main

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// TestGossipFlood: peers that answer getaddr with a thousand invented
// addresses each, at every visit, cannot grow the table past its cap; the
// excess is dropped and counted, and the database never holds more.
func TestGossipFlood(t *testing.T) {
	t.Parallel()
	const maxNodes, floods = 300, 4
	l, err := net.Listen("tcp", "127.4.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	p, _ := strconv.Atoi(port)
	var peers []*handshaketest.Peer
	var start []string
	for i := range floods {
		var addrs []wire.NetAddressV2
		for j := range 1000 {
			// Loopback addresses where nothing listens: visiting them
			// costs a refused connection on this machine and nothing else.
			ip := netip.AddrFrom4([4]byte{127, 5 + byte(i), byte(j / 250), byte(j%250 + 1)})
			addrs = append(addrs, *wire.NetAddressV2FromBytes(time.Now(), wire.SFNodeNetwork, ip.AsSlice(), uint16(p)))
		}
		peer, err := handshaketest.NewPeer(handshaketest.Config{Addr: net.JoinHostPort(netip.AddrFrom4([4]byte{127, 4, 0, byte(i + 1)}).String(), port), Addrs: addrs})
		if err != nil {
			t.Fatal(err)
		}
		defer peer.Close()
		peers = append(peers, peer)
		start = append(start, peer.Addr())
	}
	params := chaincfg.MainNetParams
	params.DefaultPort = port
	visits := make(chan visit, 1024)
	s := testSeeder(t, &params, maxNodes, 50*time.Millisecond, func(v visit) {
		select {
		case visits <- v:
		default:
		}
	})
	s.addStart(context.Background(), start, handshakeSeedsNone(&params))
	stop := runSeeder(s)
	// Each flooding peer visited three times: 12,000 addresses offered.
	seen := map[string]int{}
	highest := 0
	timeout := time.After(time.Minute)
	for done := 0; done < floods; {
		select {
		case v := <-visits:
			highest = max(highest, s.table.len())
			if len(v.Learned) == 1000 {
				if seen[v.Addr]++; seen[v.Addr] == 3 {
					done++
				}
			}
		case <-timeout:
			stop()
			t.Fatalf("the flooding peers were not visited three times each in a minute: %v", seen)
		}
	}
	stop()
	_, c := s.table.snapshot(time.Now())
	if highest > maxNodes || s.table.len() > maxNodes {
		t.Errorf("table reached %d nodes (now %d), cap %d", highest, s.table.len(), maxNodes)
	}
	if c.dropped < 1000 {
		t.Errorf("%d addresses dropped, want the flood's excess (over 1000)", c.dropped)
	}
	// The operator sees it: the metric counts what was refused.
	s.refresh()
	mfs, err := s.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var dropped float64 = -1
	for _, mf := range mfs {
		if mf.GetName() == "seeder_addresses_dropped" {
			dropped = mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	if dropped < float64(c.dropped) {
		t.Errorf("seeder_addresses_dropped %v, want at least %d", dropped, c.dropped)
	}
	var rows int
	s.store.db.QueryRow("SELECT count(*) FROM nodes").Scan(&rows)
	if rows > maxNodes || rows == 0 {
		t.Errorf("database holds %d nodes, cap %d", rows, maxNodes)
	}
	for _, p := range peers {
		if p.Accepted() < 3 {
			t.Errorf("peer %s accepted %d connections", p.Addr(), p.Accepted())
		}
	}
}
