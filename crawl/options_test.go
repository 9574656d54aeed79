package crawl_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

func TestParseTarget(t *testing.T) {
	t.Parallel()
	onion := "vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion"
	for _, tt := range []struct {
		in   string
		want crawl.Target
	}{
		{"203.0.113.7", crawl.Target{Addr: "203.0.113.7:8333", Network: handshake.NetIPv4}},
		{"203.0.113.7:18333", crawl.Target{Addr: "203.0.113.7:18333", Network: handshake.NetIPv4}},
		{"[::ffff:203.0.113.7]:8333", crawl.Target{Addr: "203.0.113.7:8333", Network: handshake.NetIPv4}},
		{"2001:db8::1", crawl.Target{Addr: "[2001:db8::1]:8333", Network: handshake.NetIPv6}},
		{"[fc00::1]:8333", crawl.Target{Addr: "[fc00::1]:8333", Network: handshake.NetCJDNS}},
		{onion, crawl.Target{Addr: onion + ":8333", Network: handshake.NetTorV3}},
		{"abc.b32.i2p:0", crawl.Target{Addr: "abc.b32.i2p:0", Network: handshake.NetI2P}},
		// One spelling per address, as gossip gives it.
		{"[2001:DB8:0:0::1]:8333", crawl.Target{Addr: "[2001:db8::1]:8333", Network: handshake.NetIPv6}},
		{strings.ToUpper(onion), crawl.Target{Addr: onion + ":8333", Network: handshake.NetTorV3}},
	} {
		got, err := crawl.ParseTarget(tt.in, "8333")
		if err != nil || got != tt.want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"example.com:8333", "203.0.113.7:0", "203.0.113.7:", "", "[fe80::1%eth0]:8333"} {
		if got, err := crawl.ParseTarget(bad, ""); err == nil {
			t.Errorf("ParseTarget(%q) = %+v, want an error", bad, got)
		}
	}
}

func TestCrawlInvalidOptions(t *testing.T) {
	t.Parallel()
	noPort := chaincfg.MainNetParams
	noPort.DefaultPort = ""
	for _, o := range []crawl.Options{
		{Concurrency: -1}, {MaxKnown: -1}, {MaxAddrs: -1}, {MaxVisits: -1}, {PerNetgroup: -1},
		{Limits: map[handshake.AddrNetwork]crawl.Limits{handshake.NetIPv4: {Connect: -time.Second}}},
		{Handshake: handshake.Options{ChainParams: &noPort}},
	} {
		called := false
		_, err := crawl.Crawl(t.Context(), o, targets(t, "127.0.0.1:1"), func(crawl.Result) { called = true })
		if !errors.Is(err, handshake.ErrInvalidOptions) || called {
			t.Errorf("%+v: %v, results %v; want ErrInvalidOptions and none", o, err, called)
		}
	}
}

// TestCrawlBounds: MaxDepth, MaxVisits, Seen and Admit each keep gossip
// out, and say so in the Summary.
func TestCrawlBounds(t *testing.T) {
	t.Parallel()
	cfgs := make([]handshaketest.Config, 30)
	n, err := handshaketest.NewNetwork(handshaketest.NetworkConfig{
		Peers: cfgs, FirstIP: netip.MustParseAddr("127.67.0.1"), Gossip: &handshaketest.Gossip{Seeded: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	start := targets(t, n.Addrs()[0])
	var refused []handshake.Addr
	for _, tt := range []struct {
		name    string
		opts    crawl.Options
		results int
		dropped string
	}{
		{"start only", crawl.Options{MaxDepth: -1}, 1, "depth"},
		{"max visits", crawl.Options{MaxVisits: 5}, 5, "max visits"},
		{"seen", crawl.Options{Seen: n.Addrs()[1:]}, 1, ""},
		{"admit", crawl.Options{Admit: func(a handshake.Addr) bool { refused = append(refused, a); return false }}, 1, "refused by Admit"},
	} {
		tt.opts.AllowPrivate, tt.opts.NoPing = true, true
		got, sum, err := collect(t, testContext(t, 20*time.Second), tt.opts, start)
		if err != nil || len(got) != tt.results || sum.Admitted != tt.results || (tt.dropped != "" && sum.Dropped[tt.dropped] == 0) {
			t.Errorf("%s: %v, %d results, summary %+v", tt.name, err, len(got), sum)
		}
		r := got[n.Addrs()[0]]
		if len(r.Addrs) < 12 || r.New != tt.results-1 {
			t.Errorf("%s: start node gave %d addresses, %d new", tt.name, len(r.Addrs), r.New)
		}
		if tt.name == "admit" {
			// Asked once about each new address of the answer.
			distinct := map[string]bool{}
			for _, a := range r.Addrs {
				distinct[a.String()] = a.String() != n.Addrs()[0]
			}
			want := 0
			for _, isNew := range distinct {
				if isNew {
					want++
				}
			}
			if len(refused) != want {
				t.Errorf("Admit asked about %d addresses, want %d", len(refused), want)
			}
		}
	}

	got, _, err := collect(t, testContext(t, 20*time.Second), crawl.Options{AllowPrivate: true, NoPing: true, MaxDepth: 1}, start)
	if err != nil {
		t.Fatal(err)
	}
	for a, r := range got {
		if r.Depth > 1 {
			t.Errorf("MaxDepth 1: %s at depth %d", a, r.Depth)
		}
	}
	if len(got) < 2 {
		t.Errorf("MaxDepth 1: %d results", len(got))
	}
}
