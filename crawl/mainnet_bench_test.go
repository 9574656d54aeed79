package crawl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
)

// mainnetConfig is BenchmarkMainnet's network and settings, read from the
// environment:
//
//	MAINNET_BENCH_SCALE=f          the network's size as a fraction of
//	                               mainnet's (below); default 0.05, about
//	                               3,000 addresses in seconds; 1 is the
//	                               full size, minutes
//	MAINNET_BENCH_CONCURRENCY=n    visits in flight; default 1000
//	MAINNET_BENCH_TOR=kxm          k proxy doubles, m connects in flight
//	                               at each; default 8x64
//	MAINNET_BENCH_I2P=m            connects in flight at the SAM bridge;
//	                               default 128
//	MAINNET_BENCH_LOSS=p           per cent of TCP packets dropped in the
//	                               namespace; default 1
//	MAINNET_BENCH_NETWORK_CONCURRENCY=onion=n,i2p=m,...
//	                               crawl.Options.NetworkConcurrency;
//	                               default none
//
// At scale 1: 8,000 reachable IPv4 nodes, 2,000 IPv6, 12,000 onion, 2,000
// I2P; 18,000 dead IPv4 addresses, 6,000 IPv6, 10,000 onion, 2,000 I2P:
// 60,000 gossiped addresses.
type mainnetConfig struct {
	Scale        float64
	Concurrency  int
	Proxies      int
	TorPending   int
	I2PPending   int
	LossPercent  float64
	PerNetwork   map[string]int // visits in flight per network ("onion", ...); none by default
	Namespace    bool           // in a network namespace of its own: IPv6, dropped SYNs, loss
	NodesPerFarm int            // nodes one farm process serves, within its file limit
}

var mainnetFull = map[string][2]int{"ipv4": {8000, 18000}, "ipv6": {2000, 6000}, "onion": {12000, 10000}, "i2p": {2000, 2000}}

var mainnetNets = []string{"ipv4", "ipv6", "onion", "i2p"}

var mainnetNetwork = map[string]handshake.AddrNetwork{"ipv4": handshake.NetIPv4, "ipv6": handshake.NetIPv6,
	"onion": handshake.NetTorV3, "i2p": handshake.NetI2P}

func readMainnetConfig(b *testing.B) mainnetConfig {
	c := mainnetConfig{Scale: 0.05, Concurrency: 1000, Proxies: 8, TorPending: 64, I2PPending: 128, LossPercent: 1}
	num := func(name string, parse func(string) error) {
		if v := os.Getenv(name); v != "" {
			if err := parse(v); err != nil {
				b.Fatalf("%s=%q: %v", name, v, err)
			}
		}
	}
	positive := func(p *int) func(string) error {
		return func(v string) error {
			n, err := strconv.Atoi(v)
			if err == nil && n <= 0 {
				err = fmt.Errorf("want a positive number")
			}
			*p = n
			return err
		}
	}
	num("MAINNET_BENCH_SCALE", func(v string) (err error) {
		c.Scale, err = strconv.ParseFloat(v, 64)
		if err == nil && (c.Scale <= 0 || c.Scale > 2) {
			err = fmt.Errorf("want 0 < scale <= 2")
		}
		return err
	})
	num("MAINNET_BENCH_CONCURRENCY", positive(&c.Concurrency))
	num("MAINNET_BENCH_I2P", positive(&c.I2PPending))
	num("MAINNET_BENCH_TOR", func(v string) error {
		k, m, _ := strings.Cut(v, "x")
		if err := positive(&c.Proxies)(k); err != nil {
			return err
		}
		return positive(&c.TorPending)(m)
	})
	num("MAINNET_BENCH_NETWORK_CONCURRENCY", func(v string) error {
		c.PerNetwork = map[string]int{}
		for _, kv := range strings.Split(v, ",") {
			k, n, _ := strings.Cut(kv, "=")
			if mainnetNetwork[k] == 0 {
				return fmt.Errorf("no network %q", k)
			}
			var cap int
			if err := positive(&cap)(n); err != nil {
				return err
			}
			c.PerNetwork[k] = cap
		}
		return nil
	})
	num("MAINNET_BENCH_LOSS", func(v string) (err error) {
		c.LossPercent, err = strconv.ParseFloat(v, 64)
		if err == nil && (c.LossPercent < 0 || c.LossPercent > 50) {
			err = fmt.Errorf("want 0 to 50")
		}
		return err
	})
	return c
}

