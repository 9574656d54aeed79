package main

import (
	"cmp"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/bitcoin-handshake/handshake"
)

// entry is a good node as DNS hands it out.
type entry struct {
	ip       netip.Addr
	services uint64
}

// filters are the service bits a name may ask for: the apex (none) and
// "x<hex>." names, as sipa's seeder serves them, each also with
// NODE_P2P_V2 (x800). Bitcoin Core asks x9. Each filter's answers are
// prepared when a snapshot is built, so that a query's work is bounded by
// its answer; a name asking for other bits does not exist.
var filters = [...]uint64{0,
	0x1, 0x5, 0x9, 0xd, 0x49, 0x4d, 0x400, 0x404, 0x408, 0x40c, 0x448, 0x44c,
	0x800, 0x801, 0x805, 0x809, 0x80d, 0x849, 0x84d, 0xc00, 0xc04, 0xc08, 0xc0c, 0xc48, 0xc4c}

// snapshot is an immutable view of the good nodes, built by the table and
// swapped in whole, so that a query never waits for the crawl and never
// sees a half-made answer.
type snapshot struct {
	v4, v6 []entry // shuffled when built
	serial uint32  // the SOA serial: the time the snapshot was built
	// order holds, per family (0: IPv4, 1: IPv6) and filter, the indexes
	// into v4 or v6 of the nodes with those services, ordered so that
	// consecutive ones are in different netgroups as far as the nodes
	// allow (see spread).
	order [2][len(filters)][]uint32
}

func newSnapshot(good []entry, now time.Time) *snapshot {
	return buildSnapshot(good, now, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())))
}

// buildSnapshot sorts good by family and orders each filter's nodes so
// that answers of DefaultAnswers addresses spread over netgroups; other
// answer sizes spread as well, with a cut (see spread) made for the
// default.
func buildSnapshot(good []entry, now time.Time, rnd *rand.Rand) *snapshot {
	s := &snapshot{serial: uint32(now.Unix())}
	for _, e := range good {
		if e.ip.Is4() {
			s.v4 = append(s.v4, e)
		} else {
			s.v6 = append(s.v6, e)
		}
	}
	for fam, list := range [2][]entry{s.v4, s.v6} {
		groups := make([]uint64, len(list))
		for i, e := range list {
			groups[i] = netgroup(e.ip)
		}
		for f, want := range filters {
			var idx []uint32
			for i, e := range list {
				if e.services&want == want {
					idx = append(idx, uint32(i))
				}
			}
			s.order[fam][f] = spread(idx, groups, DefaultAnswers, rnd)
		}
	}
	return s
}

// spread orders idx in rounds: each round takes one node of every
// netgroup that has one left, the groups in one random order for all
// rounds, so that any n consecutive nodes (an answer) are of n groups
// while n groups remain, across the end of a round too. A round
// with fewer groups than an answer can hold, while the first round had
// more, is cut with all rounds after it: those nodes would crowd answers
// with one operator's addresses; they are handed out in later snapshots,
// shuffled anew. When the nodes share fewer groups than an answer holds,
// every round is kept: the answers cannot do better.
func spread(idx []uint32, groups []uint64, n int, rnd *rand.Rand) []uint32 {
	if len(idx) == 0 {
		return nil
	}
	rnd.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	// Stable by group: each group's run keeps the shuffled order.
	slices.SortStableFunc(idx, func(a, b uint32) int { return cmp.Compare(groups[a], groups[b]) })
	var runs [][]uint32
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && groups[idx[j]] == groups[idx[i]] {
			j++
		}
		runs = append(runs, idx[i:j])
		i = j
	}
	rnd.Shuffle(len(runs), func(i, j int) { runs[i], runs[j] = runs[j], runs[i] })
	need := min(n, len(runs))
	out := make([]uint32, 0, len(idx))
	for round := 0; ; round++ {
		size := len(out)
		for _, r := range runs {
			if round < len(r) {
				out = append(out, r[round])
			}
		}
		if len(out) == size || (round > 0 && len(out)-size < need) {
			return out[:size]
		}
	}
}

// answerWindows is how many distinct answers a list of n nodes gives, answers
// of size addresses each: windows of consecutive nodes, the last one
// wrapping round to the start.
func answerWindows(n, size int) int {
	if n == 0 {
		return 0
	}
	return (n + size - 1) / size
}

// window returns the indexes of window w of order: size consecutive
// nodes from w*size, wrapping round, or all of them when there are fewer.
// It appends to dst.
func window(dst []uint32, order []uint32, w, size int) []uint32 {
	n := len(order)
	if n <= size {
		return append(dst, order...)
	}
	start := w * size
	for i := range size {
		dst = append(dst, order[(start+i)%n])
	}
	return dst
}

// filterIndex returns the index in filters of want, or -1.
func filterIndex(want uint64) int {
	for i, f := range filters {
		if f == want {
			return i
		}
	}
	return -1
}

// sample returns the addresses of one answer of size addresses (a random
// window) for the family and filter; want must be one of filters. For
// tests: the query path writes records from the window directly.
func (s *snapshot) sample(v6 bool, want uint64, size int) []netip.Addr {
	f := filterIndex(want)
	if s == nil || f < 0 {
		return nil
	}
	fam, list := 0, s.v4
	if v6 {
		fam, list = 1, s.v6
	}
	order := s.order[fam][f]
	if len(order) == 0 {
		return nil
	}
	var out []netip.Addr
	for _, i := range window(nil, order, rand.IntN(answerWindows(len(order), size)), size) {
		out = append(out, list[i].ip)
	}
	return out
}

// netgroup is the network group Bitcoin Core puts ip in
// (handshake.IPNetGroup: its NetGroupManager::GetGroup), the groups Core
// spreads its outbound connections over: a sample drawn from many groups is
// harder for one operator to fill.
func netgroup(ip netip.Addr) uint64 {
	return handshake.IPNetGroup(ip).Uint64()
}
