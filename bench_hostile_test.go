//go:build linux

// Linux only, like load_test.go, whose peer farm it uses.

package handshake_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
)

// BenchmarkStalled holds 10,000 handshakes in flight against peers that
// never answer (the peer farm's Sink peers, in its own process, so that the
// figures are the client's alone) and reports what each costs while it
// waits: live heap after a collection, goroutine stack, and goroutines, all
// per in-flight handshake and including the caller's goroutine that Dial
// blocks. ns/op is the time to get all 10,000 connected and waiting.
//
// v1 waits for the peer's version; auto, the default, waits in the BIP324
// key exchange for the peer's key.
func BenchmarkStalled(b *testing.B) {
	const (
		inflight = 10000
		peers    = 100 // 100 connections each: 10,000 listeners would need as many more descriptors
	)
	farm := startPeerFarm(b, "127.42.0.1", "Sink=100", time.Second)
	for _, transport := range []handshake.Transport{handshake.TransportV1, handshake.TransportAuto} {
		b.Run(transport.String(), func(b *testing.B) {
			var heap, stack, goroutines float64
			for b.Loop() {
				touched := farm.query(b, "touched")
				runtime.GC()
				var base, ms runtime.MemStats
				runtime.ReadMemStats(&base)
				g0 := runtime.NumGoroutine()

				ctx, cancel := context.WithCancel(context.Background())
				var wg sync.WaitGroup
				var unexpected atomic.Int64
				for i := range inflight {
					addr := farm.addrs[i%peers]
					wg.Go(func() {
						// No timeout: only the cancellation below ends these.
						_, err := handshake.Dial(ctx, addr, handshake.Options{Timeout: -1, Transport: transport})
						if !errors.Is(err, context.Canceled) {
							unexpected.Add(1)
						}
					})
				}
				// A peer touched by every connection: every Dial has
				// sent its first flight and is blocked reading the answer
				// that never comes.
				for deadline := time.Now().Add(time.Minute); farm.query(b, "touched")-touched < inflight; {
					if time.Now().After(deadline) || unexpected.Load() > 0 {
						cancel()
						wg.Wait()
						b.Fatalf("only %d of %d handshakes reached the peers (%d ended early)",
							farm.query(b, "touched")-touched, inflight, unexpected.Load())
					}
					time.Sleep(20 * time.Millisecond)
				}
				b.StopTimer()
				time.Sleep(100 * time.Millisecond) // the last writers reach their read
				runtime.GC()
				runtime.ReadMemStats(&ms)
				heap = float64(int64(ms.HeapAlloc)-int64(base.HeapAlloc)) / inflight
				stack = float64(int64(ms.StackInuse)-int64(base.StackInuse)) / inflight
				goroutines = float64(runtime.NumGoroutine()-g0) / inflight
				cancel()
				wg.Wait()
				if n := unexpected.Load(); n > 0 {
					b.Fatalf("%d handshakes ended other than by cancellation", n)
				}
				b.StartTimer()
			}
			b.ReportMetric(heap, "heap-B/inflight")
			b.ReportMetric(stack, "stack-B/inflight")
			b.ReportMetric(goroutines, "goroutines/inflight")
		})
	}
}
