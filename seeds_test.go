package handshake_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

func startSeed(t *testing.T, records map[string][]netip.Addr) *handshaketest.Seed {
	t.Helper()
	s, err := handshaketest.NewSeed(records)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

// TestResolveSeeds: addresses come back once each across overlapping seeds,
// with the chain's port, private ones are left out and reported per seed, a
// filtering seed is asked for the service bits and a failing seed leaves the
// others to proceed. The answers are documentation addresses: nothing is
// dialled.
func TestResolveSeeds(t *testing.T) {
	t.Parallel()
	seed := startSeed(t, map[string][]netip.Addr{
		"one.test.":      addrs("203.0.113.1", "203.0.113.2", "10.0.0.1", "2001:db8::1"),
		"x409.two.test.": addrs("203.0.113.2", "203.0.113.3", "127.0.0.9", "10.0.0.1"),
	})
	seed.Fail("bad.test.", dnsmessage.RCodeServerFailure)
	opts := handshake.SeedOptions{
		ChainParams: &chaincfg.TestNet3Params,
		Seeds: []chaincfg.DNSSeed{
			{Host: "one.test.", HasFiltering: false},
			{Host: "two.test.", HasFiltering: true},
			{Host: "bad.test."},
		},
		RequiredServices: 0x409,
		Resolver:         seed.Resolver(),
	}
	got, seeds, err := handshake.ResolveSeeds(testContext(t, 10*time.Second), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"203.0.113.1:18333", "203.0.113.2:18333", "[2001:db8::1]:18333", "203.0.113.3:18333"}
	if !slices.Equal(got, want) {
		t.Errorf("addresses %q, want %q", got, want)
	}
	if len(seeds) != 3 {
		t.Fatalf("%d seed results, want 3", len(seeds))
	}
	if s := seeds[0]; s.Query != "one.test." || s.Addrs != 4 || !slices.Equal(s.Skipped, []string{"10.0.0.1:18333"}) || s.Err != nil {
		t.Errorf("plain seed: %+v", s)
	}
	if s := seeds[1]; s.Host != "two.test." || s.Query != "x409.two.test." || s.Addrs != 4 ||
		!slices.Equal(s.Skipped, []string{"127.0.0.9:18333", "10.0.0.1:18333"}) || s.Err != nil {
		t.Errorf("filtering seed: %+v", s)
	}
	if s := seeds[2]; s.Err == nil || s.Addrs != 0 {
		t.Errorf("failing seed: %+v", s)
	}
	if q := seed.Queries(); slices.Contains(q, "two.test.") {
		t.Errorf("the filtering seed was asked plainly: %q", q)
	}

	opts.AllowPrivate = true
	got, seeds, err = handshake.ResolveSeeds(testContext(t, 10*time.Second), opts)
	if err != nil || len(got) != 6 || len(seeds[0].Skipped)+len(seeds[1].Skipped) != 0 {
		t.Errorf("AllowPrivate: err %v, addresses %q, seeds %+v; want all 6, none skipped", err, got, seeds)
	}
}

// TestResolveSeedsDefaults: the zero value's ChainParams is mainnet's, for
// its seeds and its port; an empty Seeds resolves nothing.
func TestResolveSeedsDefaults(t *testing.T) {
	t.Parallel()
	host := chaincfg.MainNetParams.DNSSeeds[0].Host
	seed := startSeed(t, map[string][]netip.Addr{host: addrs("203.0.113.5")})
	got, seeds, err := handshake.ResolveSeeds(testContext(t, 10*time.Second), handshake.SeedOptions{Resolver: seed.Resolver()})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"203.0.113.5:8333"}) || len(seeds) != len(chaincfg.MainNetParams.DNSSeeds) {
		t.Errorf("addresses %q from %d seeds; want 203.0.113.5:8333 from mainnet's %d", got, len(seeds), len(chaincfg.MainNetParams.DNSSeeds))
	}
	got, seeds, err = handshake.ResolveSeeds(testContext(t, 10*time.Second), handshake.SeedOptions{Seeds: []chaincfg.DNSSeed{}})
	if err != nil || len(got) != 0 || len(seeds) != 0 {
		t.Errorf("no seeds: %q %+v %v", got, seeds, err)
	}
}

func TestResolveSeedsErrors(t *testing.T) {
	t.Parallel()
	noPort := chaincfg.RegressionNetParams
	noPort.DefaultPort = ""
	if _, _, err := handshake.ResolveSeeds(context.Background(), handshake.SeedOptions{ChainParams: &noPort}); !errors.Is(err, handshake.ErrInvalidOptions) {
		t.Errorf("no default port: err = %v, want ErrInvalidOptions", err)
	}
	seed := startSeed(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, seeds, err := handshake.ResolveSeeds(ctx, handshake.SeedOptions{Resolver: seed.Resolver(), Seeds: []chaincfg.DNSSeed{{Host: "a.test."}}})
	if !errors.Is(err, context.Canceled) || len(seeds) != 1 || seeds[0].Err == nil {
		t.Errorf("cancelled: err %v, seeds %+v; want context.Canceled and the seed's error", err, seeds)
	}
}
