package simnet

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// Defaults applied to zero-valued OverlayConfig fields.
const (
	// DefaultDelayMin and DefaultDelayMax bound a node's answer delay,
	// spread log-uniformly: tens to hundreds of milliseconds, as paths
	// across the Internet take.
	DefaultDelayMin = 20 * time.Millisecond
	DefaultDelayMax = 400 * time.Millisecond

	// DefaultSetupMin and DefaultSetupMax bound the proxy's set-up time
	// per onion or I2P name (spread uniformly), or the time it takes to
	// give up on an offline one: seconds, as Tor's circuits and I2P's
	// tunnels take.
	DefaultSetupMin = time.Second
	DefaultSetupMax = 3 * time.Second
)

// OverlayConfig describes an Overlay. The zero value is an empty one.
type OverlayConfig struct {
	// IPv6, Onion and I2P are the reachable nodes of each network.
	IPv6, Onion, I2P int
	// DeadOnion and DeadI2P are gossiped names that are offline: the
	// proxy answers Tor's "descriptor not found" (0xF0) or the SAM
	// bridge KEY_NOT_FOUND after the set-up time.
	DeadOnion, DeadI2P int
	// DelayMin and DelayMax bound each node's answer delay. Default:
	// DefaultDelayMin, DefaultDelayMax.
	DelayMin, DelayMax time.Duration
	// SetupMin and SetupMax bound the proxy's set-up time per name.
	// Default: DefaultSetupMin, DefaultSetupMax.
	SetupMin, SetupMax time.Duration
	// Clearnet are other addresses, such as a handshaketest.Network's
	// nodes, that the overlay's nodes gossip too.
	Clearnet []Addr
}

// Overlay is a simulated network of the networks a handshaketest.Network
// on 127/8 lacks, to run beside one: IPv6 nodes on [::1], each on a port
// of its own (so no root and no namespace are needed), and onion and I2P
// nodes behind a handshaketest.Proxy, every node answering after a delay
// of its own and gossiping (addrv2) the others, offline names, and the
// clearnet addresses it was given. A crawl finds it from Seeds, the way
// Bitcoin Core starts from its fixed seeds, through Proxy's SOCKS5 port
// (handshake.TorOptions) and SAM bridge (handshake.I2POptions). Every
// second node speaks BIP324 v2, and gossip says so.
type Overlay struct {
	Proxy *handshaketest.Proxy
	// Seeds are the first node of each network, "host:port" as a crawl
	// names them.
	Seeds []string
	// NoIPv6, when not nil, says why there are no IPv6 nodes: this host
	// has no [::1].
	NoIPv6 error
	// Addrs are the reachable nodes, by network.
	Addrs map[handshake.AddrNetwork][]string

	nodes Nodes
}