// count is the network's count of reachable (i=0) or dead (i=1) addresses.
func (c mainnetConfig) count(network string, i int) int {
	if network == "ipv6" && !c.Namespace {
		return 0
	}
	n := int(math.Round(float64(mainnetFull[network][i]) * c.Scale))
	if network == "ipv4" && i == 0 {
		n = max(n, 16) // the seeded nodes
	}
	return n
}

// BenchmarkMainnet crawls a network shaped like mainnet: nodes on IPv4,
// IPv6, and onion and I2P names behind proxy doubles (handshaketest.Proxy,
// reached with handshake.Tor over several SOCKS ports and handshake.I2P
// over SAM), each node answering after a delay of its own (20 to 400 ms,
// log-uniform; onion and I2P connections take 1 to 5 s more to set up), and
// dead addresses among them: clearnet ones whose SYNs an nftables rule
// drops, onion names Tor finds no descriptor for and I2P names the router
// finds no lease set for, each after 1 to 5 s. An nftables numgen rule
// drops MAINNET_BENCH_LOSS per cent of all TCP packets.
//
// As root it makes a network namespace of its own for this, with its
// loopback up, 2001:db8::/32 routed to it for the IPv6 nodes, and the
// rules, runs itself in it, and removes it (its rules with it) when done,
// failed or not. Without root it runs on the host's loopback without the
// IPv6 nodes, with dead clearnet addresses refusing rather than dropping,
// and without loss, and says so.
//
// The crawl runs at the engine's defaults (5 s to connect on clearnet, 30 s
// through the proxies), with Concurrency, the Tor proxies' MaxPending and
// I2P's as configured. Reported, measured in one run:
//
//	found-<net>      reachable nodes handshaken over the reachable nodes
//	                 there are (target 1)
//	lost, doubled    gossiped addresses without a Result, and with more
//	                 than one (target 0)
//	conns/node       connections the nodes accepted per reachable node
//	                 (target 1)
//	reqs/proxied     requests at the proxy doubles per onion and I2P
//	                 address (target 1)
//	syns/dead        connection attempts per dead clearnet address, as the
//	                 namespace's firewall saw them (target 1; root only)
//	wall-s, ideal-s  the crawl's wall time, and the least it could take:
//	                 the largest of the visits' time over Concurrency, the
//	                 onion circuits' over the Tor slots, the I2P
//	                 tunnels' over the I2P slots, and a capped network's
//	                 visits' over its cap, a visit's time not
//	                 counting its wait for a proxy's slot
//	x-ideal          wall-s / ideal-s (target 1.15 or less)
//	peak-RSS-MB      the crawling process's peak resident memory (target
//	                 under 200)
func BenchmarkMainnet(b *testing.B) {
	cfg := readMainnetConfig(b)
	files := raiseFileLimit(b)
	cfg.NodesPerFarm = int(min(files/2, 1<<16))
	if out := os.Getenv(mainnetChildEnv); out != "" {
		// The child, in the namespace: crawl and hand the figures back.
		cfg.Namespace = true
		m := crawlMainnet(b, cfg)
		data, err := json.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(out, data, 0o600); err != nil {
			b.Fatal(err)
		}
		return
	}
	for range b.N {
		var m mainnetFigures
		if os.Geteuid() == 0 {
			m = inNamespace(b, cfg)
		} else {
			b.Log("NOT ROOT: no network namespace, so no IPv6 nodes, dead clearnet addresses refuse instead of " +
				"dropping SYNs, and no packet loss; run as root for the mainnet-shaped network")
			m = crawlMainnet(b, cfg)
		}
		m.report(b)
	}
}

// mainnetFigures is what one crawl of the network showed.
type mainnetFigures struct {
	Reachable, Found           map[string]int
	Gossiped, Lost, Doubled    int
	Accepted, Nodes            int
	ProxyRequests, Proxied     int
	ProxyPeak                  int
	DeadSYNs, DeadSeen, Dead   int // attempts and distinct addresses at the firewall, dead clearnet addresses
	MostSYNs                   int
	Wall, Ideal                float64
	IdealVisits, IdealTor      float64
	IdealNetwork               map[string]float64 // a network's visits over its NetworkConcurrency
	IdealI2P                   float64
	PeakRSS                    float64 // MiB
	Failures                   map[string]map[string]int
	Concurrency, TorSlots, I2P int
	Namespace                  bool
}

