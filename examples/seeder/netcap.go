package main

import (
	"sync"
	"time"

	"github.com/bitcoin-handshake/handshake"
)

// netCaps caps the seeder's visits in flight per network, across its
// batches: onion and I2P visits queue for their proxies' few slots, and
// those queued must not hold the visit slots IPv4 and IPv6 need. Each
// batch is a crawl of its own, whose NetworkConcurrency caps that batch
// alone; this caps them all. The zero value caps nothing. It is safe for
// concurrent use.
type netCaps struct {
	limit map[string]int // network (as the table names it) → visits in flight at most

	mu       sync.Mutex
	inflight map[string]int    // capped network → visits in flight
	of       map[string]string // address in flight → its capped network
}

// newNetCaps caps each network of limit (crawl.Options.NetworkConcurrency's
// shape, as cli.Net.Concurrency gives it).
func newNetCaps(limit map[handshake.AddrNetwork]int) *netCaps {
	c := &netCaps{limit: map[string]int{}, inflight: map[string]int{}, of: map[string]string{}}
	for n, k := range limit {
		c.limit[n.String()] = k
	}
	return c
}

// take returns up to n due addresses from t, within each network's cap,
// and counts them in flight until done.
func (c *netCaps) take(t *table, now time.Time, n int) []target {
	if c == nil || len(c.limit) == 0 {
		return t.due(now, n)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	room := make(map[string]int, len(c.limit))
	for net, k := range c.limit {
		room[net] = max(k-c.inflight[net], 0)
	}
	ts := t.dueWithin(now, n, room)
	for _, x := range ts {
		if _, ok := c.limit[x.Network]; ok {
			c.inflight[x.Network]++
			c.of[x.Addr] = x.Network
		}
	}
	return ts
}

// done counts addr, taken before, out of flight.
func (c *netCaps) done(addr string) {
	if c == nil || len(c.limit) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if net, ok := c.of[addr]; ok {
		delete(c.of, addr)
		c.inflight[net]--
	}
}
