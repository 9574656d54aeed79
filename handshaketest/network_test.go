package handshaketest

import (
	"net"
	"slices"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/v2"
)

func TestNetwork(t *testing.T) {
	t.Parallel()
	n, err := NewNetwork(NetworkConfig{Peers: Mix(12), Seeds: []string{"a.test.", "b.test."}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()

	addrs := n.Addrs()
	if len(addrs) != 12 {
		t.Fatalf("%d addrs", len(addrs))
	}
	for i, a := range addrs {
		host, port, _ := net.SplitHostPort(a)
		if port != n.Port || host == "127.0.0.1" {
			t.Errorf("peer %d at %s: want a distinct loopback IP on port %s", i, a, n.Port)
		}
	}
	// Every node is named by some seed; some by both.
	seen := map[string]int{}
	for _, name := range n.Seeds {
		ips, err := n.Seed.Resolver().LookupNetIP(testContext(t), "ip4", name)
		if err != nil {
			t.Fatal(err)
		}
		for _, ip := range ips {
			seen[net.JoinHostPort(ip.String(), n.Port)]++
		}
	}
	for _, a := range addrs {
		if seen[a] == 0 {
			t.Errorf("%s is named by no seed", a)
		}
	}
	if len(seen) != len(addrs) || !slices.ContainsFunc(addrs, func(a string) bool { return seen[a] == 2 }) {
		t.Errorf("seeds name %v; want every node, some twice", seen)
	}
	p := n.Params(&chaincfg.RegressionNetParams)
	if p.DefaultPort != n.Port || len(p.DNSSeeds) != 2 || chaincfg.RegressionNetParams.DefaultPort == n.Port {
		t.Errorf("Params = port %s seeds %v", p.DefaultPort, p.DNSSeeds)
	}
}

func TestMixIsDeterministicAndMixed(t *testing.T) {
	a, b := Mix(40), Mix(40)
	count := map[Behavior]int{}
	for i := range a {
		if a[i].Behavior != b[i].Behavior || a[i].Core != b[i].Core {
			t.Fatalf("Mix differs at %d", i)
		}
		count[a[i].Behavior]++
	}
	if count[Core] != 20 || count[Silent] != 2 || count[WrongMagic] != 2 {
		t.Errorf("Mix(40) = %v", count)
	}
}
