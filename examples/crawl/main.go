// Command crawl maps a Bitcoin network with the crawl engine (package
// crawl): starting from its DNS seeds (or -addr), it handshakes with each
// node, asks it for the addresses it knows (getaddr), pings it, hangs up,
// and visits the addresses it learned, until none is left.
//
//	go run ./examples/crawl -demo               # a simulated network on loopback
//	go run ./examples/crawl -json > nodes.jsonl # all of mainnet
//	go run ./examples/crawl -demo -report report.html  # and an HTML report
//	go run ./examples/crawl -proxy 127.0.0.1:9050   # onion nodes through Tor
//	go run ./examples/crawl -proxy 127.0.0.1:9050 -i2psam 127.0.0.1:7656  # and I2P (docs/networks-programs.md)
//
// Its defaults crawl all of mainnet on a small machine: 1,000 visits at
// once, each dead address (most of those gossiped) costing only the 5 s
// -connect-timeout. It is polite by default: it names itself in its user
// agent, asks for no transaction relay, connects to each address once, and
// hangs up once it has the addresses and a ping; -netgroup-cap also caps
// the visits at once per network group, as Bitcoin Core groups addresses
// (an IPv4 /16, an IPv6 /32, ...). Addresses gossiped in
// private ranges are not dialled unless -allow-private, so that a hostile
// peer cannot aim it at the user's own network.
//
// -json writes one object per address on stdout (the schema is in
// docs/crawl.md); Ctrl-C ends the crawl at once, writing what it has and
// the summary. It exits 0 when at least one handshake completed, 1 when
// none did (no address to start from included), and 2 for bad flags (an
// -addr port outside 1 to 65535 included), the rule dial and sweep follow
// too.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
	"github.com/bitcoin-handshake/handshake/examples/internal/report"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	network         string
	params          *chaincfg.Params // the network's
	seeds, addrs    cli.List
	depth, maxNodes int
	concurrency     int
	netgroupCap     int
	timeout         time.Duration
	connect         time.Duration
	limitsSet       bool
	ping            bool
	resolver        string
	net             cli.Net // -proxy, -i2psam, -cjdnsreachable
	allowPrivate    bool
	transport       handshake.Transport
	json, verbose   bool
	report          string
	demo            bool
	demoPeers       int
	demoUnreachable int
}

