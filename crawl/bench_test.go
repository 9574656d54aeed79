package crawl_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
)

// benchConfig is BenchmarkCrawl's simulated Internet and settings, read
// from the environment:
//
//	CRAWL_BENCH=nodes,hanging,refusing   default 2000,4000,200
//	CRAWL_BENCH_CONCURRENCY=n            default 1000
//	CRAWL_BENCH_CONNECT=d                default 2s: the connect limit, and
//	                                     the old crawler's -timeout
//	CRAWL_BENCH_DEFAULTS=1               also run each crawler at its own
//	                                     defaults (slow: the old one takes
//	                                     dead addresses × 10 s ÷ 64)
//
// The size is CRAWL_BENCH=8000,16000,500.
type benchConfig struct {
	size        simSize
	concurrency int
	connect     time.Duration
}

func readBenchConfig(b *testing.B) benchConfig {
	c := benchConfig{size: simSize{nodes: 2000, hanging: 4000, refusing: 200, seeded: 8, fanout: 24},
		concurrency: 1000, connect: 2 * time.Second}
	if v := os.Getenv("CRAWL_BENCH"); v != "" {
		f := strings.Split(v, ",")
		var err error
		if len(f) != 3 {
			b.Fatalf("CRAWL_BENCH=%q: want nodes,hanging,refusing", v)
		}
		for i, p := range []*int{&c.size.nodes, &c.size.hanging, &c.size.refusing} {
			if *p, err = strconv.Atoi(f[i]); err != nil {
				b.Fatalf("CRAWL_BENCH=%q: %v", v, err)
			}
		}
	}
	if v := os.Getenv("CRAWL_BENCH_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("CRAWL_BENCH_CONCURRENCY=%q", v)
		}
		c.concurrency = n
	}
	if v := os.Getenv("CRAWL_BENCH_CONNECT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("CRAWL_BENCH_CONNECT=%q", v)
		}
		c.connect = d
	}
	return c
}

// BenchmarkCrawl crawls a simulated Internet on loopback, served by child
// processes: reachable nodes (a third speaking v2 too) gossiping each
// other, addresses whose connects hang until the connect limit, and
// addresses that refuse. "before" is the crawler examples/crawl had
// before the engine (legacy_test.go), "engine" is Crawl, both at the same
// concurrency and with the same time limit for a dead address. Reported:
//
//	wall-s         the crawl's wall time
//	ideal-s        the sum of every visit's time divided by the concurrency
//	x-ideal        wall-s / ideal-s (the engine's target: 1.10 or less)
//	peak-RSS-MB    the process's peak resident memory during the crawl
//	heap-KB/visit  peak live heap growth divided by the concurrency
//	visits, ok     addresses visited, and handshakes completed
//	conns/node     connections the nodes accepted, per node
func BenchmarkCrawl(b *testing.B) {
	cfg := readBenchConfig(b)
	sim := startSimNet(b, cfg.size, "127.50.0.1", "127.200.0.1")
	b.Logf("simulated Internet: %d nodes (%d seeded), %d hanging, %d refusing; concurrency %d, connect limit %v",
		len(sim.nodes), len(sim.seeds), len(sim.hanging), len(sim.refusing), cfg.concurrency, cfg.connect)

	b.Run("before", func(b *testing.B) { benchLegacy(b, sim, cfg.concurrency, cfg.connect, 1<<30, 1<<30) })
	b.Run("engine", func(b *testing.B) { benchEngine(b, sim, cfg.concurrency, cfg.connect) })
	if os.Getenv("CRAWL_BENCH_DEFAULTS") != "" {
		// Each program's defaults: before, 64 at once, one 10 s limit
		// for connect and handshake, depth 8, 5,000 nodes; the engine,
		// 1,000 at once and a 5 s connect limit.
		b.Run("before-defaults", func(b *testing.B) { benchLegacy(b, sim, 64, 10*time.Second, 8, 5000) })
		b.Run("engine-defaults", func(b *testing.B) { benchEngine(b, sim, 0, 0) })
	}
}

