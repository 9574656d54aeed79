package main

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"time"
)

// Defaults of response rate limiting, as BIND's and NSD's: a seed
// answering UDP from anyone is a reflection vector, and a spoofed flood
// names its victim as the source.
const (
	// DefaultRRLRate is how many UDP answers a second one client prefix
	// (an IPv4 /24, an IPv6 /56) gets, with a burst of as many. A
	// resolver asks a seed once per TTL per name: far fewer.
	DefaultRRLRate = 50
	// DefaultRRLSlip is how often a limited query is still answered,
	// truncated (TC, no records): every second one. A real client behind
	// a spoofed flood then retries over TCP, which cannot be spoofed;
	// the victim of the flood gets answers no larger than its queries.
	DefaultRRLSlip = 2
	// rrlShards and rrlShardCap bound the prefixes followed at once
	// (256 x 4096); past that, prefixes whose bucket has refilled are
	// forgotten, and when none has, a new prefix is limited at once: a
	// flood from more prefixes than that cannot grow the table.
	rrlShards   = 256
	rrlShardCap = 4096
	// rrlSweepPause is how long a full shard that a sweep could not
	// thin is left alone: new prefixes are limited at once meanwhile, so
	// that a flood of them costs a map lookup each, not a sweep.
	rrlSweepPause = 50 * time.Millisecond
)

// rrl is a token bucket per client prefix.
type rrl struct {
	rate float64 // answers per second; also the burst
	slip int     // every slip-th limited query is slipped; 0: none
	// seed keys the choice of shard, so that no one outside the process
	// can pick prefixes that all land in one shard.
	seed   maphash.Seed
	shards [rrlShards]rrlShard
}

type rrlShard struct {
	mu sync.Mutex
	m  map[uint64]bucket
	// full is when a sweep last failed to make room (unix nanoseconds).
	full int64
}

type bucket struct {
	tokens  float64
	last    int64 // unix nanoseconds of the last refill
	limited uint32
}

func newRRL(rate, slip int) *rrl {
	if rate <= 0 {
		return nil
	}
	l := &rrl{rate: float64(rate), slip: slip, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].m = make(map[uint64]bucket, 64)
	}
	return l
}

// prefixKey is the client's prefix: /24 for IPv4, /56 for IPv6, with a
// bit that keeps the families apart.
func prefixKey(a netip.Addr) uint64 {
	a = a.Unmap()
	b := a.As16()
	if a.Is4() {
		return 1<<63 | uint64(b[12])<<16 | uint64(b[13])<<8 | uint64(b[14])
	}
	var k uint64
	for _, c := range b[:7] {
		k = k<<8 | uint64(c)
	}
	return k
}

// Verdicts of check.
const (
	rrlPass = iota
	rrlSlip
	rrlDrop
)

// check takes a token from the client's bucket: pass when there is one,
// else slip or drop.
func (l *rrl) check(from netip.Addr, now time.Time) int {
	if l == nil {
		return rrlPass
	}
	k := prefixKey(from)
	sh := &l.shards[maphash.Comparable(l.seed, k)%rrlShards]
	t := now.UnixNano()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b, ok := sh.m[k]
	if !ok {
		if len(sh.m) >= rrlShardCap && (t-sh.full < int64(rrlSweepPause) || !sh.sweep(t, l.rate)) {
			return rrlDrop
		}
		b = bucket{tokens: l.rate, last: t}
	}
	b.tokens = min(l.rate, b.tokens+float64(t-b.last)/1e9*l.rate)
	b.last = t
	verdict := rrlPass
	if b.tokens >= 1 {
		b.tokens--
	} else {
		b.limited++
		verdict = rrlDrop
		if l.slip > 0 && b.limited%uint32(l.slip) == 0 {
			verdict = rrlSlip
		}
	}
	sh.m[k] = b
	return verdict
}

// sweep forgets the buckets that have refilled (as good as new); it
// reports whether it made room, and when it did not, notes the time so
// that the shard is not swept again for rrlSweepPause.
func (sh *rrlShard) sweep(t int64, rate float64) bool {
	for k, b := range sh.m {
		if b.tokens+float64(t-b.last)/1e9*rate >= rate {
			delete(sh.m, k)
		}
	}
	if len(sh.m) >= rrlShardCap {
		sh.full = t
		return false
	}
	return true
}
