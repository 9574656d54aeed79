package handshaketest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/btcsuite/btcd/chaincfg/v2"
)

// NetworkConfig describes a simulated network: nodes on distinct loopback
// addresses sharing one port, the way real nodes share the default port,
// named by a fake DNS seed.
type NetworkConfig struct {
	// Peers configures one node each; their Addr is assigned.
	Peers []Config

	// Seeds are the DNS names the seed answers. Node i is listed under
	// Seeds[i%len(Seeds)], and every third node under the next name too,
	// so the seeds overlap as real ones do. Default: ["seed.handshake.test."].
	Seeds []string

	// FirstIP is the first node's address; the others follow it.
	// Default: 127.1.0.1, clear of the 127.0.0.x addresses other tests use.
	FirstIP netip.Addr

	// Port is the port every node listens on, such as a network's default
	// port so that a seed's bare addresses reach the nodes. Default: one
	// free on all the nodes' addresses.
	Port string

	// Gossip, when set, makes the network reachable only through address
	// gossip: the seed lists Gossip.Seeded nodes, and the others are named
	// by the nodes' answers to getaddr. Default: nil, every node in the
	// seed and no addresses gossiped.
	Gossip *Gossip
}

// Network is a running simulated network.
type Network struct {
	Peers []*Peer
	Seed  *Seed
	Port  string   // the port every node listens on
	Seeds []string // the seed names
	// Unreachable are the gossiped addresses ("ip:port") where nothing
	// listens (NetworkConfig.Gossip.Unreachable).
	Unreachable []string
}

// NewNetwork starts the nodes and the seed. Call Close when done.
func NewNetwork(cfg NetworkConfig) (*Network, error) {
	if len(cfg.Peers) == 0 {
		return nil, errors.New("handshaketest: a network needs at least one peer")
	}
	if len(cfg.Seeds) == 0 {
		cfg.Seeds = []string{"seed.handshake.test."}
	}
	if !cfg.FirstIP.IsValid() {
		cfg.FirstIP = netip.AddrFrom4([4]byte{127, 1, 0, 1})
	}
	var g Gossip
	extra := 0
	if cfg.Gossip != nil {
		var err error
		if g, err = cfg.Gossip.withDefaults(len(cfg.Peers)); err != nil {
			return nil, err
		}
		extra = g.Unreachable
	}
	ips := make([]netip.Addr, len(cfg.Peers)+extra)
	for i, ip := 0, cfg.FirstIP; i < len(ips); i, ip = i+1, ip.Next() {
		if !ip.IsLoopback() {
			return nil, fmt.Errorf("handshaketest: %d peers from %v run past the loopback range", len(ips), cfg.FirstIP)
		}
		ips[i] = ip
	}
	n := &Network{Seeds: cfg.Seeds}
	// A port free on the first address may be taken on another: retry.
	var err error
	for range 5 {
		if err = n.start(cfg, g, ips); err == nil || cfg.Port != "" {
			break
		}
		n.closePeers()
	}
	if err != nil {
		n.closePeers()
		return nil, err
	}
	listed := len(cfg.Peers)
	if cfg.Gossip != nil {
		listed = g.Seeded
		for _, ip := range ips[len(cfg.Peers):] {
			n.Unreachable = append(n.Unreachable, net.JoinHostPort(ip.String(), n.Port))
		}
	}
	records := make(map[string][]netip.Addr)
	for i, ip := range ips[:listed] {
		records[cfg.Seeds[i%len(cfg.Seeds)]] = append(records[cfg.Seeds[i%len(cfg.Seeds)]], ip)
		if len(cfg.Seeds) > 1 && i%3 == 0 {
			next := cfg.Seeds[(i+1)%len(cfg.Seeds)]
			records[next] = append(records[next], ip)
		}
	}
	if n.Seed, err = NewSeed(records); err != nil {
		n.closePeers()
		return nil, err
	}
	return n, nil
}

// start starts the nodes; with gossip it first picks the port, which the
// gossiped addresses name.
func (n *Network) start(cfg NetworkConfig, g Gossip, ips []netip.Addr) error {
	if cfg.Gossip == nil {
		return n.startPeers(cfg.Peers, ips, cfg.Port)
	}
	port := cfg.Port
	if port == "" {
		var err error
		if port, err = freePort(ips[0]); err != nil {
			return err
		}
	}
	cfgs, err := gossipConfigs(cfg.Peers, g, ips, port)
	if err != nil {
		return err
	}
	return n.startPeers(cfgs, ips, port)
}

func (n *Network) startPeers(cfgs []Config, ips []netip.Addr, port string) error {
	n.Port = port
	if port == "" {
		n.Port = "0"
	}
	for i, cfg := range cfgs {
		cfg.Addr = net.JoinHostPort(ips[i].String(), n.Port)
		p, err := NewPeer(cfg)
		if err != nil {
			return err
		}
		n.Peers = append(n.Peers, p)
		if i == 0 {
			_, n.Port, _ = net.SplitHostPort(p.Addr())
		}
	}
	return nil
}

func (n *Network) closePeers() {
	for _, p := range n.Peers {
		p.Close()
	}
	n.Peers = nil
}

// Addrs returns every node's "ip:port".
func (n *Network) Addrs() []string {
	addrs := make([]string, len(n.Peers))
	for i, p := range n.Peers {
		addrs[i] = p.Addr()
	}
	return addrs
}

// Params returns a copy of base whose default port is the network's and
// whose DNS seeds are the network's seed names, for a sweep to use.
func (n *Network) Params(base *chaincfg.Params) *chaincfg.Params {
	p := *base
	p.DefaultPort = n.Port
	p.DNSSeeds = make([]chaincfg.DNSSeed, len(n.Seeds))
	for i, s := range n.Seeds {
		p.DNSSeeds[i] = chaincfg.DNSSeed{Host: s}
	}
	return &p
}

// Close stops the seed and every node.
func (n *Network) Close() error {
	var err error
	if n.Seed != nil {
		err = n.Seed.Close()
	}
	n.closePeers()
	return err
}

// Mix returns n peer configurations in a fixed, realistic proportion of
// behaviours, as a sweep of a live network meets them: mostly Bitcoin Core
// of a mix of releases (CoreMix), some btcd and older software, and a tail
// of silent, broken and wrong-network nodes. The same n always gives the
// same mix.
func Mix(n int) []Config {
	// Twenty slots; each behaviour takes its share.
	pattern := [20]Behavior{
		Core, Core, Core, Core, Core, Core, Core, Core, Core, Core,
		Btcd, Btcd, Bcoin, Old, Silent, CloseAfterVersion, WrongMagic,
		TooOld, Garbage, BadChecksum,
	}
	cfgs := make([]Config, n)
	for i := range cfgs {
		b := pattern[(i*7)%len(pattern)] // 7 is coprime to 20: spread them out
		// Core nodes run the releases CoreMix spreads. Two in three of
		// the modern nodes also speak v2 (Core where its release can),
		// roughly the share of reachable nodes running Core 27 or later.
		rel := CoreMix(i)
		v2 := (b == Core && rel.HasV2() || b == Btcd) && i%3 != 2
		cfgs[i] = Config{Behavior: b, Core: rel, StartHeight: int32(870000 + i%50), V2: v2, V1Only: !v2}
	}
	return cfgs
}