func parse(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := cli.NewFlagSet("crawl", "crawl [flags]",
		"Maps a Bitcoin network from its DNS seeds (or the -addr addresses): a\n"+
			"handshake, getaddr and ping with each node, then the addresses it gave.", cli.ExitRule)
	fs.StringVar(&c.network, "network", "mainnet", "network: "+strings.Join(handshake.NetworkNames(), ", "))
	fs.Var(&c.seeds, "seed", "DNS seed to start from (repeatable; default: the network's seeds)")
	fs.Var(&c.addrs, "addr", "node address to start from (repeatable; skips DNS)")
	fs.IntVar(&c.depth, "depth", 64, "hops to follow from the starting nodes (0: the starting nodes only)")
	fs.IntVar(&c.maxNodes, "max-nodes", 0, "most addresses to visit (0: no limit)")
	fs.IntVar(&c.concurrency, "concurrency", crawl.DefaultConcurrency, "nodes visited at once")
	fs.IntVar(&c.netgroupCap, "netgroup-cap", 0, "most nodes visited at once per network group, as Bitcoin Core groups addresses (0: no cap)")
	fs.DurationVar(&c.connect, "connect-timeout", crawl.DefaultLimits(handshake.NetIPv4).Connect, "time limit per connect (onion, I2P: 30s)")
	fs.DurationVar(&c.timeout, "timeout", crawl.DefaultLimits(handshake.NetIPv4).Handshake, "time limit per node for the handshake, and again for its addresses (onion, I2P: 30s)")
	fs.BoolVar(&c.ping, "ping", true, "measure each node's round-trip time with a ping")
	fs.StringVar(&c.resolver, "resolver", "", "DNS server to ask, host:port (default: the system's)")
	c.net.Register(fs)
	fs.BoolVar(&c.allowPrivate, "allow-private", false, "dial private, loopback and link-local addresses")
	transport := fs.String("transport", "auto", "transport: auto (per node, as Bitcoin Core chooses from its gossiped services), v1 or v2")
	fs.BoolVar(&c.json, "json", false, "print one JSON object per address on stdout; logs go to stderr")
	fs.BoolVar(&c.verbose, "v", false, "log a line per node")
	fs.StringVar(&c.report, "report", "", "at the end, write an HTML report of the crawl to this file")
	fs.BoolVar(&c.demo, "demo", false, "crawl a simulated network on loopback instead")
	fs.IntVar(&c.demoPeers, "demo-peers", 1000, "nodes in the -demo network")
	fs.IntVar(&c.demoUnreachable, "demo-unreachable", 50, "gossiped addresses nobody listens on in the -demo network")
	if err := cli.Parse(fs, args, stderr); err != nil {
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) { c.limitsSet = c.limitsSet || f.Name == "timeout" || f.Name == "connect-timeout" })
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q (addresses go in -addr)", fs.Arg(0))
	case c.concurrency <= 0:
		return nil, fmt.Errorf("-concurrency must be positive, got %d", c.concurrency)
	case c.timeout <= 0:
		return nil, fmt.Errorf("-timeout must be positive, got %v", c.timeout)
	case c.connect <= 0:
		return nil, fmt.Errorf("-connect-timeout must be positive, got %v", c.connect)
	case c.depth < 0:
		return nil, fmt.Errorf("-depth must not be negative, got %d", c.depth)
	case c.maxNodes < 0:
		return nil, fmt.Errorf("-max-nodes must not be negative, got %d", c.maxNodes)
	case c.netgroupCap < 0:
		return nil, fmt.Errorf("-netgroup-cap must not be negative, got %d", c.netgroupCap)
	case c.demoPeers <= 0 || c.demoPeers > 10000:
		return nil, fmt.Errorf("-demo-peers must be between 1 and 10000, got %d", c.demoPeers)
	case c.demoUnreachable < 0 || c.demoUnreachable > 10000:
		return nil, fmt.Errorf("-demo-unreachable must be between 0 and 10000, got %d", c.demoUnreachable)
	}
	if err := c.net.Check(); err != nil {
		return nil, err
	}
	if err := cli.CheckHostPort("-resolver", c.resolver, false); err != nil {
		return nil, err
	}
	if err := cli.CheckAddrs("-addr", c.addrs); err != nil {
		return nil, err
	}
	var err error
	if c.params, err = handshake.ParseNetwork(c.network); err != nil {
		return nil, err
	}
	if c.transport, err = handshake.ParseTransport(*transport); err != nil {
		return nil, err
	}
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if err != nil {
		return cli.UsageError(stderr, "crawl", err)
	}
	lg := cli.RunLogger("crawl", c.json, stdout, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	opts := crawl.Options{
		// The library's defaults are the polite ones: its own user
		// agent, no transaction relay.
		Handshake:    handshake.Options{ChainParams: c.params, Transport: c.transport},
		Concurrency:  c.concurrency,
		AllowPrivate: c.allowPrivate,
		MaxVisits:    c.maxNodes,
		MaxDepth:     c.depth,
		PerNetgroup:  c.netgroupCap,
		NoPing:       !c.ping,
		Dialers:      map[handshake.AddrNetwork]handshake.Dialer{},
	}
	if c.depth == 0 {
		opts.MaxDepth = -1 // the starting nodes only
	}
	// Before the demo, which points onion and I2P at its own proxy double.
	c.net.Crawl(&opts)
	resolver := net.DefaultResolver
	var demoStart []crawl.Target // the demo's other networks' seeds
	if c.demo {
		d, err := startDemo(c.demoPeers, c.demoUnreachable)
		if err != nil {
			fmt.Fprintf(stderr, "crawl: demo: %v\n", err)
			return cli.ExitNone
		}
		defer d.close()
		lg.Log("INFO", "Started a simulated network of %d nodes on loopback (and %d addresses where nothing listens), %d of them named by a DNS seed at %s",
			c.demoPeers, c.demoUnreachable, 4, d.seedAddr)
		ov, fixed, err := startDemoNetworks(d, c.demoPeers, &opts, lg)
		if err != nil {
			fmt.Fprintf(stderr, "crawl: demo: %v\n", err)
			return 1
		}
		defer ov.Close()
		demoStart = fixed
		opts.Handshake.ChainParams, resolver = d.params, d.resolver
		opts.AllowPrivate = true // the simulated nodes live on loopback
		if !c.limitsSet {
			c.connect, c.timeout = 2*time.Second, 2*time.Second
		}
	}
	l := crawl.Limits{Connect: c.connect, Handshake: c.timeout, GetAddr: c.timeout, Ping: min(c.timeout, crawl.DefaultLimits(handshake.NetIPv4).Ping)}
	opts.Limits = map[handshake.AddrNetwork]crawl.Limits{handshake.NetIPv4: l, handshake.NetIPv6: l, handshake.NetCJDNS: l}
	if c.resolver != "" {
		resolver = handshake.NewResolver(c.resolver)
	}
	start := append(startTargets(ctx, c, opts.Handshake.ChainParams, resolver, lg), demoStart...)
	if len(start) == 0 {
		lg.Log("ERROR", "No address to start from")
		return cli.ExitNone
	}
	lg.Log("INFO", "Starting from %d addresses. Crawling...", len(start))

	sum := newSummary()
	var tally cli.NetTally
	prog := cli.NewProgress(stderr, "%d of %d addresses found visited")
	found := len(start)
	prog.SetTotal(found)
	out := newRecorder(stdout, canonicalName(c.network))
	var rep *report.Data // only for -report: what the page shows of each node
	if c.report != "" {
		rep = &report.Data{}
	}
	began := time.Now()
	res, err := crawl.Crawl(ctx, opts, start, func(r crawl.Result) {
		prog.Clear()
		sum.add(r)
		quiet := false
		if r.Skipped != "" {
			tally.Skip(r.Network.String())
		} else {
			quiet = tally.Note(lg, r.Network.String(), r.Status, transportOf(r), r.Err)
		}
		if c.json {
			out.write(r)
		}
		if rep != nil {
			rep.Collect(newRecord(r, out.chain))
		}
		if c.verbose && !quiet {
			logNode(lg, r)
		}
		found += r.New
		prog.SetTotal(found)
		prog.Done()
	})
	prog.Clear()
	if ctx.Err() != nil {
		lg.Log("WARN", "Crawl interrupted: %v", ctx.Err())
	} else if err != nil {
		lg.Log("ERROR", "%v", err)
		return cli.ExitNone
	}
	if out.err != nil {
		lg.Log("ERROR", "Writing the results: %v", out.err)
	}
	wall := time.Since(began)
	lg.Log("INFO", "Finished! %d nodes dialled: %d reachable | %d PARTIALLY OK | %d unreachable, in %v",
		res.Visited, res.OK, res.PartiallyOK, res.Failed, wall.Round(time.Millisecond))
	sum.logIdeal(lg, c.concurrency, wall)
	lg.Log("INFO", "%d unique addresses known, %d given in all; %d not visited (interrupted); skipped: %s; not followed: %s",
		res.Known, res.Given, res.NotVisited, top(sum.skipped, 10), top(res.Dropped, 10))
	sum.log(lg)
	tally.Log(lg)
	if rep != nil {
		rep.Facts = report.Facts{
			Title: "Crawl of " + canonicalName(c.network), Program: "crawl", Network: canonicalName(c.network),
			Start: began, Elapsed: res.Elapsed, Addresses: res.Admitted, Skipped: res.Skipped,
			Concurrency: c.concurrency,
		}
		if c.demo {
			rep.Facts.Title, rep.Facts.Network = "Crawl of the simulated network", rep.Facts.Network+" (simulated on loopback)"
		}
		if err := rep.WriteFile(c.report); err != nil {
			lg.Log("ERROR", "%v", err)
			return cli.ExitNone
		}
		lg.Log("INFO", "Wrote the report to %s", c.report)
	}
	return cli.Status(res.OK)
}

