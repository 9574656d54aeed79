// Command crawlfarm serves a simulated Internet on loopback for crawl
// tests and benchmarks, in a process of its own so that the crawler's time
// and memory figures are its own and each process stays within its file
// descriptor limit. It has two modes.
//
//	crawlfarm hang -first 127.200.0.1 -n 16000
//
// listens on n consecutive loopback addresses sharing one port, each a
// handshaketest.Hanging whose connects hang until the client's limit, and
// prints "hang<TAB>address" per address.
//
//	crawlfarm nodes -first 127.50.0.1 -n 8000 -refusing 500 -seeded 8 \
//	    -fanout 24 -v2 3 -hang-first 127.200.0.1 -hang-port 40000 -hang 16000
//
// starts n handshaketest Core nodes on consecutive loopback addresses
// sharing one port, of the releases handshaketest.CoreMix spreads (most on
// 27 to 30, a tail back to 0.20), every v2-th of them that can speaking
// BIP324 v2 as well, and
// gives each an answer to getaddr: its children in a tree rooted at the
// seeded nodes (so every node can be found), the refusing addresses (on
// loopback addresses after the nodes', where nothing listens) and the
// hanging ones spread over the nodes, and random others, duplicates
// included, up to fanout. Gossiped services are true to each node: v2
// nodes carry NODE_P2P_V2, v1 nodes do not. It prints "seed<TAB>address"
// for the seeded nodes, "node<TAB>address<TAB>v1|v2<TAB>user agent" per
// node and
// "refuse<TAB>address" per refusing address.
//
//	crawlfarm trickle -first 127.220.0.1 -n 200 -drip 100ms
//
// starts n nodes on consecutive loopback addresses sharing one port that
// complete a v1 handshake and answer getaddr with the header of an addrv2
// message claiming the most addrv2 may hold (about 0.5 MiB), then trickle
// its payload one byte per -drip: the hostile node a crawler's memory
// must survive. It prints "trickle<TAB>address" per node.
//
//	crawlfarm mainnet -ipv4 8000 -ipv6 2000 -onion 12000 -i2p 2000 \
//	    -dead-ipv4 18000 -dead-ipv6 6000 -dead-onion 10000 -dead-i2p 2000
//
// serves a network shaped like mainnet (mainnet.go): nodes on IPv4, on
// IPv6 (in 2001:db8::/32, which only a network namespace routing it to
// its loopback can bind) and behind onion and I2P names that -proxies
// handshaketest proxy doubles route, each node answering after a delay
// of its own, and dead addresses gossiped among them. It answers
// "proxied" too, with "requests peak": the connection requests all the
// proxies received, and the most one held at once.
//
// All print an empty line once ready, then answer "accepted" on standard
// input with "total max": the connections accepted by all nodes, and by
// the busiest one (0 0 in hang mode). Both exit when standard input closes.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake/handshaketest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main with its streams, for tests: it returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "crawlfarm:", err)
		return 1
	}
	if len(args) > 0 && args[0] == "mainnet" {
		return runMainnet(args[1:], stdin, stdout, stderr)
	}
	if len(args) == 0 || (args[0] != "hang" && args[0] != "nodes" && args[0] != "trickle") {
		return fail(errors.New("want a mode: hang, nodes, trickle or mainnet"))
	}
	fs := flag.NewFlagSet("crawlfarm "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c farmConfig
	first := fs.String("first", "127.50.0.1", "loopback address of the first node or hanging address")
	fs.IntVar(&c.n, "n", 100, "nodes or hanging addresses")
	fs.IntVar(&c.refusing, "refusing", 0, "gossiped addresses where nothing listens")
	fs.IntVar(&c.seeded, "seeded", 8, "nodes to start a crawl from")
	fs.IntVar(&c.fanout, "fanout", 24, "addresses in each node's answer, at least")
	fs.IntVar(&c.v2Every, "v2", 3, "every v2-th node speaks v2 too (0: none)")
	hangFirst := fs.String("hang-first", "", "first hanging address to gossip, from a hang farm")
	fs.IntVar(&c.hangPort, "hang-port", 0, "the hanging addresses' port")
	fs.IntVar(&c.hang, "hang", 0, "hanging addresses to gossip")
	fs.DurationVar(&c.drip, "drip", 100*time.Millisecond, "pause between the bytes trickled")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	var err error
	if c.first, err = netip.ParseAddr(*first); err != nil {
		return fail(err)
	}
	if c.hang > 0 {
		if c.hangFirst, err = netip.ParseAddr(*hangFirst); err != nil {
			return fail(fmt.Errorf("-hang-first: %w", err))
		}
	}
	w := bufio.NewWriter(stdout)
	var accepted func() (int, int)
	switch args[0] {
	case "trickle":
		n, err := serveTricklers(c, w)
		if err != nil {
			return fail(err)
		}
		defer n.Close()
		accepted = func() (int, int) { return 0, 0 }
	case "hang":
		closeAll, err := serveHanging(c, w)
		if err != nil {
			return fail(err)
		}
		defer closeAll()
		accepted = func() (int, int) { return 0, 0 }
	default:
		n, err := serveNodes(c, w)
		if err != nil {
			return fail(err)
		}
		defer n.Close()
		accepted = func() (int, int) {
			total, most := 0, 0
			for _, p := range n.Peers {
				a := p.Accepted()
				total, most = total+a, max(most, a)
			}
			return total, most
		}
	}
	if err := answer(stdin, w, map[string]func() (int, int){"accepted": accepted}); err != nil {
		return fail(err)
	}
	return 0
}

