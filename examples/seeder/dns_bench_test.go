package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// benchNodes is 10,000 good nodes of both families, a third of them v2
// (x809), either spread over 2,500 IPv4 and 2,500 IPv6 netgroups or
// crowded into 4 of each.
func benchNodes(crowded bool) []entry {
	var good []entry
	for i := range 10000 {
		svc := uint64(0x409)
		if i%3 == 0 {
			svc |= nodeP2PV2
		}
		g := i % 2500
		if crowded {
			g = i % 4
		}
		var ip netip.Addr
		if i%2 == 0 {
			ip = netip.AddrFrom4([4]byte{11 + byte(g/250), byte(g % 250), byte(i >> 8), byte(i)})
		} else {
			ip = netip.AddrFrom16([16]byte{0x20, 0x01, byte(g >> 8), byte(g), 12: byte(i >> 8), 13: byte(i), 15: 1})
		}
		good = append(good, entry{ip: ip, services: svc})
	}
	return good
}

// benchMix is the query mix of the DNS benchmarks: what Bitcoin Core
// asks (x9), the apex, a v2 filter, both families, and names outside the
// zone, which a public server is sent too.
var benchMix = []struct {
	name string
	t    dnsmessage.Type
}{
	{"seed.example.test.", dnsmessage.TypeA},
	{"seed.example.test.", dnsmessage.TypeAAAA},
	{"x9.seed.example.test.", dnsmessage.TypeA},
	{"x9.seed.example.test.", dnsmessage.TypeAAAA},
	{"x809.seed.example.test.", dnsmessage.TypeA},
	{"x809.seed.example.test.", dnsmessage.TypeAAAA},
	{"example.com.", dnsmessage.TypeA},
	{"www.example.org.", dnsmessage.TypeAAAA},
}

// BenchmarkAnswer measures the query path in process, on 10,000 nodes
// spread over many netgroups and crowded into few: the same work either
// way, bounded by the answer.
//
//	go test -run '^$' -bench Answer -benchmem ./seeder/
func BenchmarkAnswer(b *testing.B) {
	for _, crowded := range []bool{false, true} {
		r := &responder{zone: testZone(b)}
		r.set(newSnapshot(benchNodes(crowded), time.Now()))
		out := make([]byte, 0, maxAnswer)
		for _, m := range benchMix[:6] {
			q := mkQuery(b, m.name, m.t, 1232)
			b.Run(fmt.Sprintf("crowded=%v/%s/%v", crowded, strings.TrimSuffix(m.name, ".seed.example.test."), m.t), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if r.respond(out, q, true, false) == nil {
						b.Fatal("no answer")
					}
				}
			})
		}
	}
}

