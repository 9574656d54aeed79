package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// TestNetCaps: the visits in flight of a capped network stay within its
// cap across the seeder's batches, the oldest due first, while the other
// networks' due addresses go out beside them; a visit done frees its slot.
func TestNetCaps(t *testing.T) {
	t.Parallel()
	tb := testTable(100)
	now := time.Unix(1795980000, 0)
	for i := range 10 {
		// Onion names first, so that uncapped they would fill a batch.
		tb.add(learned{Addr: handshaketest.OnionName(i) + ":8333", Network: "onion"}, "gossip", now.Add(time.Duration(i)*time.Second))
	}
	for i := range 10 {
		tb.add(learned{Addr: fmt.Sprintf("203.0.113.%d:8333", i+1), Network: "ipv4"}, "gossip", now.Add(time.Duration(10+i)*time.Second))
	}
	at := now.Add(time.Minute)
	c := newNetCaps(map[handshake.AddrNetwork]int{handshake.NetTorV3: 3})
	count := func(ts []target) map[string]int {
		n := map[string]int{}
		for _, x := range ts {
			n[x.Network]++
		}
		return n
	}
	first := c.take(tb, at, 5)
	if n := count(first); n["onion"] != 3 || n["ipv4"] != 2 {
		t.Fatalf("first batch of 5: %v, want 3 onion (the cap, oldest first) and 2 ipv4", n)
	}
	if first[0].Addr != handshaketest.OnionName(0)+":8333" {
		t.Errorf("first batch starts with %s, want the oldest onion name", first[0].Addr)
	}
	if n := count(c.take(tb, at, 100)); n["onion"] != 0 || n["ipv4"] != 8 {
		t.Fatalf("second batch: %v, want no onion (3 in flight) and the 8 other ipv4", n)
	}
	c.done(first[0].Addr)
	c.done(first[3].Addr) // an ipv4 one: frees no onion slot
	if n := count(c.take(tb, at, 100)); n["onion"] != 1 || len(n) != 1 {
		t.Fatalf("after one onion visit done: %v, want 1 onion", n)
	}
	// Uncapped, the same table hands out every due onion name at once.
	if n := count((*netCaps)(nil).take(tb, at, 100)); n["onion"] != 6 {
		t.Errorf("uncapped: %v, want the 6 onion names left", n)
	}
}