// answer prints the empty line that says the farm is ready, then answers
// each command read from stdin with its two numbers, until stdin closes.
func answer(stdin io.Reader, w *bufio.Writer, cmds map[string]func() (int, int)) error {
	fmt.Fprintln(w)
	if err := w.Flush(); err != nil {
		return err
	}
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		cmd := strings.TrimSpace(sc.Text())
		if f, ok := cmds[cmd]; ok {
			a, b := f()
			fmt.Fprintf(w, "%d %d\n", a, b)
		} else {
			fmt.Fprintf(w, "error: unknown command %q\n", cmd)
		}
		w.Flush()
	}
	return nil
}

type farmConfig struct {
	first, hangFirst                  netip.Addr
	n, refusing, seeded, fanout, hang int
	v2Every, hangPort                 int
	drip                              time.Duration
}

// serveHanging starts c.n hanging addresses on one port.
func serveHanging(c farmConfig, w io.Writer) (func(), error) {
	var hs []*handshaketest.Hanging
	closeAll := func() {
		for _, h := range hs {
			h.Close()
		}
	}
	port := "0"
	ip := c.first
	for range c.n {
		if !ip.IsLoopback() {
			closeAll()
			return nil, fmt.Errorf("%d addresses from %v run past loopback", c.n, c.first)
		}
		h, err := handshaketest.NewHanging(net.JoinHostPort(ip.String(), port))
		if err != nil {
			closeAll()
			return nil, err
		}
		hs = append(hs, h)
		_, port, _ = net.SplitHostPort(h.Addr())
		fmt.Fprintf(w, "hang\t%s\n", h.Addr())
		ip = ip.Next()
	}
	return closeAll, nil
}