// BenchmarkDNSPerf measures the seeder's DNS over real UDP sockets with
// dnsperf (Debian's dnsperf package), against a floor: a responder on the
// same socket setup (one SO_REUSEPORT socket per CPU) that reads each
// query and sends back one fixed answer, prebuilt, as large as the
// seeder's answers are on average. Both serve the same query mix (see
// benchMix, with EDNS) from 10 clients, over tables spread and crowded,
// and over a signed zone to queries with DO; the ratio of their rates is
// what the seeder's own work costs. It measures once, whatever b.N: for each
// table, -dnsperf-rounds runs of each responder in turn, each
// -dnsperf-seconds long, the best of each kept:
//
//	go test -run '^$' -bench DNSPerf ./seeder/ -dnsperf-seconds 5 -dnsperf-rounds 3
func BenchmarkDNSPerf(b *testing.B) {
	perf, err := exec.LookPath("dnsperf")
	if err != nil {
		b.Skip("SKIPPED: dnsperf is not installed (apt-get install dnsperf); this benchmark runs it")
	}
	dir := b.TempDir()
	data := filepath.Join(dir, "queries")
	var lines strings.Builder
	for _, m := range benchMix {
		fmt.Fprintf(&lines, "%s %s\n", strings.TrimSuffix(m.name, "."), strings.TrimPrefix(m.t.String(), "Type"))
	}
	if err := os.WriteFile(data, []byte(lines.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	seconds := *dnsperfSeconds
	for _, c := range []struct {
		label           string
		crowded, signed bool
	}{{"spread", false, false}, {"crowded", true, false}, {"signed", false, true}} {
		r := &responder{zone: testZone(b)}
		if c.signed {
			r.keys = testKeys(b, "ECDSAP256SHA256")
		}
		r.set(newSnapshot(benchNodes(c.crowded), time.Now()))
		size := 0
		for _, m := range benchMix {
			q := mkQuery(b, m.name, m.t, 1232)
			if c.signed {
				q = mkQueryDO(b, m.name, m.t)
			}
			size += len(r.answer(q, true))
		}
		size /= len(benchMix)
		srv, err := listenDNS("127.0.0.1:0", r, slog.New(slog.DiscardHandler), dnsOptions{})
		if err != nil {
			b.Fatal(err)
		}
		fl := startFloor(b, size)
		// In turn, -dnsperf-rounds times, the best run of each kept: the
		// machine's other work slows one run or another.
		var seeder, floor perfResult
		for range *dnsperfRounds {
			seeder = best(seeder, dnsperf(b, perf, srv.Addr(), data, seconds, c.signed))
			floor = best(floor, dnsperf(b, perf, fl.addr, data, seconds, c.signed))
		}
		srv.Close()
		fl.close()
		b.Logf("%s: seeder %.0f q/s (%d lost), %v CPU per query; floor %.0f q/s (%d lost), %v CPU per query; answers of %d bytes on average: rate %.2fx, CPU %.2fx the floor's",
			c.label, seeder.qps, seeder.lost, seeder.cpuPer, floor.qps, floor.lost, floor.cpuPer, size,
			floor.qps/seeder.qps, float64(seeder.cpuPer)/float64(floor.cpuPer))
		b.ReportMetric(seeder.qps, c.label+"-seeder-q/s")
		b.ReportMetric(floor.qps, c.label+"-floor-q/s")
		b.ReportMetric(floor.qps/seeder.qps, c.label+"-x-floor")
		b.ReportMetric(float64(seeder.lost), c.label+"-seeder-lost")
		b.ReportMetric(float64(seeder.cpuPer.Nanoseconds()), c.label+"-seeder-cpu-ns/q")
		b.ReportMetric(float64(floor.cpuPer.Nanoseconds()), c.label+"-floor-cpu-ns/q")
	}
}

var (
	dnsperfSeconds = flag.Int("dnsperf-seconds", 5, "length of each dnsperf run in BenchmarkDNSPerf")
	dnsperfRounds  = flag.Int("dnsperf-rounds", 3, "runs of each responder in BenchmarkDNSPerf, in turn; the best counts")
)

// perfResult is one dnsperf run: its rate, its losses, and the CPU time
// this process (the responder) spent per query answered, which the
// machine's other work disturbs far less than the rate.
type perfResult struct {
	qps    float64
	lost   int
	cpuPer time.Duration
}

// best is the faster of two runs and the lower CPU time per query,
// counting the losses of both.
func best(a, b perfResult) perfResult {
	cpu := min(a.cpuPer, b.cpuPer)
	if a.cpuPer == 0 || b.cpuPer == 0 {
		cpu = max(a.cpuPer, b.cpuPer)
	}
	return perfResult{qps: max(a.qps, b.qps), lost: a.lost + b.lost, cpuPer: cpu}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var (
	perfQPS  = regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)
	perfLost = regexp.MustCompile(`Queries lost:\s+([0-9]+)`)
	perfDone = regexp.MustCompile(`Queries completed:\s+([0-9]+)`)
)

// dnsperf runs dnsperf against addr; do sets the DO bit, asking for
// signatures.
func dnsperf(b *testing.B, perf, addr, data string, seconds int, do bool) perfResult {
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds+30)*time.Second)
	defer cancel()
	args := []string{"-s", host, "-p", port, "-d", data, "-c", "10", "-e", "-l", strconv.Itoa(seconds), "-t", "2"}
	if do {
		args = append(args, "-D")
	}
	cpu := cpuTime(b)
	out, err := exec.CommandContext(ctx, perf, args...).CombinedOutput()
	cpu = cpuTime(b) - cpu
	if err != nil {
		b.Fatalf("dnsperf: %v\n%s", err, out)
	}
	q, l, d := perfQPS.FindSubmatch(out), perfLost.FindSubmatch(out), perfDone.FindSubmatch(out)
	if q == nil || l == nil || d == nil {
		b.Fatalf("dnsperf said:\n%s", out)
	}
	var res perfResult
	res.qps, _ = strconv.ParseFloat(string(q[1]), 64)
	res.lost, _ = strconv.Atoi(string(l[1]))
	if done, _ := strconv.Atoi(string(d[1])); done > 0 {
		res.cpuPer = cpu / time.Duration(done)
	}
	return res
}

