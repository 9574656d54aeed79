// Command crawl maps a Bitcoin network: starting from its DNS seeds (or
// -addr), it handshakes with each node, asks it for the addresses it knows
// (getaddr), and follows them breadth first, de-duplicating, until it runs
// out of addresses or reaches -depth or -max-nodes.
//
//	go run ./examples/crawl -demo               # a simulated network on loopback
//	go run ./examples/crawl -max-nodes 500 -json > nodes.jsonl
//	go run ./examples/crawl -proxy 127.0.0.1:9050   # onion nodes through Tor
//
// It is polite by default: it names itself in its user agent, asks for no
// transaction relay, hangs up once it has the addresses, and connects to
// each address once. Addresses gossiped in private ranges are not dialled
// unless -allow-private, so that a hostile peer cannot aim it at the user's
// own network. Bad flags exit with status 2; a crawl with no address to
// start from exits with status 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	network         string
	seeds, addrs    cli.List
	depth, maxNodes int
	concurrency     int
	timeout         time.Duration
	timeoutSet      bool
	resolver, proxy string
	allowPrivate    bool
	transport       handshake.Transport
	json, verbose   bool
	demo            bool
	demoPeers       int
	demoUnreachable int
}

func parse(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("crawl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.network, "network", "mainnet", "network: "+strings.Join(handshake.NetworkNames(), ", "))
	fs.Var(&c.seeds, "seed", "DNS seed to start from (repeatable; default: the network's seeds)")
	fs.Var(&c.addrs, "addr", "node address to start from (repeatable; skips DNS)")
	fs.IntVar(&c.depth, "depth", 8, "hops to follow from the starting nodes")
	fs.IntVar(&c.maxNodes, "max-nodes", 5000, "most addresses to dial")
	fs.IntVar(&c.concurrency, "concurrency", handshake.DefaultConcurrency, "nodes visited at once")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "time limit per node for the handshake, and again for its addresses")
	fs.StringVar(&c.resolver, "resolver", "", "DNS server to ask, host:port (default: the system's)")
	fs.StringVar(&c.proxy, "proxy", "", "SOCKS5 proxy, host:port, to reach onion addresses (Tor: 127.0.0.1:9050)")
	fs.BoolVar(&c.allowPrivate, "allow-private", false, "dial private, loopback and link-local addresses")
	transport := fs.String("transport", "auto", "transport: auto (v2, falling back to v1), v1 or v2")
	fs.BoolVar(&c.json, "json", false, "print one JSON object per node dialled on stdout; logs go to stderr")
	fs.BoolVar(&c.verbose, "v", false, "log a line per node")
	fs.BoolVar(&c.demo, "demo", false, "crawl a simulated network on loopback instead")
	fs.IntVar(&c.demoPeers, "demo-peers", 1000, "nodes in the -demo network")
	fs.IntVar(&c.demoUnreachable, "demo-unreachable", 50, "gossiped addresses nobody listens on in the -demo network")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fs.Usage()
		}
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) { c.timeoutSet = c.timeoutSet || f.Name == "timeout" })
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q (addresses go in -addr)", fs.Arg(0))
	case c.concurrency <= 0:
		return nil, fmt.Errorf("-concurrency must be positive, got %d", c.concurrency)
	case c.timeout <= 0:
		return nil, fmt.Errorf("-timeout must be positive, got %v", c.timeout)
	case c.depth < 0:
		return nil, fmt.Errorf("-depth must not be negative, got %d", c.depth)
	case c.maxNodes <= 0:
		return nil, fmt.Errorf("-max-nodes must be positive, got %d", c.maxNodes)
	case c.demoPeers <= 0 || c.demoPeers > 10000:
		return nil, fmt.Errorf("-demo-peers must be between 1 and 10000, got %d", c.demoPeers)
	case c.demoUnreachable < 0 || c.demoUnreachable > 10000:
		return nil, fmt.Errorf("-demo-unreachable must be between 0 and 10000, got %d", c.demoUnreachable)
	}
	for name, v := range map[string]string{"-resolver": c.resolver, "-proxy": c.proxy} {
		if _, _, err := net.SplitHostPort(v); v != "" && err != nil {
			return nil, fmt.Errorf("%s %q: want host:port", name, v)
		}
	}
	if _, err := handshake.ParseNetwork(c.network); err != nil {
		return nil, err
	}
	var err error
	if c.transport, err = handshake.ParseTransport(*transport); err != nil {
		return nil, err
	}
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	c, err := parse(args)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "crawl: %v\n", err)
		}
		return 2
	}
	logOut := stdout
	if c.json {
		logOut = stderr
	}
	lg := cli.NewLogger(logOut, "crawl")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	params, _ := handshake.ParseNetwork(c.network)
	cr := &crawler{
		// The library's defaults are the polite ones: its own user
		// agent, no transaction relay.
		opts:         handshake.Options{ChainParams: params, Timeout: c.timeout, Transport: c.transport},
		allowPrivate: c.allowPrivate,
		maxDepth:     c.depth,
		maxNodes:     c.maxNodes,
		concurrency:  c.concurrency,
		timeout:      c.timeout,
	}
	resolver := net.DefaultResolver
	if c.demo {
		d, err := startDemo(c.demoPeers, c.demoUnreachable)
		if err != nil {
			fmt.Fprintf(stderr, "crawl: demo: %v\n", err)
			return 1
		}
		defer d.close()
		lg.Log("INFO", "Started a simulated network of %d nodes on loopback (and %d addresses where nothing listens), %d of them named by a DNS seed at %s",
			c.demoPeers, c.demoUnreachable, 4, d.seedAddr)
		cr.opts.ChainParams, resolver = d.params, d.resolver
		cr.allowPrivate = true // the simulated nodes live on loopback
		if !c.timeoutSet {
			cr.opts.Timeout, cr.timeout = 2*time.Second, 2*time.Second
		}
	}
	if c.resolver != "" {
		resolver = handshake.NewResolver(c.resolver)
	}
	if c.proxy != "" {
		cr.proxy = handshake.SOCKS5(c.proxy, nil)
	}

	start := startAddrs(ctx, c, cr, resolver, lg)
	if len(start) == 0 {
		lg.Log("ERROR", "No address to start from")
		return 1
	}
	lg.Log("INFO", "Starting from %d addresses. Crawling...", len(start))

	sum := newSummary()
	prog := cli.NewProgress(stderr, "%d of %d addresses found dialled")
	enc := json.NewEncoder(stdout)
	cr.found = prog.SetTotal
	cr.emit = func(n node) {
		prog.Clear()
		sum.add(n)
		if c.json {
			enc.Encode(jsonNode(n))
		}
		if c.verbose {
			logNode(lg, n)
		}
		prog.Done()
	}
	began := time.Now()
	cr.run(ctx, start)
	prog.Clear()
	if ctx.Err() != nil {
		lg.Log("WARN", "Crawl interrupted: %v", ctx.Err())
	}
	lg.Log("INFO", "Finished! %d nodes dialled: %d reachable | %d PARTIALLY OK | %d unreachable, in %v",
		cr.dialled, sum.reached, sum.partial, sum.failed, time.Since(began).Round(time.Millisecond))
	lg.Log("INFO", "%d unique addresses learned, %d given in all; %d not dialled (past -depth or -max-nodes); skipped: %s",
		len(cr.seen), sum.addrsGiven, cr.unvisited, top(cr.skipped, 10))
	sum.log(lg)
	return 0
}

