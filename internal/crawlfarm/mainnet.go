package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake/handshaketest"
	"github.com/bitcoin-handshake/handshake/internal/simnet"
)

// The mainnet mode's address plan. Clearnet IPv4 nodes and the loopback
// addresses behind onion and I2P names are in 127/8; IPv6 nodes are in
// 2001:db8::/32, the documentation prefix no router forwards, which a
// network namespace routes to its loopback (ip -6 route add local
// 2001:db8::/32 dev lo, with net.ipv6.ip_nonlocal_bind=1).
var (
	mainnetIPv4     = netip.MustParseAddr("127.50.0.1")
	mainnetOnion    = netip.MustParseAddr("127.60.0.1") // where onion services listen
	mainnetI2P      = netip.MustParseAddr("127.70.0.1") // where I2P destinations listen
	mainnetDeadIPv4 = simnet.DeadIPv4.Addr().Next()     // a simnet.Namespace drops SYNs to these

	mainnetIPv6     = netip.MustParseAddr("2001:db8:1::1")
	mainnetDeadIPv6 = simnet.DeadIPv6.Addr().Next()
)

// mainnetConfig is the mainnet mode's network.
type mainnetConfig struct {
	reach, dead             map[string]int // per network: "ipv4", "ipv6", "onion", "i2p"
	proxies, seeded, fanout int
	part, parts             int    // this process serves the nodes i with i%parts == part
	port                    string // the nodes' port; "" for one free now
	v2Every                 int
	answerMin, answerMax    time.Duration
	circuitMin, circuitMax  time.Duration
}

var mainnetNets = []string{"ipv4", "ipv6", "onion", "i2p"}

// runMainnet is the mainnet mode: see mainnetUsage.
func runMainnet(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "crawlfarm:", err)
		return 1
	}
	fs := flag.NewFlagSet("crawlfarm mainnet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := mainnetConfig{reach: map[string]int{}, dead: map[string]int{}}
	full := map[string][2]int{"ipv4": {8000, 18000}, "ipv6": {2000, 6000}, "onion": {12000, 10000}, "i2p": {2000, 2000}}
	reach, dead := map[string]*int{}, map[string]*int{}
	for _, n := range mainnetNets {
		reach[n] = fs.Int(n, full[n][0], "reachable "+n+" nodes")
		dead[n] = fs.Int("dead-"+n, full[n][1], "dead "+n+" addresses")
	}
	fs.IntVar(&c.proxies, "proxies", 8, "proxy doubles, each routing every onion and I2P name")
	fs.IntVar(&c.seeded, "seeded", 16, "IPv4 nodes to start a crawl from")
	fs.IntVar(&c.fanout, "fanout", 30, "addresses in each node's answer to getaddr, 11 to 999")
	fs.IntVar(&c.v2Every, "v2", 2, "every v2-th node speaks v2 too (0: none)")
	fs.IntVar(&c.part, "part", 0, "which part of the nodes this process serves, from 0; part 0 also runs the proxies and lists the network")
	fs.IntVar(&c.parts, "parts", 1, "processes the nodes are split over, for their file descriptors")
	fs.StringVar(&c.port, "port", "", "the nodes' port (default: one free now; the other parts take part 0's)")
	answerRange := fs.String("answer", "20ms,400ms", "range of a node's answer delay (log-uniform)")
	circuit := fs.String("circuit", "1s,5s", "range of a proxied name's circuit set-up, or of its failure (uniform)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for _, n := range mainnetNets {
		c.reach[n], c.dead[n] = *reach[n], *dead[n]
	}
	var err error
	if c.answerMin, c.answerMax, err = parseRange(*answerRange); err != nil {
		return fail(fmt.Errorf("-answer: %w", err))
	}
	if c.circuitMin, c.circuitMax, err = parseRange(*circuit); err != nil {
		return fail(fmt.Errorf("-circuit: %w", err))
	}
	w := bufio.NewWriter(stdout)
	m, err := startMainnet(c, w)
	if err != nil {
		return fail(err)
	}
	defer m.close()
	proxied := func() (requests, peak int) {
		for _, p := range m.proxies {
			requests += p.Requests()
			peak = max(peak, p.MaxPending())
		}
		return requests, peak
	}
	if err := answer(stdin, w, map[string]func() (int, int){"accepted": m.nodes.Accepted, "proxied": proxied}); err != nil {
		return fail(err)
	}
	return 0
}

