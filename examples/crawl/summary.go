package main

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
)

// summary tallies the nodes of a crawl as they are reached.
type summary struct {
	reached, partial, failed int
	addrsGiven               int
	visitTime                time.Duration // every visit's Elapsed, summed
	byNetwork                map[string]int
	versions                 map[string]int
	agents                   map[string]int
	services                 map[string]int
	transports               map[string]int
	skipped                  map[string]int // reason: count
}

func newSummary() *summary {
	return &summary{
		byNetwork: map[string]int{}, versions: map[string]int{}, agents: map[string]int{},
		services: map[string]int{}, transports: map[string]int{}, skipped: map[string]int{},
	}
}

// serviceNames are the service bits by the names Bitcoin Core shows.
var serviceNames = []struct {
	flag wire.ServiceFlag
	name string
}{
	{wire.SFNodeNetwork, "NETWORK"}, {wire.SFNodeBloom, "BLOOM"}, {wire.SFNodeWitness, "WITNESS"},
	{wire.SFNodeCF, "COMPACT_FILTERS"}, {wire.SFNodeNetworkLimited, "NETWORK_LIMITED"}, {wire.SFNodeP2PV2, "P2P_V2"},
}

func (s *summary) add(n crawl.Result) {
	s.addrsGiven += len(n.Addrs)
	s.visitTime += n.Elapsed
	switch {
	case n.Skipped != "":
		s.skipped[n.Skipped]++
		return
	case errors.Is(n.Err, crawl.ErrNotVisited):
		return
	}
	switch n.Status {
	case handshake.StatusOK:
		s.reached++
	case handshake.StatusPartiallyOK:
		s.partial++
		return
	default:
		s.failed++
		return
	}
	r := n.Handshake
	s.byNetwork[n.Network.String()]++
	s.versions[fmt.Sprint(r.Peer.ProtocolVersion)]++
	s.agents[r.Peer.UserAgent]++
	s.transports[r.Transport.String()]++
	for _, sn := range serviceNames {
		if r.Peer.Services&sn.flag != 0 {
			s.services[sn.name]++
		}
	}
}

// top formats the n largest counts of m, largest first, ties by name.
func top(m map[string]int, n int) string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b))
	})
	if len(keys) > n {
		keys = keys[:n]
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func (s *summary) log(lg *cli.Logger) {
	lg.Log("INFO", "Reachable nodes by network: %s", top(s.byNetwork, 10))
	lg.Log("INFO", "Protocol versions: %s", top(s.versions, 10))
	lg.Log("INFO", "Top user agents: %s", top(s.agents, 10))
	lg.Log("INFO", "Service flags: %s", top(s.services, 10))
	lg.Log("INFO", "Transports: %s", top(s.transports, 2))
}

// ideal is the least wall time the visits could have taken at concurrency:
// their time summed over the concurrency, as the crawl benchmark computes
// it. A crawl close to it kept every slot busy.
func (s *summary) ideal(concurrency int) time.Duration {
	return s.visitTime / time.Duration(concurrency)
}

// logIdeal reports how close a crawl that took wall came to its ideal.
func (s *summary) logIdeal(lg *cli.Logger, concurrency int, wall time.Duration) {
	ideal := s.ideal(concurrency)
	ratio := 0.0
	if ideal > 0 {
		ratio = wall.Seconds() / ideal.Seconds()
	}
	lg.Log("INFO", "Visit time %v in all; ideal at concurrency %d: %v; took %.2fx the ideal",
		s.visitTime.Round(time.Microsecond), concurrency, ideal.Round(time.Microsecond), ratio)
}
