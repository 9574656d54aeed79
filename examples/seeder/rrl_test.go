package main

import (
	"hash/maphash"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// TestRateLimitFlood: a flood from 50 source addresses of one /24 gets
// no more full answers than the rate allows over its length, every other
// limited query a truncated answer (the slip) and the rest nothing; a
// client of another prefix asking meanwhile gets every answer whole; the
// metrics count what was limited and slipped.
func TestRateLimitFlood(t *testing.T) {
	t.Parallel()
	const rate, slip, sources, each = 20, 2, 50, 40
	m := newMetrics()
	r := &responder{zone: testZone(t), count: &m.dns}
	r.set(testSnapshot())
	s, err := listenDNS("127.0.0.1:0", r, slog.New(slog.DiscardHandler), dnsOptions{limit: newRRL(rate, slip), counts: &m.server})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	server := net.UDPAddrFromAddrPort(netip.MustParseAddrPort(s.Addr()))
	q := mkQuery(t, "seed.example.test.", dnsmessage.TypeA, 0)

	var mu sync.Mutex
	full, truncated := 0, 0
	var wg sync.WaitGroup
	start := time.Now()
	var lastSend time.Time
	for i := range sources {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 9, 0, byte(i+1))})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		wg.Go(func() {
			for range each {
				c.WriteToUDP(q, server)
			}
			mu.Lock()
			if now := time.Now(); now.After(lastSend) {
				lastSend = now
			}
			mu.Unlock()
			buf := make([]byte, 1500)
			for {
				// Answers come at once on loopback; a second of
				// silence means no more are coming.
				c.SetReadDeadline(time.Now().Add(time.Second))
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				var m dnsmessage.Message
				if m.Unpack(buf[:n]) != nil {
					t.Error("an answer does not parse")
					return
				}
				mu.Lock()
				if m.Truncated {
					truncated++
				} else {
					full++
				}
				mu.Unlock()
			}
		})
	}
	// A well-behaved client of another prefix, meanwhile: one query at a
	// time, each answered whole. The flood may overflow the server's
	// socket buffer and lose its query: it asks again, as resolvers do.
	good, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 10, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	asked := 0
	for i := range 10 {
		var m dnsmessage.Message
		for try := 0; ; try++ {
			good.WriteToUDP(q, server)
			asked++
			good.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			buf := make([]byte, 1500)
			n, err := good.Read(buf)
			if err == nil {
				if err := m.Unpack(buf[:n]); err != nil {
					t.Fatal(err)
				}
				break
			}
			if try == 10 {
				t.Fatalf("well-behaved query %d: %v", i, err)
			}
		}
		if m.Truncated || len(m.Answers) != DefaultAnswers {
			t.Fatalf("well-behaved query %d: TC %v, %d answers", i, m.Truncated, len(m.Answers))
		}
	}
	wg.Wait()
	got := map[string]int{}
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "seeder_dns_queries_total" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "answer" {
					got[l.GetValue()] += int(mt.GetCounter().GetValue())
				}
			}
		}
	}
	// What reached the server (the kernel may drop some of a burst):
	// answered whole, slipped or dropped by the rate limit.
	received := got["noerror"] + got["slipped"] + got["ratelimited"]
	limited := got["slipped"] + got["ratelimited"]
	// A burst of rate, then rate per second of the flood.
	allowed := rate + int(float64(rate)*lastSend.Sub(start).Seconds()) + 1
	t.Logf("flood of %d queries over %v: the server got %d (with the good client's %d); %d full answers (allowed %d), %d truncated; metrics %v",
		sources*each, lastSend.Sub(start), received, asked, full, allowed, truncated, got)
	if full > allowed || full == 0 {
		t.Errorf("%d full answers to the flood, want 1 to %d", full, allowed)
	}
	if got["noerror"] < full+10 || got["noerror"] > full+asked {
		t.Errorf("%d noerror counted, want the flood's %d full answers and the good client's 10 to %d", got["noerror"], full, asked)
	}
	// Every slip-th limited query is slipped.
	if want := limited / slip; got["slipped"] != truncated || truncated < want-1 || truncated > want+1 || limited == 0 {
		t.Errorf("%d truncated answers, %d counted as slipped, to %d limited queries; want %d", truncated, got["slipped"], limited, want)
	}
}

