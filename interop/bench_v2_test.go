package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2/ellswift"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/peer"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// BenchmarkV2 compares, in one run, the CPU a handshake costs the client:
// our Dial over v2 and v1, btcd's peer package over both, and the floors
// any client pays: for v1 a TCP connect with pre-serialised version and
// verack and header-only parsing (V1Floor), for v2 that plus one
// ElligatorSwift key and one ECDH (ECFloor). All clients handshake with the
// same responder, a handshaketest v2 peer imitating Bitcoin Core, in a
// child process, so the process CPU time reported (cpu-µs/op) is the
// client's alone. (The btcd node itself admits only 20 v2 handshakes a
// second, 2 per source /24, too few to benchmark against.) The last
// sub-benchmark, Ratios, reports each client's CPU over its floor as
// measured in this same run; docs/handshake-performance.md has the figures.
//
// Dial and DialV1 fail if their allocations per handshake pass the limits
// of allocLimits; the CPU ratios are reported, never enforced, since a
// shared machine's timings are not a verdict.
//
// btcd's initiator gives up on 1 in 4,096 handshakes whose responder sends
// the full 4,095 bytes of garbage (v2transport's terminator search stops 1
// byte short); such failures are counted (fail/op), not fatal.
func BenchmarkV2(b *testing.B) {
	addr := startV2Responder(b)
	// With -count n each sub-benchmark runs n times in a row; Ratios
	// divides the means.
	runs := map[string]*measured{}
	run := func(name string, op func() bool) {
		b.Run(name, func(b *testing.B) {
			m := measure(b, op)
			if runs[name] == nil {
				runs[name] = &measured{op: op}
			}
			runs[name].add(m)
			checkAllocs(b, name, m, runs)
		})
	}

	_, theirs, err := ellswift.EllswiftCreate()
	if err != nil {
		b.Fatal(err)
	}
	run("ECFloor", func() bool {
		priv, ours, err := ellswift.EllswiftCreate()
		if err != nil {
			b.Fatal(err)
		}
		_, err = ellswift.V2Ecdh(priv, theirs, ours, true)
		return err == nil
	})
	run("V1Floor", v1Floor(b, addr))
	run("V2Floor", v2Floor(b, addr))

	ctx := b.Context()
	logged := 0
	v2 := handshake.Options{ChainParams: &chaincfg.RegressionNetParams, Transport: handshake.TransportV2}
	run("Dial", func() bool {
		res, err := handshake.Dial(ctx, addr, v2)
		if err != nil && logged < 3 {
			logged++
			b.Log(err)
		}
		return err == nil && res.Transport == handshake.TransportV2
	})
	// The same exchange over v1: what TCP and the messages cost without
	// the key exchange.
	v1 := handshake.Options{ChainParams: &chaincfg.RegressionNetParams, Transport: handshake.TransportV1}
	run("DialV1", func() bool {
		_, err := handshake.Dial(ctx, addr, v1)
		return err == nil
	})
	// The same five, interleaved: each iteration runs one of each, so
	// that a shared machine's changing load falls on all of them alike.
	// Its ratios are the ones to quote.
	b.Run("Interleaved", func(b *testing.B) {
		var ops []func() bool
		for _, name := range []string{"ECFloor", "V1Floor", "Dial", "DialV1", "V2Floor"} {
			if runs[name] == nil {
				b.Skipf("needs %s in the same run (-bench filter)", name)
			}
			ops = append(ops, runs[name].op)
		}
		var cpu [5]time.Duration
		for b.Loop() {
			for i, op := range ops {
				u, s := processCPU(b)
				if !op() {
					b.Fatalf("op %d failed", i)
				}
				u2, s2 := processCPU(b)
				cpu[i] += u2 - u + s2 - s
			}
		}
		us := func(i int) float64 { return float64(cpu[i].Microseconds()) / float64(b.N) }
		b.ReportMetric(us(0), "ec-µs/op")
		b.ReportMetric(us(1), "v1floor-µs/op")
		b.ReportMetric(us(2), "v2-µs/op")
		b.ReportMetric(us(3), "v1-µs/op")
		b.ReportMetric(us(2)/(us(0)+us(1)), "v2/floor")
		b.ReportMetric(us(3)/us(1), "v1/floor")
		b.ReportMetric(us(4), "v2floor-µs/op")
		b.ReportMetric(us(2)/us(4), "v2/v2floor")
	})
	run("PeerPackage", peerPackage(b, addr, true))
	run("PeerPackageV1", peerPackage(b, addr, false))

	b.Run("Ratios", func(b *testing.B) {
		for b.Loop() {
		}
		cpu := func(name string) float64 {
			if m := runs[name]; m != nil && m.n > 0 {
				return m.cpu / float64(m.n)
			}
			return 0
		}
		ratio := func(name string, over float64, unit string) {
			if cpu(name) > 0 && over > 0 {
				b.ReportMetric(cpu(name)/over, unit)
			}
		}
		ecv1 := cpu("ECFloor") + cpu("V1Floor")
		if cpu("ECFloor") == 0 || cpu("V1Floor") == 0 {
			ecv1 = 0 // a floor was not run (-bench filter)
		}
		ratio("Dial", ecv1, "v2/floor")
		ratio("Dial", cpu("V2Floor"), "v2/v2floor")
		ratio("DialV1", cpu("V1Floor"), "v1/floor")
		ratio("PeerPackage", ecv1, "btcd-v2/floor")
		ratio("PeerPackageV1", cpu("V1Floor"), "btcd-v1/floor")
	})
}

