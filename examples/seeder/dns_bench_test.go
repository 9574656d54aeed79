package main

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// BenchmarkAnswer measures the query path on a snapshot of 10,000 good
// IPv4 nodes in 2,500 netgroups, for the apex and for a filter a third of
// the nodes match:
//
//	go test -run '^$' -bench Answer -benchmem ./seeder/
func BenchmarkAnswer(b *testing.B) {
	var good []entry
	for i := range 10000 {
		svc := uint64(0x409)
		if i%3 == 0 {
			svc |= 1 << 11
		}
		good = append(good, entry{ip: netip.AddrFrom4([4]byte{11 + byte(i%50), byte(i / 50 % 50), byte(i), 1}), services: svc})
	}
	r := &responder{zone: testZone(b)}
	r.snap.Store(newSnapshot(good, time.Now()))
	for _, c := range []struct{ name, q string }{{"apex", "seed.example.test."}, {"x809", "x809.seed.example.test."}} {
		q := mkQuery(b, c.q, dnsmessage.TypeA, 1232)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r.answer(q, true) == nil {
					b.Fatal("no answer")
				}
			}
		})
	}
}
