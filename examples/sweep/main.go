// Command sweep resolves a network's DNS seeds and performs the Bitcoin
// handshake with every node they name, printing a line per node and a
// summary.
//
//	go run ./examples/sweep                 # mainnet's DNS seeds
//	go run ./examples/sweep -demo           # a simulated network on loopback
//	go run ./examples/sweep -network testnet4 -json > nodes.jsonl
//	go run ./examples/sweep -demo -report report.html  # and an HTML report
//	go run ./examples/sweep -proxy 127.0.0.1:9050 -addr <name>.onion  # through Tor (docs/networks-programs.md)
//
// It exits 0 when at least one handshake completed, 1 when none did (no
// address obtained included), and 2 for bad flags (an -addr port outside 1
// to 65535 included), the rule dial and crawl follow too.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
	"github.com/bitcoin-handshake/handshake/examples/internal/report"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	network      string
	params       *chaincfg.Params // the network's
	seeds, addrs cli.List
	concurrency  int
	timeout      time.Duration
	resolver     string
	allowPrivate bool
	services     string
	transport    handshake.Transport
	json         bool
	report       string
	verbose      bool
	demo         bool
	demoPeers    int
	timeoutSet   bool
	net          cli.Net // -proxy, -i2psam, -cjdnsreachable
}