func (m mainnetFigures) report(b *testing.B) {
	for _, n := range mainnetNets {
		if m.Reachable[n] > 0 {
			b.ReportMetric(float64(m.Found[n])/float64(m.Reachable[n]), "found-"+n)
		}
	}
	b.ReportMetric(float64(m.Lost), "lost")
	b.ReportMetric(float64(m.Doubled), "doubled")
	b.ReportMetric(float64(m.Accepted)/float64(m.Nodes), "conns/node")
	if m.Proxied > 0 {
		b.ReportMetric(float64(m.ProxyRequests)/float64(m.Proxied), "reqs/proxied")
	}
	if m.Dead > 0 && m.Namespace {
		b.ReportMetric(float64(m.DeadSYNs)/float64(m.Dead), "syns/dead")
	}
	b.ReportMetric(m.Wall, "wall-s")
	b.ReportMetric(m.Ideal, "ideal-s")
	b.ReportMetric(m.Wall/m.Ideal, "x-ideal")
	b.ReportMetric(m.PeakRSS, "peak-RSS-MB")
	b.ReportMetric(float64(m.Gossiped), "addresses")
	b.ReportMetric(0, "ns/op") // one crawl: wall-s says it
	b.Logf("%d gossiped addresses; reachable found per network %v of %v; %d lost, %d doubled results",
		m.Gossiped, m.Found, m.Reachable, m.Lost, m.Doubled)
	b.Logf("connections: %d accepted by %d nodes; %d proxy requests for %d onion and I2P addresses (at most %d pending at one proxy); dead clearnet: %d connection attempts to %d of %d addresses",
		m.Accepted, m.Nodes, m.ProxyRequests, m.Proxied, m.ProxyPeak, m.DeadSYNs, m.DeadSeen, m.Dead)
	b.Logf("wall %.1fs, ideal %.1fs (%.2fx): visits %.1fs over %d, Tor circuits %.1fs over %d slots, I2P tunnels %.1fs over %d slots; peak RSS %.0f MB",
		m.Wall, m.Ideal, m.Wall/m.Ideal, m.IdealVisits, m.Concurrency, m.IdealTor, m.TorSlots, m.IdealI2P, m.I2P, m.PeakRSS)
	if len(m.IdealNetwork) > 0 {
		b.Logf("per-network caps: each network's visits over its cap, in seconds: %v", m.IdealNetwork)
	}
	b.Logf("failures by network and kind: %v", m.Failures)
	for _, n := range mainnetNets {
		if m.Found[n] != m.Reachable[n] {
			b.Errorf("%s: %d of %d reachable nodes found", n, m.Found[n], m.Reachable[n])
		}
	}
	if m.Lost != 0 || m.Doubled != 0 {
		b.Errorf("%d addresses lost, %d doubled", m.Lost, m.Doubled)
	}
	if m.Accepted != m.Nodes || m.ProxyRequests != m.Proxied {
		b.Errorf("%d connections to %d nodes, %d proxy requests for %d names: want one each", m.Accepted, m.Nodes, m.ProxyRequests, m.Proxied)
	}
	if m.Namespace && (m.DeadSeen != m.Dead || m.MostSYNs > 1) {
		b.Errorf("dead clearnet: %d of %d addresses tried, at most %d times: want each once", m.DeadSeen, m.Dead, m.MostSYNs)
	}
}

// raiseFileLimit lifts RLIMIT_NOFILE for the crawl and the farm it starts
// (which inherits it): tens of thousands of listeners and the connections
// in flight.
func raiseFileLimit(b *testing.B) uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		b.Fatal(err)
	}
	if want := uint64(1 << 18); l.Max < want {
		// Raising the hard limit takes CAP_SYS_RESOURCE, which a
		// container may withhold: then the farm splits over more
		// processes.
		up := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up) == nil {
			return up.Cur
		}
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		b.Fatal(err)
	}
	return l.Cur
}

