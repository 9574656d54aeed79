package main

import (
	"slices"
	"time"
)

// dead reports whether a record is to be forgotten: a gossiped address
// that never answered after forgetAfter visits, any address that never
// answered after forgetNever, or a failing node whose last success is
// over forgetStale old.
func (r *record) dead(now time.Time) bool {
	if r.Successes == 0 {
		return r.FailuresInRow >= forgetNever || r.Source == "gossip" && r.FailuresInRow >= forgetAfter
	}
	return r.FailuresInRow > 0 && now.Sub(r.LastSuccess) > forgetStale
}

// forget removes addr and tells the store. Called with t.mu held.
func (t *table) forget(addr string) {
	delete(t.nodes, addr)
	delete(t.dirty, addr)
	delete(t.inflight, addr)
	t.removed[addr] = true
}

// evictable reports whether a record may make room for a new address: one
// that is failing and not good. A good or untried one stays, so a flood of
// invented addresses cannot push out what the seeder hands out.
func (r *record) evictable() bool { return !r.Good && r.FailuresInRow > 0 }

// worth orders records from the worst, the first to go when the table is
// over its cap: those that never answered (most failures first), then
// those that answered but are not good, then untried ones, then good ones
// (oldest success first within each).
func worth(a, b *record) int {
	class := func(r *record) int {
		switch {
		case r.Good:
			return 3
		case r.Tries == 0:
			return 2
		case r.Successes > 0:
			return 1
		}
		return 0
	}
	if c := class(a) - class(b); c != 0 {
		return c
	}
	if c := b.FailuresInRow - a.FailuresInRow; c != 0 {
		return c
	}
	return a.LastSuccess.Compare(b.LastSuccess)
}

// makeRoom forgets the worst evictable record, reporting false when none
// may go. Candidates come from a scan kept until used up, redone only
// after a visit has failed since. Called with t.mu held.
func (t *table) makeRoom() bool {
	for {
		if len(t.evict) == 0 {
			if !t.rescan {
				return false
			}
			t.rescan = false
			var cands []*record
			for a, r := range t.nodes {
				if r.evictable() && !t.inflight[a] {
					cands = append(cands, r)
				}
			}
			slices.SortFunc(cands, func(a, b *record) int { return worth(b, a) }) // worst last
			cands = cands[max(0, len(cands)-evictBatch):]
			t.evict = t.evict[:0]
			for _, r := range cands {
				t.evict = append(t.evict, r.Addr)
			}
			if len(t.evict) == 0 {
				return false
			}
		}
		a := t.evict[len(t.evict)-1]
		t.evict = t.evict[:len(t.evict)-1]
		if r, ok := t.nodes[a]; ok && r.evictable() && !t.inflight[a] {
			t.forget(a)
			return true
		}
	}
}
