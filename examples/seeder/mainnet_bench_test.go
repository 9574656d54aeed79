package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
	"github.com/bitcoin-handshake/handshake/internal/simnet"
)

// seederMainnetChild names the file where BenchmarkSeederMainnet, run
// again inside its namespace, writes its figures.
const seederMainnetChild = "SEEDER_MAINNET_CHILD_OUT"

// BenchmarkSeederMainnet feeds the seeder the network crawl's
// BenchmarkMainnet crawls (internal/crawlfarm's mainnet mode, in a network
// namespace of its own as root: see docs/mainnet-benchmark.md), started
// from its 16 seeded IPv4 nodes, with the farm's proxy doubles as its Tor
// proxies (-proxy, eight of them, 64 connects in flight at each, streams
// isolated) and SAM bridge (-i2psam), and measures how long until the
// dump holds 90 % of the reachable nodes of each network (IPv4, IPv6,
// onion, I2P), and whether its DNS answers, asked every quarter second
// meanwhile, name only clearnet nodes it handshook. Settings, from the
// environment:
//
//	MAINNET_BENCH_SCALE=f           the network's size as a fraction of
//	                                mainnet's; default 0.05
//	MAINNET_BENCH_LOSS=p            per cent of TCP packets lost; default 1
//	SEEDER_BENCH_CONCURRENCY=n      the seeder's -concurrency; default 1000
//
// Reported: s-to-90pct-<net>, dns-answers and dns-bad (answers naming an
// address that is dead, or not a clearnet node, or one that the seeder
// never handshook; target 0); logged: how full the seeder's visit slots
// were and each network's share of them, which say what bounds the time.
func BenchmarkSeederMainnet(b *testing.B) {
	scale, loss, conc := 0.05, 1.0, 1000
	for name, p := range map[string]*float64{"MAINNET_BENCH_SCALE": &scale, "MAINNET_BENCH_LOSS": &loss} {
		if v := os.Getenv(name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 {
				b.Fatalf("%s=%q", name, v)
			}
			*p = f
		}
	}
	if v := os.Getenv("SEEDER_BENCH_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 10000 {
			b.Fatalf("SEEDER_BENCH_CONCURRENCY=%q", v)
		}
		conc = n
	}
	if out := os.Getenv(seederMainnetChild); out != "" {
		f := seedMainnet(b, scale, conc, true)
		data, _ := json.Marshal(f)
		if err := os.WriteFile(out, data, 0o600); err != nil {
			b.Fatal(err)
		}
		return
	}
	for range b.N {
		var f seederFigures
		if os.Geteuid() != 0 {
			b.Log("NOT ROOT: no network namespace, so no IPv6 nodes, dead addresses refuse instead of dropping SYNs, and no packet loss")
			f = seedMainnet(b, scale, conc, false)
		} else {
			ns, err := simnet.NewNamespace(fmt.Sprintf("handshake-seeder-%d", os.Getpid()), loss)
			if err != nil {
				b.Fatal(err)
			}
			out := filepath.Join(b.TempDir(), "figures.json")
			cmd := ns.Command(os.Args[0], "-test.run=^$", "-test.bench=^BenchmarkSeederMainnet$", "-test.benchtime=1x")
			cmd.Env = append(os.Environ(), seederMainnetChild+"="+out)
			log, err := cmd.CombinedOutput()
			if cerr := ns.Close(); cerr != nil {
				b.Error(cerr)
			}
			if err != nil {
				b.Fatalf("the seeder in namespace %s failed: %v\n%s", ns.Name, err, log)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				b.Fatal(err)
			}
			if err := json.Unmarshal(data, &f); err != nil {
				b.Fatal(err)
			}
		}
		f.report(b)
	}
}

// seederNets are the networks the benchmark's seeder reaches.
var seederNets = []string{"ipv4", "ipv6", "onion", "i2p"}

type seederFigures struct {
	Reachable, InDump map[string]int
	To90              map[string]float64 // seconds; -1: never
	// Tried is, when the dump reached 90 % of a network's reachable
	// nodes, the share of that network's addresses in the table (dead
	// ones included) that had been visited at least once.
	Tried        map[string]float64
	Answers, Bad int
	// SlotUse is the seeder's visit slots' time in use over the slots'
	// time (concurrency × the run's time): near 1, the visits' time
	// bounds the seeder, not its dispatch. SlotSeconds is, per network,
	// that time in use over the concurrency, in seconds. CPU is the
	// process's CPU time over the run's time (2 cores: at most 2).
	SlotUse, CPU float64
	SlotSeconds  map[string]float64
}

