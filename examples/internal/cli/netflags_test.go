package cli

import (
	"flag"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
)

func parseNet(t *testing.T, args ...string) (*Net, error) {
	t.Helper()
	var n Net
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	n.Register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &n, n.Check()
}

// TestNetFlags: the flags become the library's options as Core's do:
// isolation on unless -proxyrandomize=false, -onion the same list as
// -proxy, the per-proxy cap passed on, and the crawl's visits to onion
// and I2P capped at twice what their proxies take at once.
func TestNetFlags(t *testing.T) {
	n, err := parseNet(t, "-proxy", "127.0.0.1:9050", "-onion", "127.0.0.1:9150", "-proxy-max-pending", "8",
		"-i2psam", "127.0.0.1:7656", "-cjdnsreachable")
	if err != nil {
		t.Fatal(err)
	}
	var o crawl.Options
	n.Crawl(&o)
	wantTor := &handshake.TorOptions{Proxies: []string{"127.0.0.1:9050", "127.0.0.1:9150"}, MaxPending: 8}
	if !reflect.DeepEqual(o.Tor, wantTor) || !reflect.DeepEqual(o.I2P, &handshake.I2POptions{SAM: "127.0.0.1:7656", MaxPending: 8}) || !o.CJDNSReachable {
		t.Errorf("crawl options: Tor %+v, I2P %+v, CJDNS %v", o.Tor, o.I2P, o.CJDNSReachable)
	}
	if want := map[handshake.AddrNetwork]int{handshake.NetTorV3: 32, handshake.NetI2P: 16}; !maps.Equal(o.NetworkConcurrency, want) {
		t.Errorf("NetworkConcurrency %v, want %v", o.NetworkConcurrency, want)
	}
	d, end, err := n.Dialers()
	if err != nil {
		t.Fatal(err)
	}
	defer end()
	if len(d) != 3 || d[handshake.NetTorV3] == nil || d[handshake.NetI2P] == nil || d[handshake.NetCJDNS] == nil {
		t.Errorf("dialers %v", d)
	}

	n, _ = parseNet(t, "-proxy", "127.0.0.1:9050", "-proxyrandomize=false")
	if tor := n.Tor(); tor == nil || !tor.NoIsolation || n.I2P() != nil || len(n.Concurrency()) != 1 {
		t.Errorf("-proxyrandomize=false: %+v, I2P %+v", tor, n.I2P())
	}
	n, _ = parseNet(t)
	if n.Tor() != nil || n.I2P() != nil || !strings.Contains(n.Describe(), "onion not reached (no -proxy)") {
		t.Errorf("no flags: %+v %+v %q", n.Tor(), n.I2P(), n.Describe())
	}
}

// TestNetReachable: command-line addresses of networks without a way to
// them are counted out by network; an I2P name alone gets port 0.
func TestNetReachable(t *testing.T) {
	i2p, ip4 := strings.Repeat("a", 52)+".b32.i2p", "203.0.113.7:8333"
	n, _ := parseNet(t, "-i2psam", "127.0.0.1:7656")
	keep, skipped := n.Reachable([]string{i2p, ip4, "[fc00::1]:8333", "seed.example.com"})
	if !reflect.DeepEqual(keep, []string{i2p + ":0", ip4, "seed.example.com"}) || !maps.Equal(skipped, map[string]int{"cjdns": 1}) {
		t.Errorf("kept %q, skipped %v", keep, skipped)
	}
}