// parseRange reads "min,max".
func parseRange(s string) (lo, hi time.Duration, err error) {
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return 0, 0, errors.New("want min,max")
	}
	if lo, err = time.ParseDuration(a); err != nil {
		return 0, 0, err
	}
	if hi, err = time.ParseDuration(b); err != nil {
		return 0, 0, err
	}
	if lo < 0 || hi < lo {
		return 0, 0, errors.New("want 0 <= min <= max")
	}
	return lo, hi, nil
}

// mainnetAddr is one gossiped address of the mainnet mode.
type mainnetAddr struct {
	simnet.Addr
	net     string        // "ipv4", "ipv6", "onion", "i2p"
	listen  string        // a reachable node's loopback "ip:port"; "" for a dead address
	answer  time.Duration // the node's delay before its version
	circuit time.Duration // onion and I2P: the proxy's set-up, or its failure
}

type mainnet struct {
	nodes   *simnet.Nodes
	proxies []*handshaketest.Proxy
}

func (m *mainnet) close() {
	m.nodes.Close()
	for _, p := range m.proxies {
		p.Close()
	}
}

// startMainnet builds the address plan, starts the nodes and the proxies,
// and lists them on w:
//
//	part<TAB>part<TAB>nodes it serves
//	port<TAB>the nodes' port
//	proxy<TAB>socks host:port<TAB>SAM host:port
//	seed<TAB>address<TAB>services in hex
//	node<TAB>network<TAB>address<TAB>answer ms<TAB>circuit ms
//	dead<TAB>network<TAB>address<TAB>circuit ms
func startMainnet(c mainnetConfig, w io.Writer) (*mainnet, error) {
	reachable := 0
	for _, n := range mainnetNets {
		if c.reach[n] < 0 || c.dead[n] < 0 {
			return nil, errors.New("want no negative count")
		}
		reachable += c.reach[n]
	}
	switch {
	case c.reach["ipv4"] < c.seeded || c.seeded <= 0:
		return nil, errors.New("want 0 < -seeded <= -ipv4")
	case c.fanout < 11 || c.fanout > 999:
		// A getaddr answer of 11 to 999 addresses is whole to a client;
		// a smaller one keeps it waiting for more.
		return nil, errors.New("want 11 <= -fanout <= 999")
	case c.parts <= 0 || c.part < 0 || c.part >= c.parts:
		return nil, errors.New("want 0 <= -part < -parts")
	case c.proxies <= 0 && c.reach["onion"]+c.dead["onion"]+c.reach["i2p"]+c.dead["i2p"] > 0:
		return nil, errors.New("onion and I2P addresses need -proxies > 0")
	}
	port := c.port
	if port == "" {
		var err error
		if port, err = freePort(mainnetIPv4); err != nil {
			return nil, err
		}
	}
	p, _ := strconv.Atoi(port)
	rng := rand.New(rand.NewPCG(uint64(reachable), uint64(c.fanout)))
	uniform := func(lo, hi time.Duration) time.Duration {
		return lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
	}
	var live, dead []mainnetAddr
	onionHost, i2pHost := mainnetOnion, mainnetI2P
	for _, n := range mainnetNets {
		ip, deadIP := mainnetIPv4, mainnetDeadIPv4
		if n == "ipv6" {
			ip, deadIP = mainnetIPv6, mainnetDeadIPv6
		}
		for i := range c.reach[n] + c.dead[n] {
			isLive := i < c.reach[n]
			s := wire.SFNodeNetwork | wire.SFNodeWitness
			if c.v2Every > 0 && i%c.v2Every == 0 {
				s |= wire.SFNodeP2PV2
			}
			a := mainnetAddr{net: n}
			switch n {
			case "ipv4", "ipv6":
				addr := &ip
				if !isLive {
					addr = &deadIP
				}
				a.Addr = simnet.IPAddr(*addr, uint16(p), s)
				a.listen = a.Addr.Addr
				*addr = addr.Next()
			case "onion":
				a.Addr = simnet.OnionAddr(i, s)
				a.listen = net.JoinHostPort(onionHost.String(), port)
				a.circuit = uniform(c.circuitMin, c.circuitMax)
			case "i2p":
				a.Addr = simnet.I2PAddr(i, s)
				a.listen = net.JoinHostPort(i2pHost.String(), port)
				a.circuit = uniform(c.circuitMin, c.circuitMax)
			}
			if !isLive {
				a.listen = ""
				dead = append(dead, a)
				continue
			}
			a.answer = simnet.LogUniform(rng, c.answerMin, c.answerMax)
			switch n {
			case "onion":
				onionHost = onionHost.Next()
			case "i2p":
				i2pHost = i2pHost.Next()
			}
			live = append(live, a)
		}
	}
	for _, ip := range []netip.Addr{onionHost, i2pHost, mainnetIPv4, mainnetDeadIPv4} {
		if !ip.IsLoopback() {
			return nil, errors.New("too many addresses for their loopback ranges")
		}
	}
	// Shuffle the nodes, networks mixed as in a real address manager, but
	// keep the seeded IPv4 nodes first: DNS seeds name clearnet nodes.
	seeds := live[:c.seeded:c.seeded]
	rest := append([]mainnetAddr(nil), live[c.seeded:]...)
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	live = append(append([]mainnetAddr(nil), seeds...), rest...)

	payloads := mainnetGossip(live, dead, c, rng)
	m := &mainnet{nodes: &simnet.Nodes{}}
	for i, a := range live {
		if i%c.parts != c.part {
			continue
		}
		cfg := handshaketest.Config{V2: a.Services&wire.SFNodeP2PV2 != 0, StartHeight: 870000,
			Handler: simnet.Gossiper(a.answer, payloads[i])}
		if err := m.nodes.Listen(a.listen, cfg); err != nil {
			m.close()
			return nil, err
		}
	}
	fmt.Fprintf(w, "part\t%d\t%d\n", c.part, m.nodes.Len())
	if c.part != 0 {
		return m, nil // the proxies and the listing are part 0's
	}
	for range c.proxies {
		px, err := handshaketest.NewProxy(handshaketest.ProxyConfig{Delay: -1})
		if err != nil {
			m.close()
			return nil, err
		}
		m.proxies = append(m.proxies, px)
		for _, a := range live {
			if a.net == "onion" || a.net == "i2p" {
				px.Set(a.Host(), handshaketest.Route{Target: a.listen, Delay: a.circuit})
			}
		}
		for _, a := range dead {
			switch a.net {
			case "onion": // offline: Tor finds no descriptor, after trying
				px.Set(a.Host(), handshaketest.Route{Reply: 0xF0, Delay: a.circuit})
			case "i2p": // offline: the router finds no lease set
				px.Set(a.Host(), handshaketest.Route{SAM: "KEY_NOT_FOUND", Delay: a.circuit})
			}
		}
	}
	fmt.Fprintf(w, "port\t%s\n", port)
	for _, px := range m.proxies {
		fmt.Fprintf(w, "proxy\t%s\t%s\n", px.SOCKSAddr(), px.SAMAddr())
	}
	for _, a := range live[:c.seeded] {
		// With its services, as a DNS seed's answers for a service
		// filter imply them, so the crawl picks its transport at once.
		fmt.Fprintf(w, "seed\t%s\t%x\n", a.Addr.Addr, uint64(a.Services))
	}
	for _, a := range live {
		fmt.Fprintf(w, "node\t%s\t%s\t%d\t%d\n", a.net, a.Addr.Addr, a.answer.Milliseconds(), a.circuit.Milliseconds())
	}
	for _, a := range dead {
		fmt.Fprintf(w, "dead\t%s\t%s\t%d\n", a.net, a.Addr.Addr, a.circuit.Milliseconds())
	}
	return m, nil
}