// serveNodes starts the nodes with their gossip.
func serveNodes(c farmConfig, w io.Writer) (*handshaketest.Network, error) {
	if c.n <= 0 || c.seeded <= 0 || c.seeded > c.n || c.fanout < 3 || c.refusing < 0 || c.hang < 0 {
		return nil, errors.New("want -n > 0, 0 < -seeded <= -n, -fanout >= 3, -refusing and -hang >= 0")
	}
	port, err := freePort(c.first)
	if err != nil {
		return nil, err
	}
	p, _ := strconv.Atoi(port)
	now := time.Unix(time.Now().Unix(), 0)
	// Releases before 26.0 have no v2 transport.
	isV2 := func(i int) bool { return c.v2Every > 0 && i%c.v2Every == 0 && handshaketest.CoreMix(i).HasV2() }
	// Every gossiped address: nodes, then refusing, then hanging.
	all := make([]wire.NetAddressV2, 0, c.n+c.refusing+c.hang)
	ip := c.first
	for i := range c.n + c.refusing {
		s := wire.SFNodeNetwork | wire.SFNodeWitness
		if (i < c.n && isV2(i)) || (i >= c.n && i%2 == 0) {
			s |= wire.SFNodeP2PV2
		}
		all = append(all, *wire.NetAddressV2FromBytes(now, s, ip.AsSlice(), uint16(p)))
		ip = ip.Next()
	}
	ip = c.hangFirst
	for i := range c.hang {
		s := wire.SFNodeNetwork | wire.SFNodeWitness
		if i%2 == 0 {
			s |= wire.SFNodeP2PV2
		}
		all = append(all, *wire.NetAddressV2FromBytes(now, s, ip.AsSlice(), uint16(c.hangPort)))
		ip = ip.Next()
	}
	known := make([][]wire.NetAddressV2, c.n)
	children := max(c.fanout/3, 1)
	for i := c.seeded; i < c.n; i++ {
		parent := (i - c.seeded) / children
		known[parent] = append(known[parent], all[i])
	}
	for j := c.n; j < len(all); j++ {
		giver := (j * 7919) % c.n
		known[giver] = append(known[giver], all[j])
	}
	rng := rand.New(rand.NewPCG(uint64(c.n), uint64(c.fanout)))
	cfgs := make([]handshaketest.Config, c.n)
	for i := range cfgs {
		for len(known[i]) < c.fanout {
			known[i] = append(known[i], all[rng.IntN(len(all))])
		}
		cfgs[i] = handshaketest.Config{Behavior: handshaketest.Core, Core: handshaketest.CoreMix(i), V2: isV2(i),
			StartHeight: 870000, Addrs: known[i]}
	}
	n, err := handshaketest.NewNetwork(handshaketest.NetworkConfig{
		Peers: cfgs, FirstIP: c.first, Port: port,
		Gossip: &handshaketest.Gossip{Seeded: c.seeded, Unreachable: c.refusing},
	})
	if err != nil {
		return nil, err
	}
	for i, a := range n.Addrs() {
		if i < c.seeded {
			fmt.Fprintf(w, "seed\t%s\n", a)
		}
		t := "v1"
		if isV2(i) {
			t = "v2"
		}
		fmt.Fprintf(w, "node\t%s\t%s\t%s\n", a, t, handshaketest.CoreMix(i).UserAgent())
	}
	for _, a := range n.Unreachable {
		fmt.Fprintf(w, "refuse\t%s\n", a)
	}
	return n, nil
}

// freePort returns a port free on ip now.
func freePort(ip netip.Addr) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

// serveTricklers starts c.n trickling nodes.
func serveTricklers(c farmConfig, w io.Writer) (*handshaketest.Network, error) {
	cfgs := make([]handshaketest.Config, c.n)
	for i := range cfgs {
		cfgs[i] = handshaketest.Config{Handler: trickle(c.drip)}
	}
	n, err := handshaketest.NewNetwork(handshaketest.NetworkConfig{Peers: cfgs, FirstIP: c.first})
	if err != nil {
		return nil, err
	}
	for _, a := range n.Addrs() {
		fmt.Fprintf(w, "trickle\t%s\n", a)
	}
	return n, nil
}

// trickle completes a v1 handshake, then answers getaddr with an addrv2
// header claiming the most addrv2 may hold and trickles its payload.
func trickle(drip time.Duration) func(context.Context, *handshaketest.Conn) error {
	return func(ctx context.Context, c *handshaketest.Conn) error {
		if _, err := c.Accept(); err != nil {
			return err
		}
		for {
			cmd, _, err := c.ReadMessage()
			if err != nil {
				return err
			}
			if cmd == wire.CmdGetAddr {
				break
			}
		}
		claim := (&wire.MsgAddrV2{}).MaxPayloadLength(wire.ProtocolVersion)
		hdr := handshaketest.Frame(wire.MainNet, wire.CmdAddrV2, nil)
		binary.LittleEndian.PutUint32(hdr[16:20], claim)
		if err := c.WriteRaw(hdr); err != nil {
			return err
		}
		t := time.NewTicker(drip)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
			if err := c.WriteRaw([]byte{0xfe}); err != nil {
				return err
			}
		}
	}
}
