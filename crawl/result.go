package crawl

import (
	"errors"
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
	// the visit or cut a failing visit short, or handshake.ErrProxyDown
	// when the network's proxy was down: such an address belongs in the
	// start targets of a resumed crawl. A malformed onion or I2P name
	// fails with handshake.ErrInvalidAddress, never dialled.
	// handshake.ErrorKind names the failure for counting.
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
	// NotVisited counts the Results whose Err wraps ErrNotVisited: the
	// context ended, or the network's proxy was down (see ProxiesDown).
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

	// Failures counts the failed visits (Failed) by handshake.ErrorKind
	// of their Err: "timeout", "refused", "onion-not-found", ...
	Failures map[string]int
	// ProxiesDown counts, per proxy ("host:port"), the addresses not
	// visited because that proxy was down: their Err wraps ErrNotVisited
	// and handshake.ErrProxyDown, they count in NotVisited, not Failed,
	// and belong in a resumed crawl. A dead proxy shows here once, not
	// as a dead node per address.
	ProxiesDown map[string]int
	// Networks breaks the counts down by the network of the address.
	Networks map[handshake.AddrNetwork]NetworkSummary
}

// NetworkSummary is the part of a Summary for one network.
type NetworkSummary struct {
	// Admitted = Visited + Skipped + NotVisited, as in Summary.
	Admitted, Visited, OK, PartiallyOK, Failed, Skipped, NotVisited int
	// V2 counts the reachable nodes (OK or PartiallyOK) handshaken over
	// BIP324 v2.
	V2 int
	// Failures counts the failed visits by handshake.ErrorKind.
	Failures map[string]int
}

// Reachable is the number of nodes handshaken: OK + PartiallyOK.
func (n NetworkSummary) Reachable() int { return n.OK + n.PartiallyOK }

// V2Share is V2 over Reachable, 0 when none is reachable.
func (n NetworkSummary) V2Share() float64 {
	if n.Reachable() == 0 {
		return 0
	}
	return float64(n.V2) / float64(n.Reachable())
}

func newSummary() Summary {
	return Summary{Dropped: map[string]int{}, Failures: map[string]int{}, ProxiesDown: map[string]int{},
		Networks: map[handshake.AddrNetwork]NetworkSummary{}}
}

// count adds r, a Result about to be emitted, to s.
func (s *Summary) count(r *Result) {
	n := s.Networks[r.Network]
	n.Admitted++
	var pe *handshake.ProxyError
	switch {
	case r.Skipped != "":
		s.Skipped++
		n.Skipped++
	case errors.Is(r.Err, ErrNotVisited):
		s.NotVisited++
		n.NotVisited++
		if errors.Is(r.Err, handshake.ErrProxyDown) && errors.As(r.Err, &pe) {
			s.ProxiesDown[pe.Proxy]++
		}
	default:
		s.Visited++
		n.Visited++
		switch r.Status {
		case handshake.StatusOK:
			s.OK++
			n.OK++
		case handshake.StatusPartiallyOK:
			s.PartiallyOK++
			n.PartiallyOK++
		default:
			s.Failed++
			n.Failed++
			kind := handshake.ErrorKind(r.Err)
			s.Failures[kind]++
			if n.Failures == nil {
				n.Failures = map[string]int{}
			}
			n.Failures[kind]++
		}
		if (r.Status == handshake.StatusOK || r.Status == handshake.StatusPartiallyOK) &&
			r.Handshake != nil && r.Handshake.Transport == handshake.TransportV2 {
			n.V2++
		}
	}
	s.Networks[r.Network] = n
}
