package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"

	"github.com/bitcoin-handshake/handshake"
)

// watchProber wraps a prober to tell a test of each visit.
type watchProber struct {
	prober
	after func(v visit)
}

func (w *watchProber) probe(ctx context.Context, ts []target, emit func(visit, bool)) {
	w.prober.probe(ctx, ts, func(v visit, visited bool) {
		emit(v, visited)
		if visited {
			w.after(v)
		}
	})
}

// testSeeder is a seeder in process over a network on loopback, with a
// database in dir and short intervals.
func testSeeder(tb testing.TB, params *chaincfg.Params, maxNodes int, retest time.Duration, after func(visit)) *seeder {
	tb.Helper()
	ctx := context.Background()
	st, err := openStore(ctx, filepath.Join(tb.TempDir(), "seeder.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	port, err := parsePort(params.DefaultPort)
	if err != nil {
		tb.Fatal(err)
	}
	s := &seeder{
		table: newTable(maxNodes, goodPolicy{defaultPort: port, services: requiredServices, minVersion: minGoodVersion, allowPrivate: true},
			schedule{retest: retest}),
		store:       st,
		resp:        &responder{zone: testZone(tb)},
		metrics:     newMetrics(),
		log:         slog.New(slog.DiscardHandler),
		prober:      &watchProber{prober: newCrawlProber(handshake.Options{ChainParams: params}, 5*time.Second, true, nil, nil), after: after},
		concurrency: 64,
		tick:        10 * time.Millisecond,
		publish:     50 * time.Millisecond,
		commit:      100 * time.Millisecond,
		dumpEvery:   time.Hour,
	}
	if err := s.start(ctx); err != nil {
		tb.Fatal(err)
	}
	return s
}

// runSeeder runs s until the returned stop is called; stop waits for it.
func runSeeder(s *seeder) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.run(ctx) })
	return func() { cancel(); wg.Wait() }
}

// handshakeSeedsNone asks no DNS seed: an empty, non-nil list.
func handshakeSeedsNone(params *chaincfg.Params) handshake.SeedOptions {
	return handshake.SeedOptions{ChainParams: params, Seeds: []chaincfg.DNSSeed{}}
}
