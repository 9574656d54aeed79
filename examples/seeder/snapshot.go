package main

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/bitcoin-handshake/handshake"
)

// entry is a good node as DNS hands it out.
type entry struct {
	ip       netip.Addr
	services uint64
}

// snapshot is an immutable view of the good nodes, built by the table and
// swapped in whole, so that a query never waits for the crawl and never
// sees a half-made answer.
type snapshot struct {
	v4, v6 []entry // shuffled when built
	serial uint32  // the SOA serial: the time the snapshot was built
}

func newSnapshot(good []entry, now time.Time) *snapshot {
	s := &snapshot{serial: uint32(now.Unix())}
	for _, e := range good {
		if e.ip.Is4() {
			s.v4 = append(s.v4, e)
		} else {
			s.v6 = append(s.v6, e)
		}
	}
	return s
}

// netgroup is the network group Bitcoin Core puts ip in
// (handshake.IPNetGroup: its NetGroupManager::GetGroup), the groups Core
// spreads its outbound connections over: a sample drawn from many groups is
// harder for one operator to fill.
func netgroup(ip netip.Addr) uint64 {
	return handshake.IPNetGroup(ip).Uint64()
}

// sample appends to dst (whose capacity bounds the answer) good nodes of
// the family asked whose services include want: from a random place in
// the shuffled list, one per netgroup first, then any to fill. Its work
// is bounded by the snapshot's size and dst's capacity, never by the
// query.
func (s *snapshot) sample(v6 bool, want uint64, dst []netip.Addr) []netip.Addr {
	if s == nil {
		return dst
	}
	list := s.v4
	if v6 {
		list = s.v6
	}
	n := len(list)
	if n == 0 || cap(dst) == 0 {
		return dst
	}
	start := rand.IntN(n)
	var groups [maxAnswersLimit]uint64
	for pass := 0; pass < 2 && len(dst) < cap(dst); pass++ {
		for i := range n {
			e := list[(start+i)%n]
			if e.services&want != want {
				continue
			}
			g := netgroup(e.ip)
			taken, dup := false, false
			for j, a := range dst {
				taken = taken || a == e.ip
				dup = dup || groups[j] == g
			}
			if taken || (pass == 0 && dup) {
				continue
			}
			groups[len(dst)] = g
			dst = append(dst, e.ip)
			if len(dst) == cap(dst) {
				break
			}
		}
	}
	return dst
}