// NewOverlay starts an Overlay. Call Close when done.
func NewOverlay(cfg OverlayConfig) (*Overlay, error) {
	if cfg.IPv6 < 0 || cfg.Onion < 0 || cfg.I2P < 0 || cfg.DeadOnion < 0 || cfg.DeadI2P < 0 {
		return nil, errors.New("simnet: negative count")
	}
	cfg.DelayMin, cfg.DelayMax = cmp.Or(cfg.DelayMin, DefaultDelayMin), cmp.Or(cfg.DelayMax, DefaultDelayMax)
	cfg.SetupMin, cfg.SetupMax = cmp.Or(cfg.SetupMin, DefaultSetupMin), cmp.Or(cfg.SetupMax, DefaultSetupMax)
	if cfg.DelayMax < cfg.DelayMin || cfg.SetupMax < cfg.SetupMin {
		return nil, errors.New("simnet: a range's maximum is below its minimum")
	}
	px, err := handshaketest.NewProxy(handshaketest.ProxyConfig{Delay: -1})
	if err != nil {
		return nil, err
	}
	o := &Overlay{Proxy: px, Addrs: map[handshake.AddrNetwork][]string{}}
	ok := false
	defer func() {
		if !ok {
			o.Close()
		}
	}()
	rng := rand.New(rand.NewPCG(uint64(cfg.IPv6+cfg.Onion+cfg.I2P), uint64(cfg.DeadOnion+cfg.DeadI2P)))
	services := func(i int) wire.ServiceFlag {
		s := wire.SFNodeNetwork | wire.SFNodeWitness
		if i%2 == 0 {
			s |= wire.SFNodeP2PV2
		}
		return s
	}
	type live struct {
		Addr
		ln net.Listener
	}
	var nodes []live
	var lns []net.Listener
	defer func() {
		if !ok {
			for _, ln := range lns {
				ln.Close()
			}
		}
	}()
	listen := func(host string) (net.Listener, uint16, error) {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, 0, err
		}
		lns = append(lns, ln)
		return ln, uint16(ln.Addr().(*net.TCPAddr).Port), nil
	}
	for i := range cfg.IPv6 {
		ln, port, err := listen("::1")
		if err != nil {
			o.NoIPv6 = fmt.Errorf("no IPv6 nodes: cannot listen on [::1]: %w", err)
			break
		}
		nodes = append(nodes, live{IPAddr(netip.IPv6Loopback(), port, services(i)), ln})
	}
	var dead []Addr
	setup := func() time.Duration {
		return cfg.SetupMin + time.Duration(rng.Int64N(int64(cfg.SetupMax-cfg.SetupMin)+1))
	}
	for i := range cfg.Onion + cfg.I2P {
		ln, _, err := listen("127.0.0.1")
		if err != nil {
			return nil, err
		}
		a := OnionAddr(i, services(i))
		if i >= cfg.Onion {
			a = I2PAddr(i, services(i))
		}
		px.Set(a.Host(), handshaketest.Route{Target: ln.Addr().String(), Delay: setup()})
		nodes = append(nodes, live{a, ln})
	}
	for i := range cfg.DeadOnion + cfg.DeadI2P {
		j := cfg.Onion + cfg.I2P + i // names apart from the reachable ones
		if i < cfg.DeadOnion {
			a := OnionAddr(j, services(j))
			px.Set(a.Host(), handshaketest.Route{Reply: 0xF0, Delay: setup()})
			dead = append(dead, a)
		} else {
			a := I2PAddr(j, services(j))
			px.Set(a.Host(), handshaketest.Route{SAM: "KEY_NOT_FOUND", Delay: setup()})
			dead = append(dead, a)
		}
	}
	if len(nodes) == 0 {
		ok = true
		return o, nil
	}
	// A seed per network, then the others mixed, each a child of an
	// earlier one so every node can be found from the seeds.
	seen := map[handshake.AddrNetwork]bool{}
	var seeds, rest []live
	for _, n := range nodes {
		o.Addrs[n.Network] = append(o.Addrs[n.Network], n.Addr.Addr)
		if !seen[n.Network] {
			seen[n.Network] = true
			seeds = append(seeds, n)
			o.Seeds = append(o.Seeds, n.Addr.Addr)
			continue
		}
		rest = append(rest, n)
	}
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	nodes = append(seeds, rest...)
	const fanout = 12 // a getaddr answer of 11 or more is whole to a client
	known := make([][]Addr, len(nodes))
	for i := len(seeds); i < len(nodes); i++ {
		p := (i - len(seeds)) / 4
		known[p] = append(known[p], nodes[i].Addr)
	}
	for i, a := range dead {
		known[i%len(nodes)] = append(known[i%len(nodes)], a)
	}
	now := time.Now()
	for i, n := range nodes {
		pool := len(nodes) + len(dead) + len(cfg.Clearnet)
		for len(known[i]) < fanout {
			k := rng.IntN(pool)
			switch {
			case k < len(nodes):
				known[i] = append(known[i], nodes[k].Addr)
			case k < len(nodes)+len(dead):
				known[i] = append(known[i], dead[k-len(nodes)])
			default:
				known[i] = append(known[i], cfg.Clearnet[k-len(nodes)-len(dead)])
			}
		}
		delay := LogUniform(rng, cfg.DelayMin, cfg.DelayMax)
		// The releases mixed as on the IPv4 farm; a node gossiped as
		// speaking v2 runs a release that does.
		v2, rel := n.Services&wire.SFNodeP2PV2 != 0, handshaketest.CoreMix(i)
		if v2 && !rel.HasV2() {
			rel = handshaketest.Core27
		}
		o.nodes.Serve(n.ln, handshaketest.Config{Core: rel, V2: v2, StartHeight: 870000,
			Handler: Gossiper(delay, Payload(known[i], now))})
	}
	ok = true
	return o, nil
}

// Accepted returns the connections the overlay's nodes accepted.
func (o *Overlay) Accepted() int {
	n, _ := o.nodes.Accepted()
	return n
}

// Close stops the nodes and the proxy.
func (o *Overlay) Close() {
	o.nodes.Close()
	o.Proxy.Close()
}

// NewDemoOverlay starts the Overlay the programs' -demo runs beside a
// network of peers IPv4 nodes: a tenth as many IPv6 nodes, a fifth as many
// onion ones and a twentieth as many I2P ones, and offline names, set up
// in 0.2–2 s so that a demo takes seconds; its nodes gossip the first 50
// of clearnet ("ip:port").
func NewDemoOverlay(peers int, clearnet []string) (*Overlay, error) {
	var clear []Addr
	for _, a := range clearnet[:min(50, len(clearnet))] {
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			return nil, fmt.Errorf("simnet: %w", err)
		}
		clear = append(clear, IPAddr(ap.Addr(), ap.Port(), wire.SFNodeNetwork|wire.SFNodeWitness))
	}
	return NewOverlay(OverlayConfig{
		IPv6: max(peers/10, 1), Onion: max(peers/5, 1), I2P: max(peers/20, 1),
		DeadOnion: peers / 10, DeadI2P: peers / 50,
		SetupMin: 200 * time.Millisecond, SetupMax: 2 * time.Second,
		Clearnet: clear,
	})
}