// canonicalName is the chain's name as the report reads it.
func canonicalName(network string) string {
	switch network {
	case "main":
		return "mainnet"
	case "testnet":
		return "testnet3"
	}
	return network
}

// startTargets returns the -addr addresses, or the seeds' addresses,
// private ones skipped unless allowed.
func startTargets(ctx context.Context, c *config, params *chaincfg.Params, resolver *net.Resolver, lg *cli.Logger) []crawl.Target {
	var start []crawl.Target
	for _, a := range c.addrs {
		t, err := crawl.ParseTarget(cli.I2PPort(a), params.DefaultPort)
		if err != nil {
			lg.Log("ERROR", "-addr %s: %v", a, err)
			continue
		}
		start = append(start, t)
	}
	if len(c.addrs) > 0 {
		return start
	}
	so := handshake.SeedOptions{ChainParams: params, Resolver: resolver, Timeout: c.timeout, AllowPrivate: c.allowPrivate || c.demo}
	if len(c.seeds) > 0 {
		so.Seeds = make([]chaincfg.DNSSeed, len(c.seeds))
		for i, s := range c.seeds {
			so.Seeds[i] = chaincfg.DNSSeed{Host: s}
		}
	}
	for _, s := range seedList(so) {
		lg.Log("INFO", "Resolving DNS seed `%s`", s)
	}
	addrs, seeds, _ := handshake.ResolveSeeds(ctx, so)
	skipped := 0
	for _, s := range seeds {
		if s.Err != nil {
			lg.Log("ERROR", "DNS seed `%s`: %v", s.Host, s.Err)
		}
		skipped += len(s.Skipped)
	}
	if skipped > 0 {
		lg.Log("WARN", "Skipped %d private or local addresses returned by seeds (use -allow-private to dial them)", skipped)
	}
	for _, a := range addrs {
		if t, err := crawl.ParseTarget(a, params.DefaultPort); err == nil {
			start = append(start, t)
		}
	}
	return start
}

func seedList(so handshake.SeedOptions) []string {
	seeds := so.Seeds
	if seeds == nil {
		seeds = so.ChainParams.DNSSeeds
	}
	names := make([]string, len(seeds))
	for i, s := range seeds {
		names[i] = s.Host
	}
	return names
}