// mainnetGossip returns each live node's answer to getaddr as an addrv2
// payload: its children in a tree rooted at the seeded nodes (so every
// node can be found), the dead addresses spread over the nodes (each given
// once at least), and random others, duplicates included, up to fanout.
func mainnetGossip(live, dead []mainnetAddr, c mainnetConfig, rng *rand.Rand) [][]byte {
	known := make([][]*mainnetAddr, len(live))
	children := max(c.fanout/3, 1)
	for i := c.seeded; i < len(live); i++ {
		parent := (i - c.seeded) / children
		known[parent] = append(known[parent], &live[i])
	}
	for j := range dead {
		giver := (j * 7919) % len(live)
		known[giver] = append(known[giver], &dead[j])
	}
	all := len(live) + len(dead)
	now := time.Now()
	payloads := make([][]byte, len(live))
	for i := range known {
		for len(known[i]) < c.fanout {
			k := rng.IntN(all)
			if k < len(live) {
				known[i] = append(known[i], &live[k])
			} else {
				known[i] = append(known[i], &dead[k-len(live)])
			}
		}
		// An answer over 1,000 would be cut by the client: trim to the
		// protocol's most, dead addresses past it are given by others.
		known[i] = known[i][:min(len(known[i]), wire.MaxAddrPerMsg-1)]
		addrs := make([]simnet.Addr, len(known[i]))
		for j, a := range known[i] {
			addrs[j] = a.Addr
		}
		payloads[i] = simnet.Payload(addrs, now)
	}
	return payloads
}
