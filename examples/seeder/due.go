package main

import (
	"container/heap"
	"slices"
	"time"
)

// due returns up to n addresses whose visit is due, the first as
// dueBefore orders them, and marks them in flight until apply or release.
// It keeps the n first in a heap as it scans, so its cost grows with the
// table, not with the table times its logarithm.
func (t *table) due(now time.Time, n int) []target {
	return t.dueWithin(now, n, nil)
}

// dueWithin is due with at most room[network] addresses of each network
// room names: each of those networks keeps its own first ones in a heap of
// its own, and the first n of all the heaps are returned.
func (t *table) dueWithin(now time.Time, n int, room map[string]int) []target {
	if n <= 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	h := make(dueHeap, 0, min(n, len(t.nodes)))
	capped := map[string]*dueHeap{}
	for net := range room {
		capped[net] = &dueHeap{}
	}
	for a, r := range t.nodes {
		if r.NextTry.After(now) || t.inflight[a] {
			continue
		}
		into, keep := &h, n
		if c := capped[r.Network]; c != nil {
			into, keep = c, min(n, room[r.Network])
		}
		switch {
		case len(*into) < keep:
			heap.Push(into, r)
		case keep > 0 && dueBefore(r, (*into)[0]):
			(*into)[0] = r
			heap.Fix(into, 0)
		}
	}
	recs := []*record(h)
	for _, c := range capped {
		recs = append(recs, *c...)
	}
	slices.SortFunc(recs, func(a, b *record) int {
		switch {
		case dueBefore(a, b):
			return -1
		case dueBefore(b, a):
			return 1
		}
		return 0
	})
	recs = recs[:min(n, len(recs))]
	out := make([]target, 0, len(recs))
	for _, r := range recs {
		t.inflight[r.Addr] = true
		out = append(out, target{Addr: r.Addr, Network: r.Network, Services: r.Services})
	}
	return out
}

// dueBefore orders due records: nodes that have answered before come
// first, so that a flood of never-tried addresses, which are due at once,
// cannot delay the re-tests that keep DNS answers fresh; then the longest
// overdue first.
func dueBefore(a, b *record) bool {
	if pa, pb := a.Successes > 0, b.Successes > 0; pa != pb {
		return pa
	}
	return a.NextTry.Before(b.NextTry)
}

// dueHeap is a max-heap of records by dueBefore: its top is the last
// of those kept.
type dueHeap []*record

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return dueBefore(h[j], h[i]) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(*record)) }
func (h *dueHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	*h = old[:len(old)-1]
	return r
}
