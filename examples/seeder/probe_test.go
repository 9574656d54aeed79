package main

import (
	"context"
	"net"
	"net/netip"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// TestCrawlProber visits real fake nodes on loopback through the crawl
// engine: what a visit keeps, v2 chosen from the announced services, and
// gossip filtered.
func TestCrawlProber(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.7.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	p, _ := strconv.Atoi(port)
	gossip := []wire.NetAddressV2{
		*wire.NetAddressV2FromBytes(time.Now(), wire.SFNodeNetwork, netip.MustParseAddr("127.7.0.9").AsSlice(), uint16(p)),
		*wire.NetAddressV2FromBytes(time.Now(), wire.SFNodeNetwork, netip.MustParseAddr("::ffff:203.0.113.7").AsSlice(), 8333),
		*wire.NetAddressV2FromBytes(time.Now(), wire.SFNodeNetwork, netip.MustParseAddr("203.0.113.8").AsSlice(), 0),
	}
	v2 := handshaketest.Config{Addr: "127.7.0.1:" + port, V2: true, StartHeight: 870001, UserAgent: "/Satoshi:28.1.0/", Addrs: gossip}
	v1 := handshaketest.Config{Addr: "127.7.0.2:" + port, Behavior: handshaketest.Btcd, StartHeight: 870002}
	for _, cfg := range []handshaketest.Config{v2, v1} {
		peer, err := handshaketest.NewPeer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer peer.Close()
	}
	params := chaincfg.MainNetParams
	params.DefaultPort = port
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := map[string]visit{}
	var mu sync.Mutex
	pr := newCrawlProber(handshake.Options{ChainParams: &params}, 2*time.Second, false, nil, nil)
	pr.probe(ctx, []target{
		{Addr: v2.Addr, Network: "ipv4", Services: 0xc09}, // announces P2P_V2: v2 first
		{Addr: v1.Addr, Network: "ipv4", Services: 0x49},
		{Addr: "127.7.0.3:" + port, Network: "ipv4"}, // nothing listens
	}, func(v visit, visited bool) {
		mu.Lock()
		defer mu.Unlock()
		if !visited {
			t.Errorf("%s not visited", v.Addr)
		}
		got[v.Addr] = v
	})
	a := got[v2.Addr]
	if a.Status != "OK" || a.Transport != "v2" || a.StartHeight != 870001 || a.UserAgent != "/Satoshi:28.1.0/" ||
		a.ProtocolVersion != 70016 || !a.HasPing || len(a.Negotiation) == 0 {
		t.Errorf("v2 node: %+v", a)
	}
	// Only the public, ported address of the three gossiped (private ones
	// need -allow-private), unmapped.
	if len(a.Learned) != 1 || a.Learned[0] != (learned{Addr: "203.0.113.7:8333", Network: "ipv4", Services: 1}) {
		t.Errorf("learned %+v", a.Learned)
	}
	if b := got[v1.Addr]; b.Status != "OK" || b.Transport != "v1" || b.UserAgent == "" {
		t.Errorf("v1 node: %+v", b)
	}
	if c := got["127.7.0.3:"+port]; c.Status != "FAILED" || c.Err == "" {
		t.Errorf("dead address: %+v", c)
	}

	// A stopped seeder: nothing is visited, everything is reported.
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	n := 0
	pr.probe(cctx, []target{{Addr: v2.Addr, Network: "ipv4"}}, func(v visit, visited bool) {
		n++
		if visited {
			t.Errorf("visited %s after the stop", v.Addr)
		}
	})
	if n != 1 {
		t.Errorf("%d reports, want 1", n)
	}
}

func TestNegotiationBothShapes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, json string
		cmds       []string
		feats      []feature
	}{
		{"commands as features", `{"addr":"x","features":["wtxidrelay","sendaddrv2"],"received":[]}`, []string{"wtxidrelay", "sendaddrv2"}, nil},
		{"negotiation and BIP434 features", `{"negotiation":["wtxidrelay"],"features":[{"id":"utreexo","data":"00ff"}],"ignored":[{"command":"x","reason":"y"}]}`,
			[]string{"wtxidrelay"}, []feature{{ID: "utreexo", Data: "00ff"}}},
		{"negotiation, no features", `{"negotiation":[],"features":[]}`, []string{}, []feature{}},
		{"garbage", `{"features":`, nil, nil},
	} {
		cmds, feats := negotiation([]byte(c.json))
		if !reflect.DeepEqual(cmds, c.cmds) || !reflect.DeepEqual(feats, c.feats) {
			t.Errorf("%s: %q %+v, want %q %+v", c.name, cmds, feats, c.cmds, c.feats)
		}
	}
}
