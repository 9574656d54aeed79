package main

import (
	"cmp"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Defaults of the table.
const (
	// DefaultMaxNodes caps the addresses the table holds, whatever peers
	// gossip: Bitcoin's reachable network is some tens of thousands of
	// nodes, and a hostile peer can invent addresses without end.
	DefaultMaxNodes = 100_000
	// forgetAfter is how many failed visits in a row an address that has
	// never answered gets before it is forgotten, so that invented
	// addresses do not occupy the table for long.
	forgetAfter = 3
	// maxAdmitPerVisit caps the new addresses one visit may admit, as
	// Bitcoin Core's addrman bounds what one source may add: a hostile
	// node gossiping a thousand invented addresses per visit must not grow
	// the queue of never-tried addresses faster than it can be worked off.
	maxAdmitPerVisit = 250
	// forgetNever is how many failed visits in a row any address that has
	// never answered gets, whatever its source: an operator's -addr or a
	// seed's answer may be wrong too.
	forgetNever = 10
	// forgetStale is how old the last success of a node that is failing
	// may be before it is forgotten: a node gone for a month is gone.
	forgetStale = 30 * 24 * time.Hour
	// evictBatch is how many eviction candidates one scan of a full table
	// keeps, so that a flood of new addresses costs one scan per batch,
	// not one per address.
	evictBatch = 1024
	// staleAfter is how old a good node's last success may be for DNS to
	// hand it out: after a long stop, the seeder answers at once from its
	// database, but not with nodes it has not seen for a day.
	staleAfter = 24 * time.Hour
	// nodeP2PV2 is NODE_P2P_V2, the BIP324 service bit.
	nodeP2PV2 = 1 << 11
)

// table is the seeder's node table in memory; the store mirrors it. It is
// safe for concurrent use.
type table struct {
	mu       sync.Mutex
	nodes    map[string]*record
	inflight map[string]bool
	dirty    map[string]bool // changed since the last commit
	removed  map[string]bool // forgotten since the last commit
	max      int
	policy   goodPolicy
	sched    schedule
	rnd      *rand.Rand
	dropped  int // addresses refused because the table was full
	// evict holds the worst failing records found by the last scan, worst
	// last; rescan is set when a visit fails, since only then can a new
	// candidate appear.
	evict  []string
	rescan bool
}

func newTable(max int, policy goodPolicy, sched schedule) *table {
	return &table{
		nodes:    make(map[string]*record),
		inflight: make(map[string]bool),
		dirty:    make(map[string]bool),
		removed:  make(map[string]bool),
		max:      max,
		policy:   policy,
		sched:    sched,
		rnd:      rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		rescan:   true,
	}
}

// load puts records read from the store in the table. The good flag is
// judged again by the current policy (the flags or defaults may have
// changed since it was stored), and a table over max (lowered since) is
// trimmed, worst records first; what changes is marked for the store.
func (t *table) load(recs []record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	all := make([]*record, 0, len(recs))
	for i := range recs {
		r := recs[i]
		if g := r.isGood(t.policy); g != r.Good {
			r.Good = g
			t.dirty[r.Addr] = true
		}
		t.nodes[r.Addr] = &r
		all = append(all, &r)
	}
	if over := len(t.nodes) - t.max; over > 0 {
		slices.SortFunc(all, worth)
		for _, r := range all[:over] {
			t.forget(r.Addr)
		}
	}
}

// add admits an address to visit; it reports false when the address is
// known already or the table is full.
func (t *table) add(l learned, source string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.nodes[l.Addr]; ok {
		return false
	}
	if len(t.nodes) >= t.max && !t.makeRoom() {
		t.dropped++
		return false
	}
	t.nodes[l.Addr] = &record{Addr: l.Addr, Network: l.Network, Source: source, Services: l.Services,
		FirstSeen: now, NextTry: now}
	t.dirty[l.Addr] = true
	delete(t.removed, l.Addr)
	return true
}

// release gives back an address taken by due whose visit did not happen
// (the seeder is stopping).
func (t *table) release(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.inflight, addr)
}

// postpone gives back an address taken by due whose visit could not be
// made for a cause not its own (its proxy was down), to be offered again
// at until, not counted as a try.
func (t *table) postpone(addr string, until time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.inflight, addr)
	if r, ok := t.nodes[addr]; ok && r.NextTry.Before(until) {
		r.NextTry = until
	}
}

// apply records a visit and admits what the node gossiped; it returns how
// many gossiped addresses were new and admitted.
func (t *table) apply(v visit, now time.Time) (admitted int) {
	t.mu.Lock()
	delete(t.inflight, v.Addr)
	r, ok := t.nodes[v.Addr]
	if ok {
		t.record(r, v, now)
	}
	t.mu.Unlock()
	for i, l := range v.Learned {
		if admitted == maxAdmitPerVisit {
			t.refuse(v.Learned[i:])
			break
		}
		if t.add(l, "gossip", now) {
			admitted++
		}
	}
	return admitted
}

// refuse counts as dropped the addresses of ls not known already.
func (t *table) refuse(ls []learned) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range ls {
		if _, ok := t.nodes[l.Addr]; !ok {
			t.dropped++
		}
	}
}

