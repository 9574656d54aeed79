package main

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

func testTable(max int) *table {
	return newTable(max, goodPolicy{defaultPort: 8333, services: 1, minVersion: minGoodVersion}, schedule{retest: time.Minute})
}

func okVisit(addr string, at time.Time, learned ...learned) visit {
	return visit{Addr: addr, Time: at, Status: "OK", Services: 0xc09, ProtocolVersion: 70016, StartHeight: 870000,
		UserAgent: "/Satoshi:28.1.0/", Transport: "v2", Negotiation: []string{"wtxidrelay"}, Learned: learned}
}

func TestTableLifecycle(t *testing.T) {
	t.Parallel()
	tb := testTable(10)
	now := time.Unix(1795980000, 0)
	if !tb.add(learned{Addr: "203.0.113.7:8333", Network: "ipv4"}, "seed", now) || tb.add(learned{Addr: "203.0.113.7:8333"}, "gossip", now) {
		t.Fatal("add: first should admit, second refuse")
	}
	due := tb.due(now, 5)
	if len(due) != 1 || len(tb.due(now, 5)) != 0 {
		t.Fatalf("due %v; in flight must not be handed out twice", due)
	}
	n := tb.apply(okVisit(due[0].Addr, now, learned{Addr: "198.51.100.1:8333", Network: "ipv4"}, learned{Addr: "203.0.113.7:8333"}), now)
	if n != 1 {
		t.Errorf("admitted %d, want 1 (the other is known)", n)
	}
	snap, c := tb.snapshot(now)
	if len(snap.v4) != 1 || c.good[[2]string{"ipv4", "v2"}] != 1 || c.known[[2]string{"ipv4", ""}] != 1 {
		t.Errorf("snapshot %d good; counts %+v", len(snap.v4), c)
	}
	if d := tb.due(now.Add(30*time.Second), 5); len(d) != 1 || d[0].Addr != "198.51.100.1:8333" {
		t.Errorf("due after the visit: %v (the good node is not due for a minute)", d)
	}
	changed, removed, _ := tb.changes()
	if len(changed) != 2 || len(removed) != 0 {
		t.Errorf("changes: %d, %d", len(changed), len(removed))
	}
	if c, _, _ := tb.changes(); len(c) != 0 {
		t.Errorf("changes not cleared: %d", len(c))
	}
}

// TestTableForgetsInventions: a gossiped address that never answers is
// forgotten after forgetAfter failures, and the store is told.
func TestTableForgetsInventions(t *testing.T) {
	t.Parallel()
	tb := testTable(10)
	now := time.Unix(1795980000, 0)
	tb.add(learned{Addr: "198.51.100.1:8333", Network: "ipv4"}, "gossip", now)
	tb.add(learned{Addr: "198.51.100.2:8333", Network: "ipv4"}, "addr", now)
	for i := range forgetAfter {
		for _, a := range []string{"198.51.100.1:8333", "198.51.100.2:8333"} {
			tb.apply(visit{Addr: a, Time: now, Status: "FAILED", Err: "refused"}, now)
		}
		if got, want := tb.len(), 2; i < forgetAfter-1 && got != want {
			t.Fatalf("after %d failures: %d known", i+1, got)
		}
	}
	if tb.len() != 1 {
		t.Errorf("%d known, want 1: the operator's -addr is kept", tb.len())
	}
	_, removed, _ := tb.changes()
	if len(removed) != 1 || removed[0] != "198.51.100.1:8333" {
		t.Errorf("removed %v", removed)
	}
}

// TestTableCap: gossip beyond the cap is dropped and counted.
func TestTableCap(t *testing.T) {
	t.Parallel()
	tb := testTable(100)
	now := time.Unix(1795980000, 0)
	var flood []learned
	for i := range 1000 {
		flood = append(flood, learned{Addr: fmt.Sprintf("198.51.%d.%d:8333", i/250, i%250), Network: "ipv4"})
	}
	tb.add(learned{Addr: "203.0.113.7:8333", Network: "ipv4"}, "seed", now)
	tb.due(now, 1)
	if n := tb.apply(okVisit("203.0.113.7:8333", now, flood...), now); n != 99 {
		t.Errorf("admitted %d, want 99", n)
	}
	if _, c := tb.snapshot(now); tb.len() != 100 || c.dropped != 901 {
		t.Errorf("%d known, %d dropped", tb.len(), c.dropped)
	}
}

