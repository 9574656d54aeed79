// Command seeder is a Bitcoin DNS seed: it crawls the network without end,
// keeps each node's reliability in a SQLite database, and answers DNS
// queries for its zone with a sample of the nodes that pass its good rule,
// including "x<hex>." names that ask for service bits (NODE_P2P_V2 is
// x800). It writes sipa's dnsseed.dump for Bitcoin Core's makeseeds.py and
// exposes Prometheus metrics.
//
//	go run ./examples/seeder -demo    # a simulated network; DNS on 127.0.0.1:5353
//	dig @127.0.0.1 -p 5353 seed.demo.test A
//
//	seeder -zone seed.example.com -ns ns.example.com -mbox hostmaster.example.com \
//	       -listen :53 -db /var/lib/seeder/seeder.db -dump /var/lib/seeder/dnsseed.dump \
//	       -metrics 127.0.0.1:9153
//
// With -proxy (Tor), -i2psam (I2P) and -cjdnsreachable it crawls those
// networks too and writes their nodes to the dump; DNS answers carry IPv4
// and IPv6 only (docs/networks-programs.md).
//
// Bad flags exit with status 2, other failures with 1. SIGINT or SIGTERM
// stops it gracefully: the visits in flight are cut short and not counted
// against their nodes, the table is committed and the dump written once
// more.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

type config struct {
	zone, ns, mbox string
	listen         string
	network        string
	seeds, addrs   cli.List
	allowPrivate   bool
	concurrency    int
	db, dump       string
	dumpInterval   time.Duration
	commitInterval time.Duration
	retest         time.Duration
	timeout        time.Duration
	metrics        string
	maxNodes       int
	answers, ttl   int
	verbose        bool
	demo           bool
	demoPeers      int
	demoPort       string
	net            cli.Net // -proxy, -i2psam, -cjdnsreachable
	// The DNS side's serving and operation.
	rrlRate, rrlSlip int
	dnssecKeys       cli.List
	version          bool

	set              map[string]bool
	params           *chaincfg.Params
	zoneN, nsN, mbxN dnsmessage.Name
}

