package main

import (
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