// TestSnapshotFamiliesAndStaleness: IPv6 nodes go to AAAA answers, and a
// good node not seen for over a day is not handed out.
func TestSnapshotFamiliesAndStaleness(t *testing.T) {
	t.Parallel()
	tb := testTable(10)
	now := time.Unix(1795980000, 0)
	for _, a := range []string{"[2001:db8::1]:8333", "203.0.113.7:8333", "198.51.100.1:8333"} {
		tb.add(learned{Addr: a, Network: "ipv4"}, "seed", now)
	}
	tb.due(now, 10)
	tb.apply(okVisit("[2001:db8::1]:8333", now), now)
	tb.apply(okVisit("203.0.113.7:8333", now), now)
	tb.apply(okVisit("198.51.100.1:8333", now.Add(-25*time.Hour)), now)
	snap, _ := tb.snapshot(now)
	if len(snap.v6) != 1 || snap.v6[0].ip.String() != "2001:db8::1" || len(snap.v4) != 1 || snap.v4[0].ip.String() != "203.0.113.7" {
		t.Errorf("snapshot v4 %v, v6 %v", snap.v4, snap.v6)
	}
}

// TestSnapshotV2Verified: x800 (NODE_P2P_V2) gets only nodes whose last
// handshake with the seeder was v2, whatever the others announce.
func TestSnapshotV2Verified(t *testing.T) {
	t.Parallel()
	tb := testTable(10)
	now := time.Unix(1795980000, 0)
	for _, a := range []string{"203.0.113.7:8333", "203.0.113.8:8333"} {
		tb.add(learned{Addr: a, Network: "ipv4"}, "seed", now)
	}
	tb.due(now, 10)
	tb.apply(okVisit("203.0.113.7:8333", now), now) // v2, services 0xc09
	v1 := okVisit("203.0.113.8:8333", now)
	v1.Transport = "v1" // announces 0xc09 too
	tb.apply(v1, now)
	snap, _ := tb.snapshot(now)
	if got := snap.sample(false, nodeP2PV2|1, 10); len(got) != 1 || got[0].String() != "203.0.113.7" {
		t.Errorf("x801: %v, want the v2 node alone", got)
	}
	if got := snap.sample(false, 1, 10); len(got) != 2 {
		t.Errorf("x1: %v, want both", got)
	}
}

// TestDueOrder: due hands out the most overdue first, n at most.
func TestDueOrder(t *testing.T) {
	t.Parallel()
	tb := testTable(1000)
	now := time.Unix(1795980000, 0)
	for i := range 500 {
		// Added in a scrambled order, due i seconds ago.
		j := (i * 7) % 500
		tb.add(learned{Addr: fmt.Sprintf("198.51.%d.%d:8333", j/250, j%250), Network: "ipv4"}, "gossip", now.Add(-time.Duration(j)*time.Second))
	}
	got := tb.due(now, 10)
	if len(got) != 10 {
		t.Fatalf("%d due, want 10", len(got))
	}
	for i, tg := range got {
		j := 499 - i
		if want := fmt.Sprintf("198.51.%d.%d:8333", j/250, j%250); tg.Addr != want {
			t.Errorf("due[%d] = %s, want %s", i, tg.Addr, want)
		}
	}
}

// TestTableLyingHeights: when most recently reachable nodes claim a height
// near the lowest int32, the floor derived from their median must not wrap
// round to a huge height that makes every node not good.
func TestTableLyingHeights(t *testing.T) {
	t.Parallel()
	tb := testTable(10)
	now := time.Unix(1795980000, 0)
	honest := "198.51.100.1:8333"
	for i, h := range []int32{math.MinInt32, math.MinInt32 + 5, 870000} {
		a := fmt.Sprintf("198.51.100.%d:8333", 3-i)
		tb.add(learned{Addr: a, Network: "ipv4"}, "seed", now)
		v := okVisit(a, now)
		v.StartHeight = h
		tb.apply(v, now)
	}
	tb.snapshot(now) // sets the height floor from the median
	if tb.policy.minHeight != 0 {
		t.Errorf("height floor %d from a median near the lowest int32; want none", tb.policy.minHeight)
	}
	later := now.Add(2 * time.Minute)
	tb.apply(okVisit(honest, later), later)
	if snap, _ := tb.snapshot(later); len(snap.v4) == 0 || !slices.ContainsFunc(snap.v4, func(e entry) bool { return e.ip.String() == "198.51.100.1" }) {
		t.Errorf("the honest node is not served: %+v", snap.v4)
	}
}

