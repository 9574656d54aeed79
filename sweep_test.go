package handshake_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// startNetwork starts a simulated network and stops it when the test ends.
func startNetwork(t testing.TB, cfg handshaketest.NetworkConfig) *handshaketest.Network {
	t.Helper()
	n, err := handshaketest.NewNetwork(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// collect gathers a sweep's Results, keyed by address, failing on any
// address reported twice.
type collect struct {
	t       testing.TB
	mu      sync.Mutex
	results map[string]handshake.Result
}

func newCollect(t testing.TB) *collect {
	return &collect{t: t, results: map[string]handshake.Result{}}
}

func (c *collect) add(r handshake.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.results[r.Addr]; dup {
		c.t.Errorf("%s reported twice", r.Addr)
	}
	c.results[r.Addr] = r
}

// expected is the Status each handshaketest behaviour leads to.
var expected = map[handshaketest.Behavior]handshake.Status{
	handshaketest.Core: handshake.StatusOK, handshaketest.Btcd: handshake.StatusOK,
	handshaketest.Bcoin: handshake.StatusOK, handshaketest.Old: handshake.StatusOK,
	handshaketest.Silent: handshake.StatusFailed, handshaketest.CloseAfterVersion: handshake.StatusPartiallyOK,
	handshaketest.WrongMagic: handshake.StatusFailed, handshaketest.TooOld: handshake.StatusPartiallyOK,
	handshaketest.Garbage: handshake.StatusFailed, handshaketest.BadChecksum: handshake.StatusFailed,
}

// TestSweepSimulatedNetwork sweeps a few hundred fake nodes named by two
// overlapping DNS seeds: every node yields exactly one Result, with the
// Status its behaviour calls for.
func TestSweepSimulatedNetwork(t *testing.T) {
	t.Parallel()
	cfgs := handshaketest.Mix(300)
	for i := range cfgs {
		// A v2 key exchange costs tens of milliseconds of CPU under
		// -race: keep a few dozen, enough to see both v2 and fallback.
		cfgs[i].V2 = cfgs[i].V2 && i%4 == 0
		cfgs[i].V1Only = !cfgs[i].V2
	}
	n := startNetwork(t, handshaketest.NetworkConfig{Peers: cfgs, Seeds: []string{"one.seed.test.", "two.seed.test."}})
	got := newCollect(t)
	sum, err := handshake.Sweep(testContext(t, 60*time.Second), handshake.SweepOptions{
		Handshake:    handshake.Options{ChainParams: n.Params(&chaincfg.MainNetParams), Timeout: 5 * time.Second},
		Resolver:     n.Seed.Resolver(),
		Concurrency:  100,
		AllowPrivate: true,
	}, got.add)
	if err != nil {
		t.Fatal(err)
	}
	want := map[handshake.Status]int{}
	for i, addr := range n.Addrs() {
		status := expected[cfgs[i].Behavior]
		want[status]++
		r, ok := got.results[addr]
		if !ok {
			t.Errorf("%s (%v): no Result", addr, cfgs[i].Behavior)
			continue
		}
		if r.Status != status {
			t.Errorf("%s (%v): Status %v, want %v (%v)", addr, cfgs[i].Behavior, r.Status, status, r.Err)
		}
	}
	v2, fellBack := 0, 0
	for _, r := range got.results {
		if r.Transport == handshake.TransportV2 {
			v2++
		}
		if r.Fallback != "" {
			fellBack++
		}
	}
	if v2 == 0 || fellBack == 0 {
		t.Errorf("%d results over v2, %d fell back to v1: the mix has both kinds of node", v2, fellBack)
	}
	if len(got.results) != 300 || sum.Addresses != 300 {
		t.Errorf("%d results, %d addresses; want 300 (duplicates across seeds removed)", len(got.results), sum.Addresses)
	}
	if sum.OK != want[handshake.StatusOK] || sum.PartiallyOK != want[handshake.StatusPartiallyOK] || sum.Failed != want[handshake.StatusFailed] {
		t.Errorf("summary %d/%d/%d, want %v", sum.OK, sum.PartiallyOK, sum.Failed, want)
	}
	total := 0
	for _, s := range sum.Seeds {
		if s.Err != nil || s.Addrs == 0 {
			t.Errorf("seed %+v", s)
		}
		total += s.Addrs
	}
	if total <= 300 {
		t.Errorf("seeds returned %d addresses in all; the overlap should exceed 300", total)
	}
}

func TestSweepSkipsPrivateUnlessAllowed(t *testing.T) {
	t.Parallel()
	n := startNetwork(t, handshaketest.NetworkConfig{Peers: handshaketest.Mix(5), FirstIP: netip.MustParseAddr("127.2.0.1")})
	opts := handshake.SweepOptions{
		Handshake: handshake.Options{ChainParams: n.Params(&chaincfg.MainNetParams), Timeout: time.Second},
		Resolver:  n.Seed.Resolver(),
	}
	got := newCollect(t)
	sum, err := handshake.Sweep(testContext(t, 10*time.Second), opts, got.add)
	if err == nil || len(got.results) != 0 || len(sum.Skipped) != 5 || n.Peers[0].Accepted() != 0 {
		t.Fatalf("err %v, %d results, skipped %v, accepted %d: want loopback addresses skipped, none dialled",
			err, len(got.results), sum.Skipped, n.Peers[0].Accepted())
	}
	// Explicit addresses are the caller's choice and always dialled, also
	// when a seed names them too.
	opts.Addrs = n.Addrs()[:2]
	opts.Seeds = opts.Handshake.ChainParams.DNSSeeds
	sum, err = handshake.Sweep(testContext(t, 10*time.Second), opts, got.add)
	if err != nil || sum.Addresses != 2 || len(sum.Skipped) != 3 {
		t.Errorf("with Addrs: err %v, %+v", err, sum)
	}
}

// TestSweepCancelAccountsForEveryAddress cancels a sweep of silent nodes
// part-way: every address still yields one Result, carrying the cancellation.
func TestSweepCancelAccountsForEveryAddress(t *testing.T) {
	t.Parallel()
	cfgs := make([]handshaketest.Config, 40)
	for i := range cfgs {
		cfgs[i].Behavior = handshaketest.Silent
	}
	n := startNetwork(t, handshaketest.NetworkConfig{Peers: cfgs, FirstIP: netip.MustParseAddr("127.3.0.1")})
	ctx, cancel := context.WithCancel(context.Background())
	got := newCollect(t)
	// Cancelled once the fourth connection, the last the concurrency
	// allows, is made: four handshakes are in flight, 36 not started.
	d := &countingDialer{at: 4, then: cancel}
	sum, err := handshake.Sweep(ctx, handshake.SweepOptions{
		Handshake:   handshake.Options{ChainParams: n.Params(&chaincfg.MainNetParams), Timeout: -1, Dialer: d},
		Addrs:       n.Addrs(),
		Concurrency: 4,
	}, got.add)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Sweep err = %v, want context.Canceled", err)
	}
	if len(got.results) != 40 || sum.Failed != 40 {
		t.Fatalf("%d results, %d failed; want all 40", len(got.results), sum.Failed)
	}
	if n := d.n.Load(); n != 4 {
		t.Errorf("%d connections made; want the 4 in flight when cancelled, no more", n)
	}
	for addr, r := range got.results {
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", addr, r.Err)
		}
	}
}

