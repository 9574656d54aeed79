package handshaketest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
)

// Gossip makes a simulated network reachable only through address gossip,
// for testing crawlers offline: the DNS seed lists a handful of nodes, and
// every node answers getaddr with some others, so that each node can be
// found from the seeded ones by following the answers. The graph is the
// same for the same configuration.
type Gossip struct {
	// Seeded is how many nodes, the first ones, the DNS seed lists.
	// Default: 4.
	Seeded int

	// Fanout is how many addresses a node gives, at least: up to
	// Fanout-2 are its children in a tree rooted at the seeded nodes,
	// which makes every node reachable, and the rest are picked at random
	// among all the nodes and unreachable addresses, so that crawlers
	// meet each address many times. Default: 12, more than the 10 Bitcoin
	// Core relays as gossip, so that an answer looks like the answer to a
	// getaddr; the least is 3.
	Fanout int

	// Unreachable is how many addresses, on loopback IPs after the nodes'
	// where nothing listens, are gossiped along with the nodes: each is
	// given by at least one node. Default: 0.
	Unreachable int
}

// freePort returns a port free on ip now, for a network whose gossip must
// name the port before the nodes listen on it.
func freePort(ip netip.Addr) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

// gossipGraph returns, for each node, the addresses it gives, and the
// unreachable addresses' IPs. ips holds the nodes' IPs followed by the
// unreachable ones; services holds what each node advertises, which its
// gossip repeats, as a real node's addrman does, so a crawler can pick a
// node's transport from it.
func gossipGraph(g Gossip, nodes int, ips []netip.Addr, services []wire.ServiceFlag, port uint16) [][]wire.NetAddressV2 {
	children := g.Fanout - 2
	known := make([][]wire.NetAddressV2, nodes)
	now := time.Unix(time.Now().Unix(), 0)
	addr := func(i int) wire.NetAddressV2 {
		s := wire.SFNodeNetwork | wire.SFNodeWitness // unreachable: what a dead node once said
		if i < nodes {
			s = services[i]
		}
		return *wire.NetAddressV2FromBytes(now, s, ips[i].AsSlice(), port)
	}
	// Tree edges: node p gives nodes Seeded+p*children ... in turn, so
	// every node past the seeded ones has a parent before it.
	for i := g.Seeded; i < nodes; i++ {
		p := (i - g.Seeded) / children
		known[p] = append(known[p], addr(i))
	}
	// Unreachable addresses: spread over the nodes, one giver each at
	// least.
	for u := range g.Unreachable {
		giver := (u * 7919) % nodes
		known[giver] = append(known[giver], addr(nodes+u))
	}
	// Random edges, duplicates and cycles included as in a real network.
	rng := rand.New(rand.NewPCG(uint64(nodes), uint64(g.Fanout)))
	for i := range known {
		for len(known[i]) < g.Fanout {
			known[i] = append(known[i], addr(rng.IntN(len(ips))))
		}
	}
	return known
}

// withDefaults fills in the defaults and checks it.
func (g Gossip) withDefaults(nodes int) (Gossip, error) {
	if g.Seeded == 0 {
		g.Seeded = 4
	}
	if g.Fanout == 0 {
		g.Fanout = 12
	}
	switch {
	case g.Seeded < 0 || g.Seeded > nodes:
		return g, fmt.Errorf("handshaketest: Gossip.Seeded %d with %d nodes", g.Seeded, nodes)
	case g.Fanout < 3:
		return g, fmt.Errorf("handshaketest: Gossip.Fanout %d, the least is 3", g.Fanout)
	case g.Unreachable < 0:
		return g, fmt.Errorf("handshaketest: negative Gossip.Unreachable")
	}
	return g, nil
}

// gossipConfigs returns cfgs with each node's Addrs set from the graph,
// unless the caller set them.
func gossipConfigs(cfgs []Config, g Gossip, ips []netip.Addr, port string) ([]Config, error) {
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("handshaketest: port %q: %w", port, err)
	}
	services := make([]wire.ServiceFlag, len(cfgs))
	for i, cfg := range cfgs {
		c, err := cfg.withDefaults()
		if err != nil {
			return nil, err
		}
		services[i] = c.Services
	}
	known := gossipGraph(g, len(cfgs), ips, services, uint16(p))
	out := make([]Config, len(cfgs))
	for i, cfg := range cfgs {
		if cfg.Addrs == nil {
			cfg.Addrs = known[i]
		}
		out[i] = cfg
	}
	return out, nil
}