// record updates r with a visit. Called with t.mu held.
func (t *table) record(r *record, v visit, now time.Time) {
	ok := v.Status == "OK"
	r.Stats.update(ok, r.LastTry, v.Time, t.sched.interval())
	r.LastTry = v.Time
	r.Tries++
	r.LastStatus, r.LastError = v.Status, v.Err
	if v.Status != "FAILED" {
		// What a node says of itself beats what others gossiped of it.
		r.Services, r.ProtocolVersion, r.UserAgent, r.StartHeight = v.Services, v.ProtocolVersion, v.UserAgent, v.StartHeight
	}
	if ok {
		r.Successes++
		r.FailuresInRow = 0
		r.LastSuccess = v.Time
		r.Transport, r.Negotiation, r.Features = v.Transport, v.Negotiation, v.Features
		r.PingMS, r.HasPing = v.PingMS, v.HasPing
	} else {
		r.FailuresInRow++
		t.rescan = true
	}
	r.Good = r.isGood(t.policy)
	t.dirty[r.Addr] = true
	if r.dead(now) {
		t.forget(r.Addr)
		return
	}
	r.NextTry = t.sched.next(r, now, t.rnd.Float64())
}

// changes returns copies of the records changed since the last call, the
// addresses forgotten, for the store to commit, and the number of
// addresses known.
func (t *table) changes() (changed []record, removed []string, known int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for a := range t.dirty {
		if r, ok := t.nodes[a]; ok {
			changed = append(changed, *r)
		}
	}
	for a := range t.removed {
		removed = append(removed, a)
	}
	clear(t.dirty)
	clear(t.removed)
	return changed, removed, len(t.nodes)
}

// requeue marks records dirty again after a failed commit.
func (t *table) requeue(changed []record, removed []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range changed {
		if _, ok := t.nodes[r.Addr]; ok {
			t.dirty[r.Addr] = true
		}
	}
	for _, a := range removed {
		if _, ok := t.nodes[a]; !ok {
			t.removed[a] = true
		}
	}
}

// len returns the number of addresses known.
func (t *table) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.nodes)
}

// all returns a copy of every record, for the dump.
func (t *table) all() []record {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]record, 0, len(t.nodes))
	for _, r := range t.nodes {
		out = append(out, *r)
	}
	return out
}

// counts are the table's figures for the metrics.
type counts struct {
	known, good map[[2]string]int // by network and transport
	dropped     int
}

// snapshot builds the immutable view DNS answers from, updates the good
// rule's height floor from the heights of recently reachable nodes, and
// returns the counts for the metrics.
func (t *table) snapshot(now time.Time) (*snapshot, counts) {
	good, c := t.goodEntries(now)
	// Outside the lock: ordering and packing the answers takes long
	// enough on a full table (100 ms and more) to hold up every visit
	// that reports meanwhile.
	return newSnapshot(good, now), c
}

// goodEntries returns the nodes DNS may hand out, shuffled, and the table's
// figures, in one pass under the lock.
func (t *table) goodEntries(now time.Time) ([]entry, counts) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// A handful of network and transport pairs: counted in a short list,
	// cheaper than a map lookup per node.
	type tally struct {
		key         [2]string
		known, good int
	}
	var tallies []tally
	// One height per netgroup, from nodes that pass every other good
	// check: many addresses on one host (an IPv6 /64) or on odd ports
	// claiming a high height must not lift the floor above honest nodes.
	type groupHeight struct {
		group  uint64
		height int32
	}
	var gh []groupHeight
	others := t.policy
	others.minHeight = 0
	var good []entry
	for _, r := range t.nodes {
		key := [2]string{r.Network, r.Transport}
		i := slices.IndexFunc(tallies, func(t tally) bool { return t.key == key })
		if i < 0 {
			i = len(tallies)
			tallies = append(tallies, tally{key: key})
		}
		tallies[i].known++
		if r.LastStatus == "OK" && now.Sub(r.LastSuccess) < 24*time.Hour && r.isGood(others) {
			if ap, err := netip.ParseAddrPort(r.Addr); err == nil {
				gh = append(gh, groupHeight{netgroup(ap.Addr().Unmap()), r.StartHeight})
			}
		}
		if !r.Good || now.Sub(r.LastSuccess) > staleAfter {
			continue
		}
		tallies[i].good++
		if r.Network != "ipv4" && r.Network != "ipv6" {
			continue // good for the dump; A and AAAA answers carry IPv4 and IPv6 only
		}
		ap, err := netip.ParseAddrPort(r.Addr)
		if err != nil {
			continue
		}
		svc := r.Services
		if r.Transport != "v2" {
			// NODE_P2P_V2 counts only when our last handshake was v2: a
			// node announcing it without speaking v2 costs the new node
			// asking x800 a wasted connection.
			svc &^= nodeP2PV2
		}
		good = append(good, entry{ip: ap.Addr().Unmap(), services: svc})
	}
	// Sorted by group then height: each group's run gives its median.
	slices.SortFunc(gh, func(a, b groupHeight) int {
		if a.group != b.group {
			return cmp.Compare(a.group, b.group)
		}
		return cmp.Compare(a.height, b.height)
	})
	var heights []int32
	for i := 0; i < len(gh); {
		j := i + 1
		for j < len(gh) && gh[j].group == gh[i].group {
			j++
		}
		heights = append(heights, gh[i+(j-i)/2].height)
		i = j
	}
	if len(heights) > 0 {
		slices.Sort(heights)
		// The median, not the highest: a node lying about its height must
		// not make every honest node look behind.
		// In int64: a median near the lowest int32 (lying nodes) less
		// the lag would wrap round to a floor no node reaches.
		if m := int64(heights[len(heights)/2]) - heightLag; m > 0 {
			t.policy.minHeight = int32(m) // below the median: fits
		}
	}
	c := counts{known: make(map[[2]string]int), good: make(map[[2]string]int), dropped: t.dropped}
	for _, tl := range tallies {
		c.known[tl.key] = tl.known
		if tl.good > 0 {
			c.good[tl.key] = tl.good
		}
	}
	t.rnd.Shuffle(len(good), func(i, j int) { good[i], good[j] = good[j], good[i] })
	return good, c
}