func parse(args []string) (*config, error) {
	c := &config{set: make(map[string]bool)}
	fs := flag.NewFlagSet("seeder", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.zone, "zone", "", "the seed's domain, e.g. seed.example.com (-demo: seed.demo.test)")
	fs.StringVar(&c.ns, "ns", "", "the name server's name for NS and SOA (default: ns.<zone>)")
	fs.StringVar(&c.mbox, "mbox", "", "the zone's contact mailbox for SOA, as a name or an address (default: hostmaster.<zone>)")
	fs.StringVar(&c.listen, "listen", ":53", "host:port to answer DNS on, UDP and TCP (-demo: 127.0.0.1:5353)")
	fs.StringVar(&c.network, "network", "mainnet", "network: "+strings.Join(handshake.NetworkNames(), ", "))
	fs.Var(&c.seeds, "seed", "DNS seed to start from (repeatable; default: the network's seeds)")
	fs.Var(&c.addrs, "addr", "node address ip:port to start from (repeatable)")
	fs.BoolVar(&c.allowPrivate, "allow-private", false, "visit and hand out private and loopback addresses")
	fs.IntVar(&c.concurrency, "concurrency", 64, "nodes visited at once")
	fs.StringVar(&c.db, "db", "seeder.db", "SQLite database `path` (-demo: a temporary one)")
	fs.StringVar(&c.dump, "dump", "dnsseed.dump", "dump file `path`, in sipa's dnsseed.dump format; empty for none (-demo: a temporary one)")
	fs.DurationVar(&c.dumpInterval, "dump-interval", time.Minute, "how often to write the dump")
	fs.DurationVar(&c.commitInterval, "commit-interval", 5*time.Second, "how often to commit the table to the database")
	fs.DurationVar(&c.retest, "retest", DefaultRetest, "how often to visit a node that answers; failing ones back off from it (-demo: 10s)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "time limit per node for the handshake, and again for ping and getaddr")
	fs.StringVar(&c.metrics, "metrics", "", "host:port to serve Prometheus /metrics on (default: none)")
	fs.IntVar(&c.maxNodes, "max-nodes", DefaultMaxNodes, "most addresses the table holds")
	fs.IntVar(&c.answers, "answers", DefaultAnswers, fmt.Sprintf("addresses per DNS answer (at most %d)", maxAnswersLimit))
	fs.IntVar(&c.ttl, "ttl", DefaultTTL, "TTL of DNS answers, in seconds")
	fs.BoolVar(&c.verbose, "v", false, "log every visit and commit")
	fs.BoolVar(&c.demo, "demo", false, "crawl a simulated network on loopback")
	fs.IntVar(&c.rrlRate, "rrl-rate", DefaultRRLRate, "UDP answers per second to one client prefix (IPv4 /24, IPv6 /56); 0 for no limit")
	fs.IntVar(&c.rrlSlip, "rrl-slip", DefaultRRLSlip, "answer every Nth rate-limited query truncated (TC), drop the others; 0: drop all")
	fs.Var(&c.dnssecKeys, "dnssec-key", "DNSSEC key `file` from dnssec-keygen (K<zone>.+NNN+NNNNN, .key or .private; repeatable: a KSK and a ZSK, or one CSK); signs the zone")
	fs.BoolVar(&c.version, "version", false, "print the version and exit")
	fs.IntVar(&c.demoPeers, "demo-peers", 200, "nodes in the -demo network")
	fs.StringVar(&c.demoPort, "demo-port", "", "port of the -demo network's nodes (default: a free one)")
	c.net.Register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fs.Usage()
		}
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	if c.version {
		return c, nil
	}
	if c.demo {
		if !c.set["zone"] {
			c.zone = "seed.demo.test"
		}
		if !c.set["listen"] {
			c.listen = "127.0.0.1:5353"
		}
		if !c.set["retest"] {
			// Show re-tests (and v2 found on the second visit, gossip
			// having said nothing of it) within a demo's minute.
			c.retest = 10 * time.Second
		}
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q (addresses go in -addr)", fs.Arg(0))
	case c.zone == "":
		return nil, errors.New("-zone is required (or -demo)")
	case c.concurrency <= 0 || c.concurrency > 10000:
		return nil, fmt.Errorf("-concurrency must be between 1 and 10000, got %d", c.concurrency)
	case c.timeout <= 0, c.retest <= 0, c.dumpInterval <= 0, c.commitInterval <= 0:
		return nil, errors.New("-timeout, -retest, -dump-interval and -commit-interval must be positive")
	case c.maxNodes <= 0:
		return nil, fmt.Errorf("-max-nodes must be positive, got %d", c.maxNodes)
	case c.answers <= 0 || c.answers > maxAnswersLimit:
		return nil, fmt.Errorf("-answers must be between 1 and %d, got %d", maxAnswersLimit, c.answers)
	case c.ttl < 0 || c.ttl > 86400:
		return nil, fmt.Errorf("-ttl must be between 0 and 86400, got %d", c.ttl)
	case c.demoPeers <= 0 || c.demoPeers > 10000:
		return nil, fmt.Errorf("-demo-peers must be between 1 and 10000, got %d", c.demoPeers)
	case c.db == "":
		return nil, errors.New("-db must name a file")
	case c.rrlRate < 0 || c.rrlSlip < 0:
		return nil, errors.New("-rrl-rate and -rrl-slip must not be negative")
	}
	for _, f := range []struct{ name, v string }{{"-listen", c.listen}, {"-metrics", c.metrics}} {
		if err := cli.CheckHostPort(f.name, f.v, true); err != nil {
			return nil, err
		}
	}
	if err := c.net.Check(); err != nil {
		return nil, err
	}
	for _, a := range c.addrs {
		if err := cli.CheckAddr("-addr", a); err != nil {
			return nil, err
		}
		if _, ok := networkOf(a); !ok {
			return nil, fmt.Errorf("-addr %q: want ip:port, onion:port or i2p:0", a)
		}
	}
	var err error
	if c.params, err = handshake.ParseNetwork(c.network); err != nil {
		return nil, err
	}
	if c.ns == "" {
		c.ns = "ns." + c.zone
	}
	if c.mbox == "" {
		c.mbox = "hostmaster." + c.zone
	}
	// An e-mail address becomes a name: its first "@" is a dot (RFC 1035).
	c.mbox = strings.Replace(c.mbox, "@", ".", 1)
	for _, n := range []struct {
		flag, v string
		dst     *dnsmessage.Name
	}{{"-zone", c.zone, &c.zoneN}, {"-ns", c.ns, &c.nsN}, {"-mbox", c.mbox, &c.mbxN}} {
		if *n.dst, err = dnsName(n.v); err != nil {
			return nil, fmt.Errorf("%s %q: %v", n.flag, n.v, err)
		}
	}
	return c, nil
}

// dnsName makes a canonical name: lower case, with its final dot.
func dnsName(s string) (dnsmessage.Name, error) {
	s = strings.ToLower(strings.TrimSuffix(s, "."))
	if s == "" || len(s) > 200 || strings.ContainsAny(s, " \t/\\@") {
		return dnsmessage.Name{}, errors.New("not a domain name")
	}
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 {
			return dnsmessage.Name{}, errors.New("not a domain name (labels are 1 to 63 bytes)")
		}
	}
	return dnsmessage.NewName(s + ".")
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	c, err := parse(args)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "seeder: %v\n", err)
		}
		return 2
	}
	if c.version {
		fmt.Fprintln(os.Stdout, version())
		return 0
	}
	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := serve(ctx, c, log); err != nil {
		log.Error("seeder stopped", "err", err)
		return 1
	}
	return 0
}