// allocLimits are the most allocations per handshake Dial may make, in
// this process, the responder's excluded: over v2 an absolute number, over
// v1 the floor's own allocations in the same run plus a margin. v2 makes
// 66 today, 20 of them the curve's and 12 crypto/hmac's (two keys per
// handshake); the aim of 60 is V2Floor's own count and is not reached
// (docs/handshake-performance.md).
const (
	maxV2Allocs      = 70
	maxV1AllocsAbove = 8
)

// checkAllocs fails a Dial sub-benchmark whose allocations per handshake
// passed allocLimits. DialV1 is judged against V1Floor when the run
// measured it.
func checkAllocs(b *testing.B, name string, m measured, runs map[string]*measured) {
	switch name {
	case "Dial":
		if m.allocs > maxV2Allocs {
			b.Fatalf("v2 Dial: %.1f allocations per handshake, the limit is %d", m.allocs, maxV2Allocs)
		}
	case "DialV1":
		floor := runs["V1Floor"]
		if floor == nil {
			b.Logf("V1Floor not run: DialV1's %.1f allocations per handshake not judged", m.allocs)
			return
		}
		if at := floor.allocs / float64(floor.n); m.allocs > at+maxV1AllocsAbove {
			b.Fatalf("v1 Dial: %.1f allocations per handshake, the limit is the floor's %.1f + %d",
				m.allocs, at, maxV1AllocsAbove)
		}
	}
}

// v1Floor returns the least any v1 client can do over TCP: connect (the
// only socket option set being Go's TCP_NODELAY), write a
// pre-serialised version, parse headers only, answer the peer's version
// with pre-serialised wtxidrelay, sendaddrv2 and verack, stop at its verack
// and close, under a deadline as any client must have.
func v1Floor(b *testing.B, addr string) func() bool {
	magic := chaincfg.RegressionNetParams.Net
	frame := func(msgs ...wire.Message) []byte {
		var buf bytes.Buffer
		for _, m := range msgs {
			if err := wire.WriteMessage(&buf, m, wire.ProtocolVersion, magic); err != nil {
				b.Fatal(err)
			}
		}
		return buf.Bytes()
	}
	v := wire.NewMsgVersion(wire.NewNetAddressIPPort(nil, 0, 0), wire.NewNetAddressIPPort(nil, 0, 0), 2, 0)
	version := frame(v)
	verack := frame(&wire.MsgWTxIdRelay{}, &wire.MsgSendAddrV2{}, &wire.MsgVerAck{})
	d := floorDialer()
	return func() bool {
		c := dialFloor(b, &d, addr)
		defer c.Close()
		if _, err := c.Write(version); err != nil {
			return false
		}
		r := bufio.NewReaderSize(c, 1024)
		var hdr [24]byte
		for {
			if _, err := io.ReadFull(r, hdr[:]); err != nil {
				return false
			}
			if _, err := r.Discard(int(binary.LittleEndian.Uint32(hdr[16:20]))); err != nil {
				return false
			}
			switch string(bytes.TrimRight(hdr[4:16], "\x00")) {
			case "version":
				if _, err := c.Write(verack); err != nil {
					return false
				}
			case "verack":
				return true
			}
		}
	}
}