func benchLegacy(b *testing.B, sim *simNet, concurrency int, timeout time.Duration, depth, maxNodes int) {
	params := chaincfg.MainNetParams
	for range b.N {
		var visits, ok int
		var sumVisit time.Duration
		c := &legacyCrawler{
			opts:         handshake.Options{ChainParams: &params, Timeout: timeout},
			allowPrivate: true,
			maxDepth:     depth,
			maxNodes:     maxNodes,
			concurrency:  concurrency,
			timeout:      timeout,
			emit: func(n legacyNode) {
				visits++
				sumVisit += n.Elapsed
				if n.Result.Status == handshake.StatusOK {
					ok++
				}
			},
		}
		m := measure(b, sim, func() { c.run(context.Background(), sim.seeds) })
		m.report(b, concurrency, visits, ok, sumVisit)
	}
}

// benchEngine crawls with Crawl; zero concurrency and connect take its
// defaults.
func benchEngine(b *testing.B, sim *simNet, concurrency int, connect time.Duration) {
	params := chaincfg.MainNetParams
	for range b.N {
		var visits, ok int
		var sumVisit time.Duration
		start := make([]crawl.Target, len(sim.seeds))
		for i, a := range sim.seeds {
			start[i], _ = crawl.ParseTarget(a, "")
		}
		opts := crawl.Options{
			Handshake:    handshake.Options{ChainParams: &params},
			Concurrency:  concurrency,
			AllowPrivate: true,
			Limits:       map[handshake.AddrNetwork]crawl.Limits{handshake.NetIPv4: {Connect: connect}},
		}
		m := measure(b, sim, func() {
			_, err := crawl.Crawl(context.Background(), opts, start, func(r crawl.Result) {
				visits++
				sumVisit += r.Elapsed
				if r.Status == handshake.StatusOK {
					ok++
				}
			})
			if err != nil {
				b.Error(err)
			}
		})
		m.report(b, cmp.Or(concurrency, crawl.DefaultConcurrency), visits, ok, sumVisit)
	}
}

// measurement is what measure saw of one crawl.
type measurement struct {
	wall              time.Duration
	peakRSS, peakHeap uint64 // bytes; peakHeap over the heap before
	conns             int
	nodes             int
}

// measure runs crawl, sampling the live heap, and reads the process's
// peak RSS (reset before) and the nodes' connection counts.
func measure(b *testing.B, sim *simNet, crawl func()) measurement {
	var conns0 int
	if sim != nil {
		conns0, _ = sim.farm.accepted(b)
	}
	b.StopTimer()
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	// Writing 5 to clear_refs resets the peak RSS (VmHWM).
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the peak RSS: %v", err)
	}
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	b.StartTimer()
	began := time.Now()
	crawl()
	wall := time.Since(began)
	b.StopTimer()
	close(done)
	wg.Wait()
	m := measurement{wall: wall, peakRSS: peakRSS()}
	if p := peak.Load(); p > base {
		m.peakHeap = p - base
	}
	if sim != nil {
		conns1, _ := sim.farm.accepted(b)
		m.conns, m.nodes = conns1-conns0, len(sim.nodes)
	}
	return m
}

func (m measurement) report(b *testing.B, concurrency, visits, ok int, sumVisit time.Duration) {
	ideal := sumVisit.Seconds() / float64(concurrency)
	b.ReportMetric(m.wall.Seconds(), "wall-s")
	b.ReportMetric(ideal, "ideal-s")
	b.ReportMetric(m.wall.Seconds()/ideal, "x-ideal")
	b.ReportMetric(float64(m.peakRSS)/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(m.peakHeap)/1024/float64(concurrency), "heap-KB/visit")
	b.ReportMetric(float64(visits), "visits")
	b.ReportMetric(float64(ok), "ok")
	b.ReportMetric(float64(m.conns)/float64(m.nodes), "conns/node")
	b.ReportMetric(0, "ns/op") // one crawl: wall-s says it
	b.Logf("%s: %d visits (%d OK) in %v, ideal %.2fs (%.2fx), peak RSS %.0f MB, heap %.1f KB per visit in flight, %.2f connections per node",
		b.Name(), visits, ok, m.wall.Round(time.Millisecond), ideal, m.wall.Seconds()/ideal,
		float64(m.peakRSS)/(1<<20), float64(m.peakHeap)/1024/float64(concurrency), float64(m.conns)/float64(m.nodes))
}

// peakRSS reads the process's peak resident set size (VmHWM).
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb uint64
			fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkCrawlTrickle crawls nodes that answer getaddr with the header
