package main

import (
	"strings"
	"testing"
	"time"
)

// TestDroppedMetricCountsEverySource: an -addr address refused by a full
// table is counted in seeder_addresses_dropped, and the help says so
// rather than naming gossip alone.
func TestDroppedMetricCountsEverySource(t *testing.T) {
	t.Parallel()
	tb := testTable(1)
	now := time.Unix(1795980000, 0)
	tb.add(learned{Addr: "203.0.113.7:8333", Network: "ipv4"}, "seed", now)
	if tb.add(learned{Addr: "203.0.113.8:8333", Network: "ipv4"}, "addr", now) {
		t.Fatal("a full table admitted an address")
	}
	m := newMetrics()
	_, c := tb.snapshot(now)
	m.setCounts(c)
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "seeder_addresses_dropped" {
			continue
		}
		if v := mf.GetMetric()[0].GetGauge().GetValue(); v != 1 {
			t.Errorf("value %v, want 1", v)
		}
		if h := mf.GetHelp(); strings.HasPrefix(h, "Gossiped") || !strings.Contains(h, "-addr") {
			t.Errorf("help %q: the count covers -addr and seed addresses too", h)
		}
		return
	}
	t.Error("no seeder_addresses_dropped")
}