// floorDialer is the floors' dialer: no TCP keep-alives, which a
// handshake does not need, as Dial sets none (four system calls fewer).
func floorDialer() net.Dialer { return net.Dialer{KeepAlive: -1} }

// dialFloor connects with d and puts the connection under a deadline, as
// any client must have one.
func dialFloor(b *testing.B, d *net.Dialer, addr string) net.Conn {
	c, err := d.DialContext(b.Context(), "tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// peerPackage handshakes with btcd's peer package: NewOutboundPeer and
// AssociateConnection, until btcd's OnVerAck, then Disconnect.
func peerPackage(b *testing.B, addr string, v2 bool) func() bool {
	verack := make(chan struct{}, 1)
	cfg := peer.Config{
		UserAgentName:    "bench",
		UserAgentVersion: "1.0",
		ChainParams:      &chaincfg.RegressionNetParams,
		ProtocolVersion:  peer.MaxProtocolVersion,
		Listeners: peer.MessageListeners{
			OnVerAck: func(*peer.Peer, *wire.MsgVerAck) { verack <- struct{}{} },
		},
	}
	if v2 {
		cfg.UsingV2Conn = true
		cfg.Services = wire.SFNodeP2PV2 // without it btcd quietly speaks v1
	}
	var d net.Dialer
	// One deadline for the whole run, so that the loop adds no timer
	// allocations of its own to btcd's numbers.
	ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
	b.Cleanup(cancel)
	return func() bool {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		p, err := peer.NewOutboundPeer(&cfg, addr)
		if err != nil {
			b.Fatal(err)
		}
		p.AssociateConnection(conn)
		ok := false
		select {
		case <-verack:
			ok = true
		case <-p.Done():
		case <-ctx.Done():
			b.Fatal(ctx.Err())
		}
		p.Disconnect()
		p.WaitForDisconnect()
		return ok
	}
}

// measured is what measure found per op: for one run, or summed over n
// runs.
type measured struct {
	cpu    float64 // process CPU, µs
	allocs float64
	n      int
	op     func() bool // what was measured
}

func (m *measured) add(o measured) {
	m.cpu += o.cpu
	m.allocs += o.allocs
	m.n += o.n
}

// measure runs op in a benchmark loop and reports the process CPU time per
// op (cpu-µs/op, of which the kernel's: sys-µs/op) and the share of ops
// that failed. One op runs first, unmeasured, so that first-use
// allocations of the runtime and packages are not counted.
func measure(b *testing.B, op func() bool) measured {
	b.ReportAllocs()
	op()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	user, sys := processCPU(b)
	fails := 0
	for b.Loop() {
		if !op() {
			fails++
		}
	}
	user2, sys2 := processCPU(b)
	runtime.ReadMemStats(&after)
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
	b.ReportMetric(per(user2-user+sys2-sys), "cpu-µs/op")
	b.ReportMetric(per(sys2-sys), "sys-µs/op")
	b.ReportMetric(float64(fails)/float64(b.N), "fail/op")
	if fails*100 > b.N {
		b.Fatalf("%d of %d handshakes failed", fails, b.N)
	}
	return measured{cpu: per(user2 - user + sys2 - sys), allocs: float64(after.Mallocs-before.Mallocs) / float64(b.N), n: 1}
}

// processCPU returns the user and system CPU time this process used.
func processCPU(b *testing.B) (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// responderEnv makes the test binary serve as BenchmarkV2's responder.
const responderEnv = "INTEROP_V2_RESPONDER"

// runV2Responder serves a v2-capable handshaketest peer on regtest until its
// standard input closes, printing its address first.
func runV2Responder() {
	p, err := handshaketest.NewPeer(handshaketest.Config{V2: true, ChainParams: &chaincfg.RegressionNetParams})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(p.Addr())
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

func startV2Responder(b *testing.B) string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), responderEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("responder: %v", err)
	}
	return strings.TrimSpace(line)
}
