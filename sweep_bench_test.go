package handshake_test

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// sweepPeersEnv makes the test binary serve a simulated network for the
// sweep benchmark: "count,delay". Its peers run in a child process so that
// the benchmark's heap figures are the sweeping side's alone.
const sweepPeersEnv = "HANDSHAKE_SWEEP_PEERS"

func runSweepPeers(spec string) {
	count, delay, _ := strings.Cut(spec, ",")
	n, _ := strconv.Atoi(count)
	d, _ := time.ParseDuration(delay)
	cfgs := make([]handshaketest.Config, n)
	for i := range cfgs {
		cfgs[i] = handshaketest.Config{Behavior: handshaketest.Core, Delay: d}
	}
	net, err := handshaketest.NewNetwork(handshaketest.NetworkConfig{Peers: cfgs, FirstIP: netip.MustParseAddr("127.20.0.1")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	for _, a := range net.Addrs() {
		fmt.Fprintln(w, a)
	}
	fmt.Fprintln(w)
	w.Flush()
	bufio.NewReader(os.Stdin).ReadString('\n') // until the parent is done
	os.Exit(0)
}

// startSweepPeers starts count peers answering after delay in a child
// process and returns their addresses.
func startSweepPeers(b *testing.B, count int, delay time.Duration) []string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d,%v", sweepPeersEnv, count, delay))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	var addrs []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "" {
		addrs = append(addrs, sc.Text())
	}
	if len(addrs) != count {
		b.Fatalf("peer process started %d of %d peers", len(addrs), count)
	}
	return addrs
}

// BenchmarkSweep sweeps 10,000 peers that each answer after 200 ms at a
// concurrency of 1,000. The ideal wall time is 10 waves of 200 ms: 2 s.
// Reported: x-ideal (wall time over the ideal) and, in the heap run, the
// peak live heap per in-flight handshake.
func BenchmarkSweep(b *testing.B) {
	const (
		peers       = 10000
		concurrency = 1000
		delay       = 200 * time.Millisecond
	)
	addrs := startSweepPeers(b, peers, delay)
	ideal := time.Duration(peers/concurrency) * delay
	opts := handshake.SweepOptions{
		Handshake:   handshake.Options{Timeout: 30 * time.Second, Transport: handshake.TransportV1},
		Addrs:       addrs,
		Concurrency: concurrency,
	}
	sweep := func(b *testing.B) handshake.SweepSummary {
		sum, err := handshake.Sweep(context.Background(), opts, nil)
		if err != nil || sum.OK != peers {
			b.Fatalf("sweep: %v, %+v", err, sum)
		}
		return sum
	}

	b.Run("wall", func(b *testing.B) {
		var total time.Duration
		for b.Loop() {
			total += sweep(b).Elapsed
		}
		b.ReportMetric(float64(total)/float64(b.N)/float64(ideal), "x-ideal")
	})

	// Live heap is sampled after a forced collection every 100 ms, which
	// slows the sweep; hence a run of its own.
	b.Run("heap", func(b *testing.B) {
		var peakPerInFlight float64
		for b.Loop() {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			base := ms.HeapAlloc
			done := make(chan struct{})
			var peak uint64
			var wg sync.WaitGroup
			wg.Go(func() {
				t := time.NewTicker(100 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-done:
						return
					case <-t.C:
						runtime.GC()
						runtime.ReadMemStats(&ms)
						peak = max(peak, ms.HeapAlloc)
					}
				}
			})
			sweep(b)
			close(done)
			wg.Wait()
			peakPerInFlight = max(peakPerInFlight, float64(peak-min(peak, base))/concurrency)
		}
		b.ReportMetric(peakPerInFlight, "heap-B/inflight")
	})
}