func (f seederFigures) report(b *testing.B) {
	for _, n := range seederNets {
		if f.Reachable[n] == 0 {
			continue
		}
		b.ReportMetric(f.To90[n], "s-to-90pct-"+n)
		if f.To90[n] < 0 {
			b.Errorf("%s: the dump never held 90%% of the %d reachable nodes (%d at the end)", n, f.Reachable[n], f.InDump[n])
		}
	}
	b.ReportMetric(float64(f.Answers), "dns-answers")
	b.ReportMetric(float64(f.Bad), "dns-bad")
	b.ReportMetric(0, "ns/op")
	b.Logf("reachable %v, in the dump at the end %v, seconds to 90%% %v; %d DNS answers, %d not from a handshaken clearnet node",
		f.Reachable, f.InDump, f.To90, f.Answers, f.Bad)
	b.Logf("share of each network's known addresses visited when its dump reached 90%%: %v", f.Tried)
	b.Logf("visit slots in use %.0f%% of the time; slot-seconds per network over the concurrency %v; CPU %.2f of the run's time",
		100*f.SlotUse, f.SlotSeconds, f.CPU)
	if f.Bad > 0 || f.Answers == 0 {
		b.Errorf("%d DNS answers, %d of them bad", f.Answers, f.Bad)
	}
}

