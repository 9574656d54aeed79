//go:build linux

// Linux only, like load_test.go, whose peer farm it uses.

package handshake_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
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
				parkedInRead(b, inflight, "handshake.Dial(") // the last writers reach their read
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

// BenchmarkConnClaims holds 1,000 connections after their handshakes, each
// blocked in Conn.ReadMessage on a peer that claims a 3,999,000-byte
// message and trickles it (ClaimAfterHandshake, in the peer farm's process
// so that the figures are the client's alone), as a crawler facing a
// thousand hostile peers at once would. It reports the live heap per
// connection after a collection, against the 3,999,000 bytes a buffer sized
// from the claim would take (claim-B/conn). ns/op is the time to get all
// 1,000 connected and reading.
func BenchmarkConnClaims(b *testing.B) {
	const conns = 1000
	for _, transport := range []handshake.Transport{handshake.TransportV1, handshake.TransportV2} {
		b.Run(transport.String(), func(b *testing.B) {
			spec, first := "ClaimAfterHandshake=1000", "127.44.0.1"
			if transport == handshake.TransportV2 {
				spec, first = "ClaimAfterHandshake/v2=1000", "127.45.0.1"
			}
			farm := startPeerFarm(b, first, spec, 10*time.Second)
			var heap float64
			for b.Loop() {
				veracks := farm.query(b, "received verack")
				runtime.GC()
				var base, ms runtime.MemStats
				runtime.ReadMemStats(&base)

				ctx, cancel := context.WithCancel(context.Background())
				var wg sync.WaitGroup
				var unexpected atomic.Int64
				for _, addr := range farm.addrs {
					wg.Go(func() {
						c, _, err := handshake.DialConn(ctx, addr, handshake.Options{Transport: transport, Timeout: time.Minute})
						if err != nil {
							unexpected.Add(1)
							return
						}
						defer c.Close()
						if _, err := c.ReadMessage(ctx); !errors.Is(err, context.Canceled) {
							unexpected.Add(1)
						}
					})
				}
				// Every peer has our verack, so its claim is on the way.
				for deadline := time.Now().Add(time.Minute); farm.query(b, "received verack")-veracks < conns; {
					if time.Now().After(deadline) || unexpected.Load() > 0 {
						cancel()
						wg.Wait()
						b.Fatalf("%d of %d handshakes completed (%d ended early)",
							farm.query(b, "received verack")-veracks, conns, unexpected.Load())
					}
					time.Sleep(20 * time.Millisecond)
				}
				b.StopTimer()
				parkedInRead(b, conns, ").ReadMessage(") // each is waiting for the claim's bytes
				runtime.GC()
				runtime.ReadMemStats(&ms)
				heap = float64(int64(ms.HeapAlloc)-int64(base.HeapAlloc)) / conns
				cancel()
				wg.Wait()
				if n := unexpected.Load(); n > 0 {
					b.Fatalf("%d connections ended other than by cancellation", n)
				}
				b.StartTimer()
			}
			b.ReportMetric(heap, "heap-B/conn")
			b.ReportMetric(handshaketest.ClaimSize, "claim-B/conn")
		})
	}
}

// parkedInRead waits until at least n goroutines are parked reading a
// socket with frame in their stacks, so that a measurement sees every
// call settled in its read rather than on its way there.
func parkedInRead(b *testing.B, n int, frame string) {
	b.Helper()
	buf := make([]byte, 64<<20)
	for deadline := time.Now().Add(time.Minute); ; {
		got := 0
		for _, g := range bytes.Split(buf[:runtime.Stack(buf, true)], []byte("\n\n")) {
			if bytes.Contains(g, []byte("[IO wait")) && bytes.Contains(g, []byte("poll.(*FD).Read")) &&
				bytes.Contains(g, []byte(frame)) {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d calls parked in a read", got, n)
		}
		time.Sleep(20 * time.Millisecond) // polling, with the deadline above
	}
}
