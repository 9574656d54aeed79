package main

import (
	"context"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// BenchmarkSoak runs the seeder over a simulated network of 200 nodes
// with re-test intervals shortened to 50ms, one iteration being a round of
// as many visits as there are nodes, with churn: each round a tenth of the
// nodes goes down and those down come back. It reports the heap after a
// collection, goroutines and open descriptors after the first round and
// after the last, which a leak would make grow with the rounds:
//
//	go test -run '^$' -bench Soak -benchtime 50x ./seeder/
func BenchmarkSoak(b *testing.B) {
	const nodes, churn = 200, 20
	l, err := net.Listen("tcp", "127.6.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	p, _ := strconv.Atoi(port)
	ip := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{127, 6, byte(i / 250), byte(i%250 + 1)}) }
	// Each node answers getaddr with a dozen others, as a real node
	// answers at once, so a visit does not wait for an answer that never
	// comes.
	cfgs := make([]handshaketest.Config, nodes)
	peers := make([]*handshaketest.Peer, nodes)
	addrs := make([]string, nodes)
	for i := range cfgs {
		cfgs[i] = handshaketest.Config{Behavior: handshaketest.Core, StartHeight: 870000, V2: i%4 == 0,
			Addr: netip.AddrPortFrom(ip(i), uint16(p)).String()}
		for j := 1; j <= 12; j++ {
			cfgs[i].Addrs = append(cfgs[i].Addrs, *wire.NetAddressV2FromBytes(time.Now(), wire.SFNodeNetwork, ip((i+j*7)%nodes).AsSlice(), uint16(p)))
		}
		if peers[i], err = handshaketest.NewPeer(cfgs[i]); err != nil {
			b.Fatal(err)
		}
		addrs[i] = cfgs[i].Addr
	}
	defer func() {
		for _, p := range peers {
			p.Close()
		}
	}()
	params := chaincfg.MainNetParams
	params.DefaultPort = port
	var visits atomic.Int64
	round := make(chan struct{}, 1)
	s := testSeeder(b, &params, 10*nodes, 50*time.Millisecond, func(visit) {
		if visits.Add(1)%nodes == 0 {
			select {
			case round <- struct{}{}:
			default:
			}
		}
	})
	s.addStart(context.Background(), addrs, handshakeSeedsNone(&params))
	stop := runSeeder(s)
	defer stop()
	down := map[int]bool{}
	next := 0
	doChurn := func() {
		for i := range down { // the ones down come back
			p, err := handshaketest.NewPeer(cfgs[i])
			if err != nil {
				b.Fatal(err)
			}
			peers[i] = p
			delete(down, i)
		}
		for range churn { // and others go down
			peers[next].Close()
			down[next] = true
			next = (next + 1) % nodes
		}
	}
	wait := func() {
		select {
		case <-round:
		case <-time.After(time.Minute):
			b.Fatal("no round of visits in a minute")
		}
	}
	measure := func() (heap uint64, goroutines, fds int) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		ents, _ := os.ReadDir("/proc/self/fd")
		return m.HeapAlloc, runtime.NumGoroutine(), len(ents)
	}
	doChurn()
	wait()
	h0, g0, f0 := measure()
	began := time.Now()
	b.ResetTimer()
	var hMid uint64
	for i := range b.N {
		doChurn()
		wait()
		if i == b.N/2 {
			b.StopTimer()
			hMid, _, _ = measure()
			b.StartTimer()
		}
	}
	b.StopTimer()
	elapsed := time.Since(began)
	h1, g1, f1 := measure()
	b.ReportMetric(float64(h0)/1e6, "heapMB-first")
	b.ReportMetric(float64(hMid)/1e6, "heapMB-mid")
	b.ReportMetric(float64(h1)/1e6, "heapMB-last")
	b.ReportMetric(float64(g0), "goroutines-first")
	b.ReportMetric(float64(g1), "goroutines-last")
	b.ReportMetric(float64(f0), "fds-first")
	b.ReportMetric(float64(f1), "fds-last")
	b.ReportMetric(float64(b.N*nodes)/elapsed.Seconds(), "visits/s")
	b.ReportMetric(float64(s.table.len()), "nodes")
}