// startAddrs returns the -addr addresses, or the seeds' addresses, private
// ones skipped unless allowed.
func startAddrs(ctx context.Context, c *config, cr *crawler, resolver *net.Resolver, lg *cli.Logger) []target {
	port := cr.opts.ChainParams.DefaultPort
	var start []target
	for _, a := range c.addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = net.JoinHostPort(strings.Trim(a, "[]"), port)
		}
		start = append(start, target{addr: a, net: networkOf(a)})
	}
	if len(c.addrs) > 0 {
		return start
	}
	seeds := c.seeds
	if len(seeds) == 0 {
		for _, s := range cr.opts.ChainParams.DNSSeeds {
			seeds = append(seeds, s.Host)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	skipped := 0
	for _, seed := range seeds {
		lg.Log("INFO", "Resolving DNS seed `%s`", seed)
		wg.Go(func() {
			rctx, cancel := context.WithTimeout(ctx, cr.timeout)
			defer cancel()
			ips, err := resolver.LookupNetIP(rctx, "ip", seed)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				lg.Log("ERROR", "DNS seed `%s`: %v", seed, err)
			}
			for _, ip := range ips {
				if !cr.allowPrivate && !handshake.IsPublic(ip) {
					skipped++
					continue
				}
				a := net.JoinHostPort(ip.Unmap().String(), port)
				start = append(start, target{addr: a, net: networkOf(a)})
			}
		})
	}
	wg.Wait()
	// Seeds overlap: each address once.
	slices.SortFunc(start, func(a, b target) int { return strings.Compare(a.addr, b.addr) })
	start = slices.CompactFunc(start, func(a, b target) bool { return a.addr == b.addr })
	if skipped > 0 {
		lg.Log("WARN", "Skipped %d private or local addresses returned by seeds (use -allow-private to dial them)", skipped)
	}
	return start
}

// jsonNode is a node's JSON line.
func jsonNode(n node) any {
	type line struct {
		Addr      string                `json:"addr"`
		Network   handshake.AddrNetwork `json:"network"`
		Depth     int                   `json:"depth"`
		Status    handshake.Status      `json:"status"`
		AddrsGave int                   `json:"addrs_given"`
		AddrsErr  string                `json:"addrs_error,omitempty"`
		Result    handshake.Result      `json:"result"`
	}
	l := line{Addr: n.Addr, Network: n.Network, Depth: n.Depth, Status: n.Result.Status, AddrsGave: n.Gave, Result: n.Result}
	if n.AddrErr != nil {
		l.AddrsErr = n.AddrErr.Error()
	}
	return l
}

func logNode(lg *cli.Logger, n node) {
	r := n.Result
	switch r.Status {
	case handshake.StatusOK:
		lg.Log("INFO", "`%s`: depth %d, %s over %s, protocol %d, gave %d addresses", n.Addr, n.Depth, r.Peer.UserAgent, r.Transport, r.Peer.ProtocolVersion, n.Gave)
	default:
		lg.Log("WARN", "`%s`: depth %d, unreachable: %v", n.Addr, n.Depth, cause(r.Err))
	}
}

// cause strips the "handshake: addr:" prefix the line already shows.
func cause(err error) string {
	var he *handshake.Error
	if errors.As(err, &he) {
		return fmt.Sprintf("%s: %v", he.Step, he.Err)
	}
	return fmt.Sprint(err)
}