func parse(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := cli.NewFlagSet("sweep", "sweep [flags]",
		"Resolves a network's DNS seeds (or takes the -addr addresses) and performs the\n"+
			"Bitcoin handshake with every node they name, a line per node and a summary.", cli.ExitRule)
	fs.StringVar(&c.network, "network", "mainnet", "network: "+strings.Join(handshake.NetworkNames(), ", "))
	fs.Var(&c.seeds, "seed", "DNS seed to resolve (repeatable; default: the network's seeds)")
	fs.Var(&c.addrs, "addr", "node address to handshake with (repeatable; skips DNS)")
	fs.IntVar(&c.concurrency, "concurrency", handshake.DefaultConcurrency, "handshakes in flight")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "time limit per node")
	fs.StringVar(&c.resolver, "resolver", "", "DNS server to ask, host:port (default: the system's)")
	fs.BoolVar(&c.allowPrivate, "allow-private", false, "dial private, loopback and link-local addresses seeds return")
	fs.StringVar(&c.services, "services", "", "required service bits in hex, e.g. 9 (asks seeds that filter)")
	fs.TextVar(&c.transport, "transport", handshake.TransportAuto, "transport: auto (v2, falling back to v1), v1 or v2")
	fs.BoolVar(&c.json, "json", false, "print one JSON object per node on stdout; logs go to stderr")
	fs.StringVar(&c.report, "report", "", "at the end, write an HTML report of the results to this file")
	fs.BoolVar(&c.verbose, "v", false, "log every message sent and received")
	fs.BoolVar(&c.demo, "demo", false, "sweep a simulated network on loopback instead")
	fs.IntVar(&c.demoPeers, "demo-peers", 40, "nodes in the -demo network")
	c.net.Register(fs)
	if err := cli.Parse(fs, args, stderr); err != nil {
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
	case c.demoPeers <= 0 || c.demoPeers > 250:
		return nil, fmt.Errorf("-demo-peers must be between 1 and 250, got %d", c.demoPeers)
	}
	if err := cli.CheckHostPort("-resolver", c.resolver, false); err != nil {
		return nil, err
	}
	if err := cli.CheckAddrs("-addr", c.addrs); err != nil {
		return nil, err
	}
	if err := c.net.Check(); err != nil {
		return nil, err
	}
	if c.services != "" {
		if _, err := strconv.ParseUint(strings.TrimPrefix(c.services, "0x"), 16, 64); err != nil {
			return nil, fmt.Errorf("-services %q: want hexadecimal service bits", c.services)
		}
	}
	var err error
	if c.params, err = handshake.ParseNetwork(c.network); err != nil {
		return nil, err
	}
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if err != nil {
		return cli.UsageError(stderr, "sweep", err)
	}
	lg := cli.RunLogger("sweep", c.json, stdout, stderr)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	opts := handshake.SweepOptions{
		Handshake:    handshake.Options{ChainParams: c.params, Timeout: c.timeout, Transport: c.transport},
		Concurrency:  c.concurrency,
		AllowPrivate: c.allowPrivate,
	}
	if c.demo {
		// A simulated network on loopback: fake nodes with a realistic
		// mix of behaviours on distinct 127.x addresses sharing one
		// port, named by two overlapping DNS seeds.
		n, err := handshaketest.NewNetwork(handshaketest.NetworkConfig{
			Peers: handshaketest.Mix(c.demoPeers),
			Seeds: []string{"seed1.demo.test.", "seed2.demo.test."},
		})
		if err != nil {
			fmt.Fprintf(stderr, "sweep: demo: %v\n", err)
			return cli.ExitNone
		}
		defer n.Close()
		lg.Log("INFO", "Started a simulated network of %d nodes on loopback, named by a DNS seed at %s", c.demoPeers, n.Seed.Addr())
		opts.Handshake.ChainParams = n.Params(&chaincfg.MainNetParams)
		opts.Resolver = n.Seed.Resolver()
		opts.AllowPrivate = true // the simulated nodes live on loopback
		if !c.timeoutSet {
			opts.Handshake.Timeout = 2 * time.Second // its silent nodes need not hold the demo long
		}
	}
	if c.resolver != "" {
		opts.Resolver = handshake.NewResolver(c.resolver)
	}
	for _, s := range c.seeds {
		opts.Seeds = append(opts.Seeds, chaincfg.DNSSeed{Host: s, HasFiltering: seedFilters(opts.Handshake.ChainParams, s)})
	}
	dialers, closeDialers, err := c.net.Dialers()
	if err != nil {
		lg.Log("ERROR", "%v", err)
		return 1
	}
	defer closeDialers()
	opts.Handshake.Dialer = handshake.ByNetwork(dialers)
	var unreached map[string]int
	opts.Addrs, unreached = c.net.Reachable(c.addrs)
	c.net.LogSkipped(lg, unreached)
	if c.services != "" {
		bits, _ := strconv.ParseUint(strings.TrimPrefix(c.services, "0x"), 16, 64)
		opts.RequiredServices = wire.ServiceFlag(bits)
	}
	if c.verbose {
		opts.Handshake.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	seeds := opts.Seeds
	if seeds == nil && len(opts.Addrs) == 0 {
		seeds = opts.Handshake.ChainParams.DNSSeeds
	}
	for _, s := range seeds {
		lg.Log("INFO", "Resolving DNS seed `%s`", s.Host)
	}
	prog := cli.NewProgress(stderr, "%d/%d handshakes done")
	opts.OnResolved = func(sum handshake.SweepSummary) {
		for _, s := range sum.Seeds {
			if s.Err != nil {
				lg.Log("ERROR", "DNS seed `%s`: %v", s.Query, s.Err)
			}
		}
		if len(sum.Skipped) > 0 {
			lg.Log("WARN", "Skipped %d private or local addresses returned by seeds (use -allow-private to dial them)", len(sum.Skipped))
		}
		lg.Log("INFO", "Resolved %d addresses. Starting handshakes...", sum.Addresses)
		prog.SetTotal(sum.Addresses)
	}

	var tally cli.NetTally
	var rep *report.Data // only for -report: what the page shows of each result
	if c.report != "" {
		rep = &report.Data{}
	}
	start := time.Now()
	sum, err := handshake.Sweep(ctx, opts, func(r handshake.Result) {
		prog.Clear()
		line, _ := cli.TaggedJSON(r)
		if rep != nil {
			rep.Collect(json.RawMessage(line))
		}
		if c.json {
			stdout.Write(append(line, '\n'))
		}
		if !tally.Note(lg, cli.NetworkOf(r.Addr), r.Status, r.Transport, r.Err) {
			logResult(lg, r)
		}
		prog.Done()
	})
	prog.Clear()
	if err != nil && sum.Addresses == 0 {
		lg.Log("ERROR", "%v", err)
		return cli.ExitNone
	}
	if err != nil {
		lg.Log("WARN", "Sweep interrupted: %v", err)
	}
	if down := tally.ProxyDown(); down > 0 { // not dead nodes: their proxy was
		lg.Log("INFO", "Finished! Handshake results: %d OK | %d PARTIALLY OK | %d FAILED | %d NOT REACHED (proxy down)", sum.OK, sum.PartiallyOK, sum.Failed-down, down)
	} else {
		lg.Log("INFO", "Finished! Handshake results: %d OK | %d PARTIALLY OK | %d FAILED", sum.OK, sum.PartiallyOK, sum.Failed)
	}
	lg.Log("INFO", "%d addresses in %v, %d skipped", sum.Addresses, sum.Elapsed.Round(time.Millisecond), len(sum.Skipped))
	tally.Log(lg)
	if rep != nil {
		rep.Facts = report.Facts{
			Title: "Sweep of " + c.network, Program: "sweep", Network: c.network,
			Start: start, Elapsed: sum.Elapsed, Addresses: sum.Addresses,
			Skipped: len(sum.Skipped), Concurrency: c.concurrency,
		}
		if c.demo {
			rep.Facts.Title, rep.Facts.Network = "Sweep of the simulated network", c.network+" (simulated on loopback)"
		}
		if err := rep.WriteFile(c.report); err != nil {
			lg.Log("ERROR", "%v", err)
			return cli.ExitNone
		}
		lg.Log("INFO", "Wrote the report to %s", c.report)
	}
	return cli.Status(sum.OK)
}