// TestTableForgetsDead: a node whose last success is over forgetStale old,
// and an operator's address that never answered after forgetNever visits,
// are forgotten: neither may hold a place in the table for ever.
func TestTableForgetsDead(t *testing.T) {
	t.Parallel()
	tb := testTable(10)
	now := time.Unix(1795980000, 0)
	gone, seed := "203.0.113.7:8333", "198.51.100.9:8333"
	tb.add(learned{Addr: gone, Network: "ipv4"}, "gossip", now)
	tb.add(learned{Addr: seed, Network: "ipv4"}, "seed", now)
	tb.apply(okVisit(gone, now), now)
	for i := range 40 {
		at := now.Add(time.Duration(i+1) * 24 * time.Hour)
		if _, ok := tb.nodes[gone]; ok {
			tb.apply(visit{Addr: gone, Time: at, Status: "FAILED", Err: "refused"}, at)
		}
		if _, ok := tb.nodes[seed]; ok {
			tb.apply(visit{Addr: seed, Time: at, Status: "FAILED", Err: "refused"}, at)
		}
		_, stillGone := tb.nodes[gone]
		if want := at.Sub(now) <= 30*24*time.Hour; stillGone != want {
			t.Fatalf("day %d: answered node known %v, want %v", i+1, stillGone, want)
		}
	}
	if tb.len() != 0 {
		t.Errorf("%d known, want 0: the seed never answered", tb.len())
	}
	_, removed, _ := tb.changes()
	slices.Sort(removed)
	if want := []string{seed, gone}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
}

// TestTableEvictsWorst: a full table makes room for a new address by
// forgetting its worst failing record, never a good or untried one.
func TestTableEvictsWorst(t *testing.T) {
	t.Parallel()
	tb := testTable(3)
	now := time.Unix(1795980000, 0)
	good, worst, bad := "203.0.113.7:8333", "198.51.100.1:8333", "198.51.100.2:8333"
	for _, a := range []string{good, worst, bad} {
		tb.add(learned{Addr: a, Network: "ipv4"}, "addr", now)
	}
	tb.apply(okVisit(good, now), now)
	tb.apply(visit{Addr: worst, Time: now, Status: "FAILED"}, now)
	tb.apply(visit{Addr: worst, Time: now, Status: "FAILED"}, now)
	tb.apply(visit{Addr: bad, Time: now, Status: "FAILED"}, now)
	tb.changes()
	for i, a := range []string{"192.0.2.1:8333", "192.0.2.2:8333", "192.0.2.3:8333"} {
		if got, want := tb.add(learned{Addr: a, Network: "ipv4"}, "gossip", now), i < 2; got != want {
			t.Errorf("add %s: %v, want %v", a, got, want)
		}
		if _, ok := tb.nodes[worst]; i == 0 && ok {
			t.Errorf("the first eviction spared %s, the worst", worst)
		}
	}
	if _, ok := tb.nodes[good]; !ok || tb.len() != 3 {
		t.Errorf("good node evicted or size %d", tb.len())
	}
	_, removed, _ := tb.changes()
	if want := []string{worst, bad}; !slices.Equal(removed, want) && !slices.Equal(removed, []string{bad, worst}) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	if _, c := tb.snapshot(now); c.dropped != 1 {
		t.Errorf("dropped %d, want 1", c.dropped)
	}
}

// TestDuePrefersProven: nodes that have answered before are re-tested
// before a flood of never-tried addresses, however long those have waited.
func TestDuePrefersProven(t *testing.T) {
	t.Parallel()
	tb := testTable(10_000)
	now := time.Unix(1795980000, 0)
	var proven []string
	for i := range 5 {
		a := fmt.Sprintf("203.0.113.%d:8333", i+1)
		proven = append(proven, a)
		tb.add(learned{Addr: a, Network: "ipv4"}, "seed", now)
		tb.apply(okVisit(a, now), now)
	}
	for i := range 2000 {
		tb.add(learned{Addr: fmt.Sprintf("198.18.%d.%d:8333", i/250, i%250), Network: "ipv4"}, "gossip", now)
	}
	later := now.Add(time.Hour) // the proven nodes are due again
	got := tb.due(later, 10)
	for _, a := range proven {
		if !slices.ContainsFunc(got, func(tg target) bool { return tg.Addr == a }) {
			t.Errorf("%s not among the first due %v", a, got)
		}
	}
}

