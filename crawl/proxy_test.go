package crawl_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

func startProxy(t *testing.T, cfg handshaketest.ProxyConfig) *handshaketest.Proxy {
	t.Helper()
	p, err := handshaketest.NewProxy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func startNode(t *testing.T, cfg handshaketest.Config) *handshaketest.Peer {
	t.Helper()
	p, err := handshaketest.NewPeer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestCrawlOverlays crawls onion and I2P nodes behind the proxy double,
// found in a clearnet node's gossip and given as start targets: the
// reachable ones are handshaken, the offline ones and a malformed name
// are failures of their own kind, and the Summary counts them by network.
func TestCrawlOverlays(t *testing.T) {
	t.Parallel()
	p := startProxy(t, handshaketest.ProxyConfig{Delay: 20 * time.Millisecond})
	onionNode := startNode(t, handshaketest.Config{})
	i2pNode := startNode(t, handshaketest.Config{V1Only: true})
	up, offline := handshaketest.OnionName(1), handshaketest.OnionName(2)
	p.Set(up, handshaketest.Route{Target: onionNode.Addr()})
	p.Set(handshaketest.I2PName(1), handshaketest.Route{Target: i2pNode.Addr()})

	now := time.Now()
	upKey, offKey := handshaketest.OnionKey(1), handshaketest.OnionKey(2)
	gossiper := startNode(t, handshaketest.Config{Addrs: []wire.NetAddressV2{
		*wire.NetAddressV2FromBytes(now, wire.SFNodeNetwork|wire.SFNodeP2PV2, upKey[:], 8333),
		*wire.NetAddressV2FromBytes(now, wire.SFNodeNetwork, offKey[:], 8333),
	}})

	start := targets(t, gossiper.Addr(), handshaketest.I2PName(1)+":0", handshaketest.I2PName(2)+":0")
	bad := up[:5] + strings.ToUpper(up[5:6]) + "x" + up[7:] // right length, bad checksum
	start = append(start, crawl.Target{Addr: bad + ":8333", Network: handshake.NetTorV3})

	got, sum, err := collect(t, testContext(t, 20*time.Second), crawl.Options{
		AllowPrivate: true,
		// The fake nodes give no addresses: no need to wait for them.
		Limits: map[handshake.AddrNetwork]crawl.Limits{
			handshake.NetTorV3: {GetAddr: 200 * time.Millisecond},
			handshake.NetI2P:   {GetAddr: 200 * time.Millisecond},
		},
		Tor: &handshake.TorOptions{Proxies: []string{p.SOCKSAddr()}},
		I2P: &handshake.I2POptions{SAM: p.SAMAddr()},
	}, start)
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{
		up + ":8333":                    "",
		offline + ":8333":               "onion-not-found",
		handshaketest.I2PName(1) + ":0": "",
		handshaketest.I2PName(2) + ":0": "i2p-not-found",
		strings.ToLower(bad) + ":8333":  "",
		bad + ":8333":                   "invalid-address",
	} {
		r, ok := got[addr]
		if !ok {
			if want != "" || addr != strings.ToLower(bad)+":8333" {
				t.Errorf("%s: no result", addr)
			}
			continue
		}
		if k := handshake.ErrorKind(r.Err); k != want {
			t.Errorf("%s: kind %q (%v), want %q", addr, k, r.Err, want)
		}
	}
	// The connect through the proxy counts its circuit's set-up, and the
	// handshake's timings follow it.
	if r := got[up+":8333"]; r.Handshake == nil || r.Handshake.Timings.Connect < 20*time.Millisecond ||
		r.Handshake.Timings.PeerVerack < r.Handshake.Timings.Connect || r.Handshake.Timings.Total < r.Handshake.Timings.PeerVerack {
		t.Errorf("onion timings %+v, want a connect of 20 ms or more first", r.Handshake)
	}
	onion, i2p := sum.Networks[handshake.NetTorV3], sum.Networks[handshake.NetI2P]
	if onion.Admitted != 3 || onion.OK != 1 || onion.Failed != 2 || onion.V2 != 1 ||
		onion.Failures["onion-not-found"] != 1 || onion.Failures["invalid-address"] != 1 {
		t.Errorf("onion summary %+v", onion)
	}
	if i2p.Admitted != 2 || i2p.Reachable() != 1 || i2p.V2 != 0 || i2p.V2Share() != 0 || i2p.Failures["i2p-not-found"] != 1 {
		t.Errorf("i2p summary %+v", i2p)
	}
	if ipv4 := sum.Networks[handshake.NetIPv4]; ipv4.Reachable() != 1 || ipv4.V2Share() != 1 {
		t.Errorf("ipv4 summary %+v", ipv4)
	}
	if sum.Failures["onion-not-found"] != 1 || sum.Failures["i2p-not-found"] != 1 || sum.Failures["invalid-address"] != 1 || sum.Failed != 3 {
		t.Errorf("failures %v, %d failed", sum.Failures, sum.Failed)
	}
	// Two onion names, the offline I2P name, and the v1-only I2P node
	// twice (v2, then v1): never the malformed name.
	if n := p.Requests(); n != 5 {
		t.Errorf("the proxy had %d requests, want 5", n)
	}
}

// TestCrawlProxyDown: behind a dead Tor, every onion address is reported
// not visited, and the proxy once in the Summary, not as dead nodes.
func TestCrawlProxyDown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	var start []crawl.Target
	for i := range 50 {
		start = append(start, targets(t, handshaketest.OnionName(i)+":8333")...)
	}
	got, sum, err := collect(t, testContext(t, 20*time.Second), crawl.Options{
		Tor: &handshake.TorOptions{Proxies: []string{dead}},
	}, start)
	if err != nil {
		t.Fatal(err)
	}
	if sum.ProxiesDown[dead] != 50 || len(sum.ProxiesDown) != 1 || sum.NotVisited != 50 || sum.Failed != 0 || len(sum.Failures) != 0 {
		t.Errorf("summary: %d not visited, %d failed, proxies down %v, failures %v", sum.NotVisited, sum.Failed, sum.ProxiesDown, sum.Failures)
	}
	if n := sum.Networks[handshake.NetTorV3].NotVisited; n != 50 {
		t.Errorf("%d onion addresses not visited, want 50", n)
	}
	for addr, r := range got {
		if !errors.Is(r.Err, crawl.ErrNotVisited) || !errors.Is(r.Err, handshake.ErrProxyDown) {
			t.Errorf("%s: %v, want not visited, proxy down", addr, r.Err)
		}
	}
}

// TestCrawlOverlaysSkipped: without Tor, I2P or CJDNSReachable, their
// addresses are skipped, as before.
func TestCrawlOverlaysSkipped(t *testing.T) {
	t.Parallel()
	start := targets(t, handshaketest.OnionName(1)+":8333", handshaketest.I2PName(1)+":0", "[fc00::1]:8333")
	got, sum, err := collect(t, testContext(t, 5*time.Second), crawl.Options{}, start)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped != 3 || len(got) != 3 {
		t.Fatalf("%d skipped of %d", sum.Skipped, len(got))
	}
	for _, n := range []handshake.AddrNetwork{handshake.NetTorV3, handshake.NetI2P, handshake.NetCJDNS} {
		if sum.Networks[n].Skipped != 1 {
			t.Errorf("%v: %+v", n, sum.Networks[n])
		}
	}
}

// TestCrawlNetworkConcurrency: the visits in flight to one network stay
// within its cap, counted at its proxy, while the others go on.
func TestCrawlNetworkConcurrency(t *testing.T) {
	t.Parallel()
	p := startProxy(t, handshaketest.ProxyConfig{Delay: 30 * time.Millisecond})
	var start []crawl.Target
	for i := range 12 {
		start = append(start, targets(t, handshaketest.OnionName(i)+":8333")...) // all offline
	}
	clear := startNode(t, handshaketest.Config{})
	start = append(start, targets(t, clear.Addr())...)
	_, sum, err := collect(t, testContext(t, 20*time.Second), crawl.Options{
		AllowPrivate:       true,
		Concurrency:        20,
		Limits:             map[handshake.AddrNetwork]crawl.Limits{handshake.NetIPv4: {GetAddr: 200 * time.Millisecond}},
		NetworkConcurrency: map[handshake.AddrNetwork]int{handshake.NetTorV3: 3},
		Tor:                &handshake.TorOptions{Proxies: []string{p.SOCKSAddr()}},
	}, start)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.MaxPending(); got != 3 {
		t.Errorf("%d onion visits at once at the proxy, want 3", got)
	}
	if onion := sum.Networks[handshake.NetTorV3]; onion.Failures["onion-not-found"] != 12 {
		t.Errorf("onion: %+v", onion)
	}
	if sum.OK != 1 {
		t.Errorf("%d OK, want the clearnet node", sum.OK)
	}
}
