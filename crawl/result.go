package crawl

import (
	"time"

	"github.com/bitcoin-handshake/handshake"
)

// Result is the outcome of one admitted address.
type Result struct {
	Target
	// Time is when the visit started, or for an address not visited when
	// the crawl gave it up.
	Time time.Time
	// Elapsed is the whole visit: connect, handshake, addresses and ping.
	Elapsed time.Duration
	// Status is the handshake's; StatusFailed for an address not visited,
	// and meaningless for a skipped one.
	Status handshake.Status
	// Handshake is what the handshake learned; nil when the address was
	// skipped or not dialled.
	Handshake *handshake.Result
	// Ping is the round-trip time of a ping after the handshake; 0 when
	// not measured.
	Ping time.Duration
	// Addrs are the addresses the node gave, in order, at most
	// Options.MaxAddrs, duplicates and private ones included.
	Addrs []handshake.Addr
	// New is how many of Addrs this crawl admitted.
	New int
	// Skipped, when not empty, says why the address was not dialled, such
	// as "no dialer for i2p".
	Skipped string
	// Err is the first error of the visit: the handshake's (a
	// *handshake.Error), the addresses' or the ping's. It wraps
	// ErrNotVisited, and the context's error, when the crawl ended before
	// the visit or cut a failing visit short: such an address belongs in
	// the start targets of a resumed crawl.
	Err error
}

// Summary reports a crawl.
type Summary struct {
	// Admitted counts the addresses given a Result: Visited + Skipped +
	// NotVisited.
	Admitted int
	// Visited counts the addresses dialled (and not cut short by the
	// context's end); OK, PartiallyOK and Failed split them by Status, as
	// in handshake.SweepSummary.
	Visited, OK, PartiallyOK, Failed int
	// Skipped counts addresses of a network without a dialer.
	Skipped int
	// NotVisited counts the Results whose Err wraps ErrNotVisited.
	NotVisited int
	// Known is the number of distinct addresses known at the end: Seen,
	// start targets and gossip, at most Options.MaxKnown.
	Known int
	// Given counts the addresses in every node's answer.
	Given int
	// Dropped counts new gossiped addresses not admitted, by reason:
	// "private", "port 0", "depth", "max visits", "max known",
	// "refused by Admit".
	Dropped map[string]int
	Elapsed time.Duration
}