// serve runs the seeder until ctx ends.
func serve(ctx context.Context, c *config, log *slog.Logger) error {
	params, resolver := c.params, net.DefaultResolver
	allowPrivate := c.allowPrivate
	if c.demo {
		d, err := startDemo(c.demoPeers, c.demoPort)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer d.close()
		params, resolver, allowPrivate = d.params, d.resolver, true
		log.Info("started a simulated network on loopback", "nodes", c.demoPeers, "port", params.DefaultPort, "dns_seed", d.seedAddr)
		ov, seeds, err := startDemoNetworks(d, c.demoPeers, &c.net, log)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer ov.Close()
		c.addrs = append(c.addrs, seeds...)
		if !c.set["db"] || !c.set["dump"] {
			dir, err := os.MkdirTemp("", "seeder-demo")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			if !c.set["db"] {
				c.db = filepath.Join(dir, "seeder.db")
			}
			if !c.set["dump"] {
				c.dump = filepath.Join(dir, "dnsseed.dump")
			}
		}
	}
	st, err := openStore(ctx, c.db)
	if err != nil {
		return err
	}
	defer st.Close()
	m := newMetrics()
	port, err := parsePort(params.DefaultPort)
	if err != nil {
		return err
	}
	var keys *keyset
	if len(c.dnssecKeys) > 0 {
		if keys, err = readKeys(c.zoneN.String(), c.dnssecKeys); err != nil {
			return err
		}
		log.Info("dnssec: signing the zone", "keys", keys.description, "ds", keys.ds().String())
	}
	resp := &responder{
		keys:  keys,
		zone:  zone{name: c.zoneN, ns: c.nsN, mbox: c.mbxN, ttl: uint32(c.ttl), answers: c.answers},
		count: &m.dns,
		log:   log,
	}
	dialers, closeDialers, err := c.net.Dialers()
	if err != nil {
		return err
	}
	defer closeDialers()
	log.Info("networks", "reached", c.net.Describe())
	s := &seeder{
		table: newTable(c.maxNodes, goodPolicy{defaultPort: port, services: requiredServices,
			minVersion: minGoodVersion, allowPrivate: allowPrivate}, schedule{retest: c.retest}),
		store: st, resp: resp, metrics: m, log: log,
		prober:      newCrawlProber(handshake.Options{ChainParams: params}, c.timeout, allowPrivate, dialers, c.net.Concurrency()),
		concurrency: c.concurrency,
		caps:        newNetCaps(c.net.Concurrency()),
		tick:        250 * time.Millisecond,
		publish:     time.Second,
		commit:      c.commitInterval,
		dumpEvery:   c.dumpInterval,
		dumpPath:    c.dump,
	}
	if err := s.start(ctx); err != nil {
		return err
	}
	hupDone := make(chan struct{})
	defer close(hupDone)
	ignoreHUP(log, hupDone)
	srv, err := listenDNS(c.listen, resp, log, dnsOptions{limit: newRRL(c.rrlRate, c.rrlSlip), counts: &m.server})
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	defer srv.Close()
	log.Info("serving DNS", "zone", c.zoneN.String(), "listen", srv.Addr(), "udp_sockets", len(srv.udp), "rrl_rate", c.rrlRate, "rrl_slip", c.rrlSlip, "dnssec", keys != nil, "db", c.db, "dump", c.dump)
	if c.metrics != "" {
		l, err := net.Listen("tcp", c.metrics)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		log.Info("serving metrics", "url", "http://"+l.Addr().String()+"/metrics")
		var wg sync.WaitGroup
		defer wg.Wait() // serve returns once ctx has ended and it has shut down
		wg.Go(func() {
			if err := m.serve(ctx, l); err != nil {
				log.Error("metrics", "err", err)
			}
		})
	}
	var seedList []chaincfg.DNSSeed // nil: the network's own
	for _, h := range c.seeds {
		seedList = append(seedList, chaincfg.DNSSeed{Host: h})
	}
	s.addStart(ctx, c.addrs, handshake.SeedOptions{ChainParams: params, Seeds: seedList, Resolver: resolver, AllowPrivate: allowPrivate})
	if s.table.len() == 0 {
		return errors.New("no address to start from: no -addr, and the DNS seeds gave none")
	}
	err = s.run(ctx)
	log.Info("stopped", "nodes", s.table.len(), "good", s.goodCount())
	return err
}

func parsePort(p string) (uint16, error) {
	ap, err := net.LookupPort("tcp", p)
	if err != nil || ap <= 0 || ap > 65535 {
		return 0, fmt.Errorf("bad default port %q", p)
	}
	return uint16(ap), nil
}