// logResult prints a node's line: INFO when the handshake completed, WARN
// with the reason when it was partial, ERROR with the cause when it failed.
// The peer's strings are escaped (cli.Sanitize); its BIP434 features and
// the messages ignored as Core ignores them follow when there are any.
func logResult(lg *cli.Logger, r handshake.Result) {
	extra := ""
	if len(r.Features) > 0 {
		extra += fmt.Sprintf(", features [%s]", strings.Join(cli.Features(r.Features), " "))
	}
	if len(r.Ignored) > 0 {
		extra += fmt.Sprintf(", ignored [%s]", strings.Join(cli.Ignored(r.Ignored), ", "))
	}
	ua := cli.Sanitize(r.Peer.UserAgent)
	switch r.Status {
	case handshake.StatusOK:
		over := r.Transport.String()
		if r.Fallback != "" {
			over += " (fallback)"
		}
		lg.Log("INFO", "`%s`: Handshake OK over %s: %s, protocol %d, height %d, negotiation [%s]%s in %v",
			r.Addr, over, ua, r.Peer.ProtocolVersion, r.Peer.StartHeight,
			strings.Join(cli.SanitizeAll(r.Negotiation), " "), extra, r.Timings.Total.Round(100*time.Microsecond))
	case handshake.StatusPartiallyOK:
		lg.Log("WARN", "`%s`: Handshake incomplete: %s (%s): %s%s", r.Addr, ua, r.Transport, cli.Cause(r.Err), extra)
	default:
		lg.Log("ERROR", "`%s`: Handshake attempt failed with: %s%s", r.Addr, cli.Cause(r.Err), extra)
	}
}

// seedFilters reports whether host is one of the network's seeds known to
// support service filtering.
func seedFilters(p *chaincfg.Params, host string) bool {
	for _, s := range p.DNSSeeds {
		if strings.EqualFold(s.Host, host) {
			return s.HasFiltering
		}
	}
	return false
}
