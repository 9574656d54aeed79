package main

import (
	"net/netip"
	"testing"
	"time"
)

// BenchmarkTable measures, on a table at its default cap of 100,000 nodes
// (a third good), the work done under the table's lock: building the DNS
// snapshot (once a second) and picking due nodes (every tick), with every
// node due, as after a restart:
//
//	go test -run '^$' -bench Table -benchmem ./seeder/
func BenchmarkTable(b *testing.B) {
	tb := testTable(DefaultMaxNodes)
	now := time.Now()
	for i := range DefaultMaxNodes {
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{11 + byte(i>>16), byte(i >> 8), byte(i), 1}), 8333).String()
		tb.add(learned{Addr: a, Network: "ipv4"}, "seed", now.Add(-time.Duration(i)*time.Millisecond))
		if i%3 == 0 {
			r := tb.nodes[a]
			r.Good, r.LastSuccess, r.LastStatus, r.Services = true, now, "OK", 0x409
		}
	}
	b.Run("snapshot", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tb.snapshot(now)
		}
	})
	b.Run("due64", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, t := range tb.due(now, 64) {
				tb.release(t.Addr)
			}
		}
	})
}