// seedMainnet starts the farm and a seeder fed its seeded nodes, and
// watches the dump and the DNS answers until the dump holds 90 % of the
// reachable nodes of each network.
func seedMainnet(b *testing.B, scale float64, conc int, namespace bool) (f seederFigures) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
	full := map[string][2]int{"ipv4": {8000, 18000}, "ipv6": {2000, 6000}, "onion": {12000, 10000}, "i2p": {2000, 2000}}
	args := []string{"mainnet"}
	nodes := 0
	for n, c := range full {
		live, dead := int(math.Round(float64(c[0])*scale)), int(math.Round(float64(c[1])*scale))
		if n == "ipv4" {
			live = max(live, 16)
		}
		if n == "ipv6" && !namespace {
			live, dead = 0, 0
		}
		nodes += live
		args = append(args, "-"+n, strconv.Itoa(live), "-dead-"+n, strconv.Itoa(dead))
	}
	bin := filepath.Join(b.TempDir(), "crawlfarm")
	build := exec.Command("go", "build", "-o", bin, "github.com/bitcoin-handshake/handshake/internal/crawlfarm")
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building the farm: %v\n%s", err, out)
	}
	parts := max(1, (nodes+int(l.Cur/2)-1)/int(l.Cur/2))
	args = append(args, "-parts", strconv.Itoa(parts))
	lines := startMainnetFarm(b, bin, append(args, "-part", "0"))
	var port string
	var seeds []string
	// The seeder's flags for the farm's proxy doubles, as an operator
	// gives them for Tor's SOCKS ports and the I2P router's SAM bridge.
	reach := cli.Net{ProxyRandomize: true, ProxyMaxPending: 64}
	live := map[string]string{}   // reachable node, as the dump writes it → network
	liveIP := map[string]string{} // reachable clearnet IP → network
	f = seederFigures{Reachable: map[string]int{}, InDump: map[string]int{}, To90: map[string]float64{}, Tried: map[string]float64{}}
	for _, n := range seederNets {
		f.To90[n] = -1
	}
	for _, l := range lines {
		x := strings.Split(l, "\t")
		switch {
		case x[0] == "port":
			port = x[1]
		case x[0] == "proxy":
			reach.Proxies = append(reach.Proxies, x[1])
			reach.I2PSAM = cmp.Or(reach.I2PSAM, x[2])
		case x[0] == "seed":
			seeds = append(seeds, x[1])
		case x[0] == "node":
			live[normalize(x[2])] = x[1]
			f.Reachable[x[1]]++
			if ap, err := netip.ParseAddrPort(x[2]); err == nil {
				liveIP[ap.Addr().Unmap().String()] = x[1]
			}
		}
	}
	if err := reach.Check(); err != nil || len(reach.Proxies) == 0 {
		b.Fatalf("the farm's proxies %v, SAM bridge %q: %v", reach.Proxies, reach.I2PSAM, err)
	}
	dialers, closeDialers, err := reach.Dialers()
	if err != nil {
		b.Fatal(err)
	}
	defer closeDialers()
	for i := 1; i < parts; i++ {
		startMainnetFarm(b, bin, append(args, "-port", port, "-part", strconv.Itoa(i)))
	}

	params := chaincfg.MainNetParams
	params.DefaultPort, params.DNSSeeds = port, nil
	p, _ := strconv.ParseUint(port, 10, 16)
	dir := b.TempDir()
	st, err := openStore(context.Background(), filepath.Join(dir, "seeder.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	dump := filepath.Join(dir, "dnsseed.dump")
	s := &seeder{
		table: newTable(1_000_000, goodPolicy{defaultPort: uint16(p), services: requiredServices, minVersion: minGoodVersion, allowPrivate: true},
			schedule{retest: DefaultRetest}),
		store: st, resp: &responder{zone: testZone(b)}, metrics: newMetrics(), log: slog.New(slog.DiscardHandler),
		prober:      newCrawlProber(handshake.Options{ChainParams: &params}, 5*time.Second, true, dialers, reach.Concurrency()),
		concurrency: conc,
		caps:        newNetCaps(reach.Concurrency()),
		tick:        250 * time.Millisecond,
		publish:     time.Second,
		commit:      5 * time.Second,
		dumpEvery:   time.Second,
		dumpPath:    dump,
	}
	if err := s.start(context.Background()); err != nil {
		b.Fatal(err)
	}
	srv, err := listenDNS("127.0.0.1:0", s.resp, s.log, dnsOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	resolver := handshake.NewResolver(srv.Addr())
	s.addStart(context.Background(), seeds, handshakeSeedsNone(&params))
	timed := &timedProber{p: s.prober, busy: map[string]time.Duration{}}
	s.prober = timed
	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	stop := runSeeder(s)
	defer stop()

	began := time.Now()
	defer func() {
		wall := time.Since(began)
		var after syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
		f.CPU = cpu.Seconds() / wall.Seconds()
		f.SlotSeconds = map[string]float64{}
		timed.mu.Lock()
		var busy time.Duration
		for n, d := range timed.busy {
			busy += d
			f.SlotSeconds[n] = d.Seconds() / float64(conc)
		}
		timed.mu.Unlock()
		f.SlotUse = busy.Seconds() / (wall.Seconds() * float64(conc))
	}()
	deadline := began.Add(time.Duration(float64(30*time.Minute) * max(scale, 0.1)))
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		var answered []netip.Addr
		for _, kind := range []string{"ip4", "ip6"} {
			ips, _ := resolver.LookupNetIP(context.Background(), kind, "seed.example.test")
			answered = append(answered, ips...)
		}
		// Handshaken: in the table with a success, by now.
		shaken := map[string]bool{}
		known, tried := map[string]int{}, map[string]int{}
		for _, r := range s.table.all() {
			if ap, err := netip.ParseAddrPort(r.Addr); err == nil && r.Successes > 0 {
				shaken[ap.Addr().Unmap().String()] = true
			}
			known[r.Network]++
			if r.Tries > 0 {
				tried[r.Network]++
			}
		}
		for _, ip := range answered {
			f.Answers++
			if a := ip.Unmap().String(); (liveIP[a] != "ipv4" && liveIP[a] != "ipv6") || !shaken[a] {
				f.Bad++
			}
		}
		clear(f.InDump)
		for a := range dumpedAddrs(b, dump) {
			if n := live[a]; n != "" {
				f.InDump[n]++
			}
		}
		done := true
		for n, want := range f.Reachable {
			if f.To90[n] < 0 && f.InDump[n]*10 >= want*9 {
				f.To90[n] = time.Since(began).Seconds()
				f.Tried[n] = float64(tried[n]) / float64(known[n])
			}
			done = done && f.To90[n] >= 0
		}
		if done || time.Now().After(deadline) {
			break
		}
	}
	return f
}

// timedProber adds up, per network, the time from each batch's start to
// each of its visits' report: the time the visit held one of the seeder's
// slots.
type timedProber struct {
	p    prober
	mu   sync.Mutex
	busy map[string]time.Duration
}

func (t *timedProber) probe(ctx context.Context, ts []target, emit func(visit, bool)) {
	began := time.Now()
	network := make(map[string]string, len(ts))
	for _, x := range ts {
		network[x.Addr] = x.Network
	}
	t.p.probe(ctx, ts, func(v visit, visited bool) {
		d := time.Since(began)
		t.mu.Lock()
		t.busy[network[v.Addr]] += d
		t.mu.Unlock()
		emit(v, visited)
	})
}

// dumpedAddrs reads the addresses of the dump's lines (its first column),
// normalized as the table keys them.
func dumpedAddrs(b *testing.B, path string) map[string]bool {
	addrs := map[string]bool{}
	fh, err := os.Open(path)
	if err != nil {
		return addrs // not written yet
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		if fs := strings.Fields(sc.Text()); len(fs) > 0 {
			addrs[normalize(fs[0])] = true
		}
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return addrs
}

// startMainnetFarm starts a crawlfarm and returns its listing; it stops
// when the benchmark ends.
func startMainnetFarm(b *testing.B, bin string, args []string) []string {
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { in.Close(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	var lines []string
	for sc.Scan() && sc.Text() != "" {
		lines = append(lines, sc.Text())
	}
	go io.Copy(io.Discard, out)
	if len(lines) == 0 {
		b.Fatalf("crawl farm %v started nothing", args)
	}
	return lines
}