// floor is the benchmark's floor responder.
type floor struct {
	addr  string
	conns []net.PacketConn
	wg    sync.WaitGroup
}

func startFloor(b *testing.B, size int) *floor {
	conns, err := listenUDP("127.0.0.1:0", 1)
	if err != nil {
		b.Fatal(err)
	}
	addr := conns[0].LocalAddr().String()
	more, err := listenUDP(addr, runtime.NumCPU()-1)
	if err != nil {
		b.Fatal(err)
	}
	f := &floor{addr: addr, conns: append(conns, more...)}
	for _, c := range f.conns {
		uc := c.(addrPortConn)
		f.wg.Go(func() {
			in := make([]byte, maxQuery)
			answer := bytes.Repeat([]byte{0}, size)
			answer[2] = 0x84 // QR, AA: an answer
			for {
				n, from, err := uc.ReadFromUDPAddrPort(in)
				if err != nil {
					return
				}
				if n >= 2 {
					copy(answer, in[:2]) // the id, which dnsperf matches
				}
				uc.WriteToUDPAddrPort(answer, from)
			}
		})
	}
	return f
}

func (f *floor) close() {
	for _, c := range f.conns {
		c.Close()
	}
	f.wg.Wait()
}

// TestQueryPathDoesNotAllocate: answering a query, any kind, allocates
// nothing once the snapshot is prepared, signed or not.
func TestQueryPathDoesNotAllocate(t *testing.T) {
	for _, signed := range []bool{false, true} {
		r := &responder{zone: testZone(t)}
		if signed {
			r.keys = testKeys(t, "ECDSAP256SHA256")
		}
		r.set(newSnapshot(benchNodes(false), time.Now()))
		out := make([]byte, 0, maxAnswer)
		var queries [][]byte
		for _, m := range benchMix {
			queries = append(queries, mkQuery(t, m.name, m.t, 1232))
		}
		queries = append(queries,
			mkQuery(t, "seed.example.test.", dnsmessage.TypeSOA, 0),
			mkQuery(t, "seed.example.test.", dnsmessage.TypeNS, 0),
			mkQuery(t, "nope.seed.example.test.", dnsmessage.TypeA, 0),
			mkQuery(t, "seed.example.test.", dnsmessage.TypeAAAA, 0)) // truncated
		if signed {
			queries = append(queries, mkQueryDO(t, "seed.example.test.", dnsmessage.TypeSOA),
				mkQueryDO(t, "nope.seed.example.test.", dnsmessage.TypeA),
				mkQueryDO(t, "x9.seed.example.test.", dnsmessage.TypeTXT))
		}
		for _, q := range queries {
			if allocs := testing.AllocsPerRun(100, func() { r.respond(out, q, true, false) }); allocs != 0 {
				var p dnsmessage.Parser
				p.Start(q)
				qq, _ := p.Question()
				t.Errorf("signed=%v %v %v: %v allocations per query", signed, qq.Name, qq.Type, allocs)
			}
		}
	}
}