// TestPrefixKey: clients share a bucket by /24 and /56, as BIND's rate
// limit groups them.
func TestPrefixKey(t *testing.T) {
	t.Parallel()
	k := func(s string) uint64 { return prefixKey(netip.MustParseAddr(s)) }
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"192.0.2.1", "192.0.2.254", true},
		{"192.0.2.1", "192.0.3.1", false},
		{"::ffff:192.0.2.1", "192.0.2.9", true},
		{"2001:db8:0:ff::1", "2001:db8:0:ff:1::1", true},
		{"2001:db8:0:ff::1", "2001:db8:0:100::1", false},
		{"0.0.0.1", "::1", false},
	} {
		if (k(c.a) == k(c.b)) != c.same {
			t.Errorf("%s and %s: same bucket %v, want %v", c.a, c.b, !c.same, c.same)
		}
	}
}

// TestRateLimitFullShard: a shard full of prefixes still limited limits a
// new prefix at once, and is not swept again for rrlSweepPause, so that a
// flood of new prefixes aimed at it costs a lookup each, not a sweep; once
// its buckets have refilled and the pause is over, a new prefix gets in.
func TestRateLimitFullShard(t *testing.T) {
	l := newRRL(10, 0)
	// Prefixes that land in shard 0 under this table's seed: the cap and
	// three more.
	var in0 []netip.Addr
	for i := 0; len(in0) < rrlShardCap+3; i++ {
		if i>>16 > 100 {
			t.Fatal("not enough prefixes in shard 0")
		}
		a := netip.AddrFrom4([4]byte{byte(10 + i>>16), byte(i >> 8), byte(i), 0}) // /24 number i
		if maphash.Comparable(l.seed, prefixKey(a))%rrlShards == 0 {
			in0 = append(in0, a)
		}
	}
	t0 := time.Unix(1000, 0)
	for _, a := range in0[:rrlShardCap] {
		for range 10 { // each bucket emptied
			l.check(a, t0)
		}
	}
	sh := &l.shards[0]
	if len(sh.m) != rrlShardCap {
		t.Fatalf("shard 0 holds %d prefixes, want %d", len(sh.m), rrlShardCap)
	}
	// Not yet refilled: the sweep frees nothing, the newcomer is limited.
	if v := l.check(in0[rrlShardCap], t0.Add(990*time.Millisecond)); v != rrlDrop {
		t.Errorf("a new prefix in a full shard: verdict %d, want drop", v)
	}
	// Refilled now, but within the pause: no sweep, still limited.
	if v := l.check(in0[rrlShardCap+1], t0.Add(1010*time.Millisecond)); v != rrlDrop || len(sh.m) != rrlShardCap {
		t.Errorf("within the pause: verdict %d, %d prefixes; want drop and no sweep", v, len(sh.m))
	}
	// After the pause the sweep forgets the refilled buckets.
	if v := l.check(in0[rrlShardCap+2], t0.Add(990*time.Millisecond+rrlSweepPause)); v != rrlPass || len(sh.m) != 1 {
		t.Errorf("after the pause: verdict %d, %d prefixes; want pass and the shard swept", v, len(sh.m))
	}
	// The shard a prefix lands in depends on the table's own seed.
	other, moved := newRRL(10, 0), 0
	for _, a := range in0[:100] {
		if maphash.Comparable(other.seed, prefixKey(a))%rrlShards != 0 {
			moved++
		}
	}
	if moved == 0 {
		t.Error("100 prefixes of one shard land in one shard under another seed too: the shard is not keyed")
	}
}