// of an addrv2 message claiming the most it may hold (about 0.5 MiB) and
// then trickle its payload, one byte per 100 ms, until the GetAddr limit's 2 s
// limit. It reports the peak live heap growth per connection
// (heap-KB/conn): what such nodes cost the crawl while they hold it. The
// bound itself is the handshake package's to enforce and test, since it
// depends on how a Conn grows its read buffer.
//
//	CRAWL_BENCH_TRICKLE=n   nodes, all visited at once; default 200
func BenchmarkCrawlTrickle(b *testing.B) {
	n := 200
	if v := os.Getenv("CRAWL_BENCH_TRICKLE"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("CRAWL_BENCH_TRICKLE=%q", v)
		}
	}
	bin, err := buildOnce()
	if err != nil {
		b.Fatal(err)
	}
	f := startFarm(b, bin, "trickle", "-first", "127.220.0.1", "-n", strconv.Itoa(n), "-drip", "100ms")
	start := make([]crawl.Target, len(f.lines))
	for i, l := range f.lines {
		_, a, _ := strings.Cut(l, "\t")
		start[i], _ = crawl.ParseTarget(a, "")
	}
	opts := crawl.Options{
		Handshake:    handshake.Options{Transport: handshake.TransportV1},
		Concurrency:  n,
		AllowPrivate: true,
		Limits:       map[handshake.AddrNetwork]crawl.Limits{handshake.NetIPv4: {GetAddr: 2 * time.Second}},
	}
	for range b.N {
		var completed int
		m := measure(b, nil, func() {
			sum, err := crawl.Crawl(context.Background(), opts, start, nil)
			if err != nil {
				b.Error(err)
			}
			completed = sum.OK
		})
		if completed != n {
			b.Errorf("%d of %d handshakes completed", completed, n)
		}
		b.ReportMetric(float64(m.peakHeap)/1024/float64(n), "heap-KB/conn")
		b.ReportMetric(float64(m.peakRSS)/(1<<20), "peak-RSS-MB")
		b.ReportMetric(m.wall.Seconds(), "wall-s")
		b.ReportMetric(0, "ns/op")
		b.Logf("%d trickling nodes: peak heap %.1f KB per connection, peak RSS %.0f MB, in %v",
			n, float64(m.peakHeap)/1024/float64(n), float64(m.peakRSS)/(1<<20), m.wall.Round(time.Millisecond))
	}
}

// BenchmarkCrawlFlood starts from 500 nodes at once, each answering getaddr
// with 3,000 addresses (the other nodes, over and over) of which the crawl
// takes MaxAddrs (1,000) and cuts the node off. It reports the peak live
// heap growth per visit in flight (heap-KB/visit): what a flooding node
// costs, bounded by MaxAddrs addresses.
func BenchmarkCrawlFlood(b *testing.B) {
	const n = 500
	sim := startSimNet(b, simSize{nodes: n, seeded: n, fanout: 3000}, "127.230.0.1", "")
	start := make([]crawl.Target, len(sim.seeds))
	for i, a := range sim.seeds {
		start[i], _ = crawl.ParseTarget(a, "")
	}
	opts := crawl.Options{Concurrency: n, AllowPrivate: true, NoPing: true}
	for range b.N {
		var given, cut int
		m := measure(b, sim, func() {
			_, err := crawl.Crawl(context.Background(), opts, start, func(r crawl.Result) {
				given += len(r.Addrs)
				if errors.Is(r.Err, handshake.ErrLimitExceeded) {
					cut++
				}
			})
			if err != nil {
				b.Error(err)
			}
		})
		if cut != n || given != n*crawl.DefaultMaxAddrs {
			b.Errorf("%d nodes cut off, %d addresses taken; want %d and %d", cut, given, n, n*crawl.DefaultMaxAddrs)
		}
		b.ReportMetric(float64(m.peakHeap)/1024/n, "heap-KB/visit")
		b.ReportMetric(float64(m.peakRSS)/(1<<20), "peak-RSS-MB")
		b.ReportMetric(m.wall.Seconds(), "wall-s")
		b.ReportMetric(0, "ns/op")
		b.Logf("%d flooding nodes at once: peak heap %.1f KB per visit, peak RSS %.0f MB, in %v",
			n, float64(m.peakHeap)/1024/n, float64(m.peakRSS)/(1<<20), m.wall.Round(time.Millisecond))
	}
}