// TestApplyCapsPerVisit: one visit admits at most maxAdmitPerVisit new
// addresses, so one hostile node cannot flood the queue; the rest are
// counted as dropped.
func TestApplyCapsPerVisit(t *testing.T) {
	t.Parallel()
	tb := testTable(10_000)
	now := time.Unix(1795980000, 0)
	var flood []learned
	for i := range 1000 {
		flood = append(flood, learned{Addr: fmt.Sprintf("198.18.%d.%d:8333", i/250, i%250), Network: "ipv4"})
	}
	tb.add(learned{Addr: "203.0.113.7:8333", Network: "ipv4"}, "seed", now)
	tb.due(now, 1)
	if n := tb.apply(okVisit("203.0.113.7:8333", now, flood...), now); n != maxAdmitPerVisit {
		t.Errorf("admitted %d, want %d", n, maxAdmitPerVisit)
	}
	if _, c := tb.snapshot(now); c.dropped != 1000-maxAdmitPerVisit {
		t.Errorf("dropped %d, want %d", c.dropped, 1000-maxAdmitPerVisit)
	}
}

// TestHeightFloorOnePerNetgroup: 50 addresses in one IPv6 /64 claiming a
// high height, and 20 in distinct netgroups that fail the port check,
// must not lift the floor above 10 honest nodes in distinct netgroups.
func TestHeightFloorOnePerNetgroup(t *testing.T) {
	t.Parallel()
	tb := testTable(1000)
	now := time.Unix(1795980000, 0)
	visitAll := func(addrs []string, h int32, at time.Time) {
		for _, a := range addrs {
			tb.add(learned{Addr: a, Network: "ipv4"}, "seed", at)
			v := okVisit(a, at)
			v.StartHeight = h
			tb.apply(v, at)
		}
	}
	var liars, badPort, honest []string
	for i := range 50 {
		liars = append(liars, fmt.Sprintf("[2001:db8:0:1::%x]:8333", i+1))
	}
	for i := range 20 {
		badPort = append(badPort, fmt.Sprintf("%d.1.2.3:18333", 60+i))
	}
	for i := range 10 {
		honest = append(honest, fmt.Sprintf("%d.1.2.3:8333", 20+i))
	}
	visitAll(liars, 900_000, now)
	visitAll(badPort, 900_000, now)
	visitAll(honest, 870_000, now)
	tb.snapshot(now) // sets the floor
	later := now.Add(2 * time.Minute)
	visitAll(honest, 870_000, later)
	snap, _ := tb.snapshot(later)
	if len(snap.v4) != len(honest) {
		t.Errorf("%d honest nodes served, want %d (floor %d)", len(snap.v4), len(honest), tb.policy.minHeight)
	}
}

// TestLoadRecomputesAndTrims: load judges records by the current policy,
// not the stored flag, and keeps at most max, dropping the worst and
// telling the store.
func TestLoadRecomputesAndTrims(t *testing.T) {
	t.Parallel()
	tb := testTable(2)
	now := time.Unix(1795980000, 0)
	good := func(addr string, last time.Time) record {
		r := record{Addr: addr, Network: "ipv4", Source: "seed", Services: 1, ProtocolVersion: 70016, LastStatus: "OK",
			FirstSeen: last, LastTry: last, LastSuccess: last, Tries: 1, Successes: 1, Good: true}
		return r
	}
	dead := func(addr string, fails int) record {
		return record{Addr: addr, Network: "ipv4", Source: "gossip", LastStatus: "FAILED", Tries: fails, FailuresInRow: fails}
	}
	recs := []record{
		good("203.0.113.1:8333", now),
		good("203.0.113.2:18333", now), // stored good; the port says otherwise
		dead("203.0.113.3:8333", 2),
		dead("203.0.113.4:8333", 1),
		good("203.0.113.5:8333", now.Add(-time.Hour)),
	}
	tb.load(recs)
	if tb.len() != 2 {
		t.Fatalf("%d known after load, want 2", tb.len())
	}
	for _, a := range []string{"203.0.113.1:8333", "203.0.113.5:8333"} {
		if r, ok := tb.nodes[a]; !ok || !r.Good {
			t.Errorf("%s: kept %v, good %v", a, ok, ok && r.Good)
		}
	}
	_, removed, _ := tb.changes()
	slices.Sort(removed)
	if want := []string{"203.0.113.2:18333", "203.0.113.3:8333", "203.0.113.4:8333"}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
}
