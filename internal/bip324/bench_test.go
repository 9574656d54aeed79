package bip324

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2/ellswift"
	"github.com/btcsuite/btcd/v2transport"
)

// Run all three together:
//
//	go test -run '^$' -bench . -benchtime 2s ./internal/bip324/
//
// BenchmarkHandshake and BenchmarkV2TransportPeer run both sides of each
// handshake, one on the benchmark goroutine and one on another, each locked
// to its OS thread. Besides ns/op (wall time) and allocs/op (both sides) they
// report:
//
//	cpu-ns/op       process CPU per handshake (both sides, GC included)
//	ini-cpu-ns/op   initiator thread CPU per handshake
//	resp-cpu-ns/op  responder thread CPU per handshake
//	ini/floor       ini-cpu-ns/op divided by the EC floor (BenchmarkECFloor's
//	resp/floor      work, measured once as thread CPU in the same process)

var (
	floorOnce sync.Once
	floorCPU  time.Duration
)

// ecFloor is the thread CPU of one EllswiftCreate + one V2Ecdh: what any
// BIP324 handshake side must spend.
func ecFloor(b *testing.B) time.Duration {
	floorOnce.Do(func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		_, theirs, err := ellswift.EllswiftCreate()
		if err != nil {
			b.Fatal(err)
		}
		const n = 400
		start := threadCPU()
		for range n {
			priv, ours, _ := ellswift.EllswiftCreate()
			ellswift.V2Ecdh(priv, theirs, ours, true)
		}
		floorCPU = (threadCPU() - start) / n
	})
	return floorCPU
}

// BenchmarkECFloor: one ellswift.EllswiftCreate + one ellswift.V2Ecdh.
func BenchmarkECFloor(b *testing.B) {
	_, theirs, err := ellswift.EllswiftCreate()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		priv, ours, err := ellswift.EllswiftCreate()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ellswift.V2Ecdh(priv, theirs, ours, true); err != nil {
			b.Fatal(err)
		}
	}
}

// benchGarbage are the garbage lengths benchmarked: none, and the mean of
// Bitcoin Core's uniform [0, 4095] (fixed, so that btcd's 4,095 bug cannot
// hit).
var benchGarbage = []int{NoGarbage, 2048}

// BenchmarkHandshake: our initiator against our responder, one handshake
// after another on one connection. Each side keeps its bufio.Reader across
// handshakes: a reader may already hold the start of the next handshake
// (the initiator sends its next key as soon as its handshake completes).
func BenchmarkHandshake(b *testing.B) {
	for _, tr := range []struct {
		name string
		pair func(testing.TB) (net.Conn, net.Conn)
	}{{"tcp", tcpPair}, {"pipe", pipePair}} {
		for _, g := range benchGarbage {
			b.Run(fmt.Sprintf("%s/garbage=%d", tr.name, g), func(b *testing.B) {
				a, c := tr.pair(b)
				ar, cr := bufio.NewReader(a), bufio.NewReader(c)
				cfg := Config{Magic: mainnet, GarbageLen: g}
				benchPair(b, a, c,
					func() error { _, err := Handshake(ar, a, Initiator, cfg); return err },
					func() error { _, err := Handshake(cr, c, Responder, cfg); return err })
			})
		}
	}
}

// BenchmarkV2TransportPeer: btcd's v2transport.Peer initiator against its
// responder, driven as btcd's peer package does (straight on the net.Conn).
// Only over TCP: on net.Pipe both sides write their terminator and version
// packet in separate unbuffered writes at the same time and deadlock.
func BenchmarkV2TransportPeer(b *testing.B) {
	net := v2transport.BitcoinNet(mainnet)
	for _, g := range benchGarbage {
		b.Run(fmt.Sprintf("tcp/garbage=%d", g), func(b *testing.B) {
			a, c := tcpPair(b)
			benchPair(b, a, c,
				func() error {
					p := v2transport.NewPeer()
					p.UseReadWriter(a)
					if err := p.InitiateV2Handshake(g); err != nil {
						return err
					}
					return p.CompleteHandshake(true, nil, net)
				},
				func() error {
					p := v2transport.NewPeer()
					p.UseReadWriter(c)
					if err := p.RespondV2Handshake(g, net); err != nil {
						return err
					}
					return p.CompleteHandshake(false, nil, net)
				})
		})
	}
}

func benchPair(b *testing.B, a, c net.Conn, initiate, respond func() error) {
	floor := ecFloor(b)
	b.ReportAllocs()
	b.ResetTimer()

	type res struct {
		cpu time.Duration
		err error
	}
	done := make(chan res, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		start := threadCPU()
		for range b.N {
			if err := respond(); err != nil {
				c.Close()
				done <- res{err: err}
				return
			}
		}
		done <- res{cpu: threadCPU() - start}
	}()

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	proc0, start := processCPU(), threadCPU()
	for range b.N {
		if err := initiate(); err != nil {
			a.Close()
			<-done
			b.Fatalf("initiator: %v", err)
		}
	}
	iniCPU := threadCPU() - start
	r := <-done
	if r.err != nil {
		b.Fatalf("responder: %v", r.err)
	}
	proc := processCPU() - proc0
	b.StopTimer()

	if proc < 0 || iniCPU < 0 || floor <= 0 {
		return // no CPU clocks on this platform
	}
	n := float64(b.N)
	b.ReportMetric(float64(proc)/n, "cpu-ns/op")
	b.ReportMetric(float64(iniCPU)/n, "ini-cpu-ns/op")
	b.ReportMetric(float64(r.cpu)/n, "resp-cpu-ns/op")
	b.ReportMetric(float64(iniCPU)/n/float64(floor), "ini/floor")
	b.ReportMetric(float64(r.cpu)/n/float64(floor), "resp/floor")
}