// crawlMainnet starts the farm, crawls it and gathers the figures.
func crawlMainnet(b *testing.B, cfg mainnetConfig) mainnetFigures {
	bin, err := buildOnce()
	if err != nil {
		b.Fatal(err)
	}
	args := []string{"mainnet", "-proxies", strconv.Itoa(cfg.Proxies)}
	for _, n := range mainnetNets {
		args = append(args, "-"+n, strconv.Itoa(cfg.count(n, 0)), "-dead-"+n, strconv.Itoa(cfg.count(n, 1)))
	}
	nodes := 0
	for _, n := range mainnetNets {
		nodes += cfg.count(n, 0)
	}
	parts := (nodes + cfg.NodesPerFarm - 1) / cfg.NodesPerFarm
	args = append(args, "-parts", strconv.Itoa(parts))
	f := startFarm(b, bin, append(args, "-part", "0")...)
	farms := []*farmProc{f}
	for _, l := range f.lines {
		if p, ok := strings.CutPrefix(l, "port\t"); ok {
			args = append(args, "-port", p)
		}
	}
	for i := 1; i < parts; i++ {
		farms = append(farms, startFarm(b, bin, append(args, "-part", strconv.Itoa(i))...))
	}
	var (
		socks   []string
		sam     string
		start   []crawl.Target
		netOf   = map[string]string{}        // every gossiped address's network
		live    = map[string]bool{}          // the reachable ones
		circuit = map[string]time.Duration{} // onion and I2P set-up times
	)
	m := mainnetFigures{Reachable: map[string]int{}, Found: map[string]int{}, Failures: map[string]map[string]int{},
		Concurrency: cfg.Concurrency, TorSlots: cfg.Proxies * cfg.TorPending, I2P: cfg.I2PPending, Namespace: cfg.Namespace}
	for _, l := range f.lines {
		x := strings.Split(l, "\t")
		switch x[0] {
		case "proxy":
			socks = append(socks, x[1])
			if sam == "" {
				sam = x[2]
			}
		case "seed":
			t, err := crawl.ParseTarget(x[1], "")
			if err != nil {
				b.Fatal(err)
			}
			s, err := strconv.ParseUint(x[2], 16, 64)
			if err != nil {
				b.Fatal(err)
			}
			t.Services = wire.ServiceFlag(s)
			start = append(start, t)
		case "node", "dead":
			netOf[x[2]] = x[1]
			ms, _ := strconv.Atoi(x[len(x)-1])
			circuit[x[2]] = time.Duration(ms) * time.Millisecond
			if x[0] == "node" {
				live[x[2]] = true
				m.Reachable[x[1]]++
			} else if x[1] == "ipv4" || x[1] == "ipv6" {
				m.Dead++
			}
			if x[1] == "onion" || x[1] == "i2p" {
				m.Proxied++
			}
		}
	}
	m.Gossiped, m.Nodes = len(netOf), len(live)
	tor, err := handshake.NewTor(handshake.TorOptions{Proxies: socks, MaxPending: cfg.TorPending})
	if err != nil {
		b.Fatal(err)
	}
	i2p, err := handshake.NewI2P(handshake.I2POptions{SAM: sam, MaxPending: cfg.I2PPending})
	if err != nil {
		b.Fatal(err)
	}
	defer i2p.Close()
	torT, i2pT := &timedDialer{d: tor, took: map[string]time.Duration{}}, &timedDialer{d: i2p, took: map[string]time.Duration{}}
	opts := crawl.Options{
		Concurrency:  cfg.Concurrency,
		AllowPrivate: true, // loopback and 2001:db8::/32 stand in for the Internet
		Dialers:      map[handshake.AddrNetwork]handshake.Dialer{handshake.NetTorV3: torT, handshake.NetI2P: i2pT},
	}
	if len(cfg.PerNetwork) > 0 {
		opts.NetworkConcurrency = map[handshake.AddrNetwork]int{}
		for n, cap := range cfg.PerNetwork {
			opts.NetworkConcurrency[mainnetNetwork[n]] = cap
		}
	}
	results := map[string]int{}
	var visits, torCircuits, i2pTunnels time.Duration
	perNetwork := map[string]time.Duration{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	meas := measure(b, nil, func() {
		_, err := crawl.Crawl(ctx, opts, start, func(r crawl.Result) {
			results[r.Addr]++
			n := netOf[r.Addr]
			d := r.Elapsed
			if waited, ok := torT.waited(r.Addr, circuit[r.Addr]); ok {
				d -= waited
				torCircuits += circuit[r.Addr]
			} else if waited, ok := i2pT.waited(r.Addr, circuit[r.Addr]); ok {
				d -= waited
				i2pTunnels += circuit[r.Addr]
			}
			visits += d
			perNetwork[n] += d
			if r.Status == handshake.StatusOK || r.Status == handshake.StatusPartiallyOK {
				if live[r.Addr] {
					m.Found[n]++
				}
				return
			}
			if m.Failures[n] == nil {
				m.Failures[n] = map[string]int{}
			}
			m.Failures[n][handshake.ErrorKind(r.Err)]++
		})
		if err != nil {
			b.Error(err)
		}
	})
	for a := range netOf {
		switch results[a] {
		case 0:
			m.Lost++
		case 1:
		default:
			m.Doubled++
		}
	}
	for a, k := range results {
		if netOf[a] == "" {
			b.Errorf("a result for %s, %d times, which nobody gossiped", a, k)
		}
	}
	for _, f := range farms {
		a, _ := f.accepted(b)
		m.Accepted += a
	}
	m.ProxyRequests, m.ProxyPeak = askFarm(b, f, "proxied")
	m.Wall = meas.wall.Seconds()
	m.IdealVisits = visits.Seconds() / float64(cfg.Concurrency)
	m.IdealTor = torCircuits.Seconds() / float64(m.TorSlots)
	m.IdealI2P = i2pTunnels.Seconds() / float64(cfg.I2PPending)
	m.Ideal = max(m.IdealVisits, m.IdealTor, m.IdealI2P)
	m.IdealNetwork = map[string]float64{}
	for n, cap := range cfg.PerNetwork {
		m.IdealNetwork[n] = perNetwork[n].Seconds() / float64(cap)
		m.Ideal = max(m.Ideal, m.IdealNetwork[n])
	}
	m.PeakRSS = float64(meas.peakRSS) / (1 << 20)
	return m
}

// askFarm sends cmd and reads the two numbers of its answer.
func askFarm(tb testing.TB, f *farmProc, cmd string) (a, b int) {
	tb.Helper()
	if _, err := fmt.Fprintln(f.in, cmd); err != nil {
		tb.Fatal(err)
	}
	if !f.out.Scan() {
		tb.Fatalf("crawl farm: no answer to %s", cmd)
	}
	if _, err := fmt.Sscanf(f.out.Text(), "%d %d", &a, &b); err != nil {
		tb.Fatalf("crawl farm answered %q to %s", f.out.Text(), cmd)
	}
	return a, b
}

// withinDialer is the dialer interface the crawl gives its connect limit
// to: handshake.Tor and handshake.I2P.
type withinDialer interface {
	handshake.Dialer
	DialWithin(ctx context.Context, limit time.Duration, network, addr string) (net.Conn, error)
}

// timedDialer passes connects to a proxied dialer and times them, so that
// a visit's wait for a proxy slot can be told from its own time.
type timedDialer struct {
	d    withinDialer
	mu   sync.Mutex
	took map[string]time.Duration // per address, all its connects
}

func (t *timedDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return t.DialWithin(ctx, 0, network, addr)
}

func (t *timedDialer) DialWithin(ctx context.Context, limit time.Duration, network, addr string) (net.Conn, error) {
	began := time.Now()
	c, err := t.d.DialWithin(ctx, limit, network, addr)
	t.mu.Lock()
	t.took[addr] += time.Since(began)
	t.mu.Unlock()
	return c, err
}

// waited returns how long addr's connects took beyond the set-up time the
// proxy double was told to take (the wait for a slot, and the SOCKS or
// SAM exchange, which a visit's own time then leaves out, making the ideal
// a little smaller than it is), and whether it was dialled here.
func (t *timedDialer) waited(addr string, setup time.Duration) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	took, ok := t.took[addr]
	if !ok {
		return 0, false
	}
	delete(t.took, addr)
	return max(took-setup, 0), true
}
