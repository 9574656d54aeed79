package main

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// TestSpreadOverNetgroups: every answer of a snapshot holds as many
// netgroups as the nodes allow: 25 distinct when spread over many; all 4,
// evenly, when crowded into 4; and when one group holds half the nodes,
// it never crowds an answer.
func TestSpreadOverNetgroups(t *testing.T) {
	t.Parallel()
	ip := func(g, i int) netip.Addr {
		return netip.AddrFrom4([4]byte{11 + byte(g/250), byte(g % 250), byte(i >> 8), byte(i)})
	}
	for _, c := range []struct {
		name     string
		group    func(i int) int
		distinct int // netgroups per answer, at least
		most     int // nodes of one netgroup per answer, at most
	}{
		{"spread", func(i int) int { return i % 2500 }, 25, 1},
		{"crowded", func(i int) int { return i % 4 }, 4, 7},
		{"one group holds half", func(i int) int {
			if i%2 == 0 {
				return 0
			}
			return 1 + i%500
		}, 25, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var good []entry
			for i := range 10000 {
				good = append(good, entry{ip: ip(c.group(i), i), services: 0x409})
			}
			s := buildSnapshot(good, time.Now(), rand.New(rand.NewPCG(1, 2)))
			for _, f := range []int{0, filterIndex(0x9)} {
				order := s.order[0][f]
				if len(order) < 1000 {
					t.Fatalf("filter %x: %d nodes ordered", filters[f], len(order))
				}
				for w := range answerWindows(len(order), DefaultAnswers) {
					groups := map[uint64]int{}
					for _, i := range window(nil, order, w, DefaultAnswers) {
						groups[netgroup(s.v4[i].ip)]++
					}
					most := 0
					for _, n := range groups {
						most = max(most, n)
					}
					if len(groups) < c.distinct || most > c.most {
						t.Fatalf("filter %x window %d: %d netgroups, %d of one; want at least %d, at most %d", filters[f], w, len(groups), most, c.distinct, c.most)
					}
				}
			}
		})
	}
}