// countingDialer dials TCP and calls then once the at-th connection is
// made.
type countingDialer struct {
	at   int64
	then func()
	n    atomic.Int64
}

func (d *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err == nil && d.n.Add(1) == d.at {
		d.then()
	}
	return c, err
}

// TestSweepSeedFailures: one seed failing leaves the others to proceed, and
// a sweep whose every seed fails is an error.
func TestSweepSeedFailures(t *testing.T) {
	t.Parallel()
	n := startNetwork(t, handshaketest.NetworkConfig{Peers: handshaketest.Mix(4), FirstIP: netip.MustParseAddr("127.4.0.1")})
	n.Seed.Fail("broken.seed.test.", dnsmessage.RCodeServerFailure)
	params := n.Params(&chaincfg.MainNetParams)
	params.DNSSeeds = append(params.DNSSeeds, chaincfg.DNSSeed{Host: "broken.seed.test."}, chaincfg.DNSSeed{Host: "missing.seed.test."})
	opts := handshake.SweepOptions{
		Handshake:    handshake.Options{ChainParams: params, Timeout: time.Second},
		Resolver:     n.Seed.Resolver(),
		AllowPrivate: true,
	}
	sum, err := handshake.Sweep(testContext(t, 20*time.Second), opts, nil)
	if err != nil || sum.Addresses != 4 {
		t.Fatalf("err %v, %d addresses; want the good seed's 4", err, sum.Addresses)
	}
	failed := 0
	for _, s := range sum.Seeds {
		if s.Err != nil {
			failed++
		}
	}
	if failed != 2 {
		t.Errorf("seeds %+v: want the broken and missing ones to report errors", sum.Seeds)
	}

	opts.Seeds = []chaincfg.DNSSeed{{Host: "broken.seed.test."}}
	if _, err := handshake.Sweep(testContext(t, 20*time.Second), opts, nil); err == nil || !strings.Contains(err.Error(), "no address") {
		t.Errorf("only a broken seed: err = %v, want no address", err)
	}
}

func TestSweepServiceFilter(t *testing.T) {
	t.Parallel()
	n := startNetwork(t, handshaketest.NetworkConfig{Peers: handshaketest.Mix(1), FirstIP: netip.MustParseAddr("127.5.0.1")})
	n.Seed.Set("x9.filter.test.", n.Seed.Records("seed.handshake.test."))
	sum, err := handshake.Sweep(testContext(t, 10*time.Second), handshake.SweepOptions{
		Handshake: handshake.Options{ChainParams: n.Params(&chaincfg.MainNetParams), Timeout: time.Second},
		Seeds: []chaincfg.DNSSeed{
			{Host: "filter.test.", HasFiltering: true},
			{Host: "seed.handshake.test."}, // cannot filter: asked plainly
		},
		RequiredServices: 9,
		Resolver:         n.Seed.Resolver(),
		AllowPrivate:     true,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Seeds[0].Query != "x9.filter.test." || sum.Seeds[1].Query != "seed.handshake.test." {
		t.Errorf("queries %+v", sum.Seeds)
	}
	q := n.Seed.Queries()
	if !slices.Contains(q, "x9.filter.test.") || slices.Contains(q, "filter.test.") {
		t.Errorf("seed was asked %q", q)
	}
}
