package handshaketest

import (
	"net/netip"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"
)

// TestGossipGraph: the seed names only the seeded nodes, and every node and
// unreachable address is given by some node.
func TestGossipGraph(t *testing.T) {
	t.Parallel()
	peers := make([]Config, 60)
	for i := range peers {
		peers[i].V1Only = i%2 == 0
	}
	n, err := NewNetwork(NetworkConfig{
		Peers:   peers,
		FirstIP: netip.MustParseAddr("127.9.0.1"),
		Gossip:  &Gossip{Seeded: 2, Unreachable: 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if got := n.Seed.Records("seed.handshake.test."); len(got) != 2 {
		t.Errorf("seed lists %v, want the 2 seeded nodes", got)
	}
	given := map[string]bool{}
	advertised := map[string]wire.ServiceFlag{}
	for _, p := range n.Peers {
		advertised[p.Addr()] = p.cfg.Services
	}
	for _, p := range n.Peers {
		if len(p.cfg.Addrs) < 12 {
			t.Errorf("%s gives %d addresses", p.Addr(), len(p.cfg.Addrs))
		}
		for _, a := range p.cfg.Addrs {
			addr := netip.AddrPortFrom(netip.MustParseAddr(a.Addr.String()), a.Port).String()
			given[addr] = true
			// Gossip repeats what each node advertises, P2P_V2 included,
			// so a crawler chooses each node's transport from it.
			if s, ok := advertised[addr]; ok && a.Services != s {
				t.Errorf("%s gossiped with services %v, it advertises %v", addr, a.Services, s)
			}
		}
	}
	for _, a := range append(n.Addrs()[2:], n.Unreachable...) {
		if !given[a] {
			t.Errorf("%s is given by no node", a)
		}
	}
	if len(n.Unreachable) != 5 {
		t.Errorf("unreachable %v", n.Unreachable)
	}
}
