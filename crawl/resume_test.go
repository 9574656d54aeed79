package crawl_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
)

// tripDialer cancels the crawl once trip connects are in progress at once
// (every slot stuck on a hanging address) or after total connects.
type tripDialer struct {
	cancel      context.CancelFunc
	trip, total int

	mu             sync.Mutex
	inFlight, seen int
}

func (d *tripDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.inFlight++
	d.seen++
	if d.inFlight >= d.trip || d.seen >= d.total {
		d.cancel()
	}
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.inFlight--
		d.mu.Unlock()
	}()
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

// TestCrawlCancelAndResume cancels a crawl of a simulated Internet while
// visits hang in their connects, checks that every admitted address got
// exactly one Result and that the cancellation cut the hanging connects
// short, then resumes from what the first crawl reported, and checks that
// the two crawls together reported every address exactly once with a
// final outcome.
func TestCrawlCancelAndResume(t *testing.T) {
	t.Parallel()
	sim := startSimNet(t, simSize{nodes: 60, hanging: 60, refusing: 10, seeded: 2, fanout: 12}, "127.66.0.1", "127.210.0.1")
	ctx, cancel := context.WithCancel(testContext(t, 40*time.Second))
	defer cancel()
	const concurrency = 16
	opts := crawl.Options{
		Concurrency: concurrency, AllowPrivate: true, NoPing: true,
		// Far past the test's time limit: only the cancellation can end
		// a hanging connect.
		Limits:  map[handshake.AddrNetwork]crawl.Limits{handshake.NetIPv4: {Connect: time.Minute}},
		Dialers: map[handshake.AddrNetwork]handshake.Dialer{handshake.NetIPv4: &tripDialer{cancel: cancel, trip: concurrency, total: 60}},
	}
	first, sum, err := collect(t, ctx, opts, targets(t, sim.seeds...))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first crawl: %v, want context.Canceled", err)
	}
	var seen []string
	var again []crawl.Target
	for a, r := range first {
		if errors.Is(r.Err, crawl.ErrNotVisited) {
			if !errors.Is(r.Err, context.Canceled) {
				t.Errorf("%s: %v, want context.Canceled too", a, r.Err)
			}
			again = append(again, r.Target)
			continue
		}
		seen = append(seen, a)
	}
	if len(first) != sum.Admitted || sum.NotVisited != len(again) || len(again) == 0 || len(seen) == 0 {
		t.Fatalf("first crawl: %d results, %d not visited, summary %+v", len(first), len(again), sum)
	}

	opts.Dialers = nil
	opts.Concurrency = 64
	opts.Limits = map[handshake.AddrNetwork]crawl.Limits{handshake.NetIPv4: {Connect: 300 * time.Millisecond}}
	opts.Seen = seen
	second, sum, err := collect(t, testContext(t, 40*time.Second), opts, again)
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]crawl.Result{}
	for a, r := range first {
		if !errors.Is(r.Err, crawl.ErrNotVisited) {
			all[a] = r
		}
	}
	for a, r := range second {
		if _, dup := all[a]; dup {
			t.Errorf("%s reported by both crawls", a)
		}
		if errors.Is(r.Err, crawl.ErrNotVisited) {
			t.Errorf("%s not visited by the resumed crawl", a)
		}
		all[a] = r
	}
	for a := range sim.nodes {
		if all[a].Status != handshake.StatusOK {
			t.Errorf("node %s: %v %v", a, all[a].Status, all[a].Err)
		}
	}
	for _, a := range append(sim.hanging, sim.refusing...) {
		if r, ok := all[a]; !ok || r.Status != handshake.StatusFailed {
			t.Errorf("dead %s: reported %v, %v %v", a, ok, r.Status, r.Err)
		}
	}
	if want := len(sim.nodes) + len(sim.hanging) + len(sim.refusing); len(all) != want {
		t.Errorf("%d addresses reported, want %d", len(all), want)
	}
	if sum.NotVisited != 0 {
		t.Errorf("resumed crawl: %+v", sum)
	}
}
