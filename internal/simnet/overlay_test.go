package simnet_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
	"go.uber.org/goleak"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
	"github.com/bitcoin-handshake/handshake/internal/simnet"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestOverlayCrawled crawls an overlay from its seeds through its proxy:
// every node of every network is found with one connection each, the
// offline names fail as Tor and I2P say they do, and the clearnet
// addresses given are gossiped.
func TestOverlayCrawled(t *testing.T) {
	clear := simnet.IPAddr(netip.MustParseAddr("127.0.0.1"), 1, wire.SFNodeNetwork) // nothing listens on port 1
	o, err := simnet.NewOverlay(simnet.OverlayConfig{
		IPv6: 6, Onion: 10, I2P: 5, DeadOnion: 4, DeadI2P: 3,
		DelayMin: time.Millisecond, DelayMax: 20 * time.Millisecond,
		SetupMin: time.Millisecond, SetupMax: 50 * time.Millisecond,
		Clearnet: []simnet.Addr{clear},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	wantIPv6 := 6
	if o.NoIPv6 != nil {
		t.Logf("IPv6 part not run: %v", o.NoIPv6)
		wantIPv6 = 0
	}
	var start []crawl.Target
	for _, s := range o.Seeds {
		tg, err := crawl.ParseTarget(s, "")
		if err != nil {
			t.Fatal(err)
		}
		start = append(start, tg)
	}
	opts := crawl.Options{
		AllowPrivate: true,
		Tor:          &handshake.TorOptions{Proxies: []string{o.Proxy.SOCKSAddr()}},
		I2P:          &handshake.I2POptions{SAM: o.Proxy.SAMAddr()},
	}
	results := map[string]int{}
	sum, err := crawl.Crawl(context.Background(), opts, start, func(r crawl.Result) { results[r.Addr]++ })
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[handshake.AddrNetwork]int{handshake.NetIPv6: wantIPv6, handshake.NetTorV3: 10, handshake.NetI2P: 5} {
		if got := sum.Networks[n].Reachable(); got != want || len(o.Addrs[n]) != want {
			t.Errorf("%v: %d reachable found, %d listed; want %d", n, got, len(o.Addrs[n]), want)
		}
	}
	if f := sum.Networks[handshake.NetTorV3].Failures["onion-not-found"]; f != 4 {
		t.Errorf("%d offline onion names failed as not found, want 4 (%v)", f, sum.Networks[handshake.NetTorV3].Failures)
	}
	if f := sum.Networks[handshake.NetI2P].Failures["i2p-not-found"]; f != 3 {
		t.Errorf("%d offline I2P names failed as not found, want 3 (%v)", f, sum.Networks[handshake.NetI2P].Failures)
	}
	if results[clear.Addr] != 1 {
		t.Errorf("the clearnet address given was visited %d times, want once", results[clear.Addr])
	}
	for a, n := range results {
		if n != 1 {
			t.Errorf("%s: %d results", a, n)
		}
	}
	if got, want := o.Accepted(), wantIPv6+15; got != want {
		t.Errorf("the nodes accepted %d connections, want %d: one per node", got, want)
	}
	if got, want := o.Proxy.Requests(), 15+7; got != want {
		t.Errorf("the proxy had %d requests, want %d: one per name", got, want)
	}
}

// TestOverlayDelays checks that a node answers after its delay: a crawl
// of one IPv6 node whose delay is at least 200 ms takes that long.
func TestOverlayDelays(t *testing.T) {
	o, err := simnet.NewOverlay(simnet.OverlayConfig{IPv6: 1, DelayMin: 200 * time.Millisecond, DelayMax: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.NoIPv6 != nil {
		t.Skipf("no [::1] on this host, so no IPv6 node to time: %v", o.NoIPv6)
	}
	tg, _ := crawl.ParseTarget(o.Seeds[0], "")
	var res crawl.Result
	if _, err := crawl.Crawl(context.Background(), crawl.Options{AllowPrivate: true, MaxDepth: -1}, []crawl.Target{tg},
		func(r crawl.Result) { res = r }); err != nil {
		t.Fatal(err)
	}
	if res.Status != handshake.StatusOK || res.Handshake == nil {
		t.Fatalf("visit: %v %v", res.Status, res.Err)
	}
	if res.Elapsed < 200*time.Millisecond {
		t.Errorf("the visit took %v, less than the node's delay", res.Elapsed)
	}
}
