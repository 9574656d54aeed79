package main

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bitcoin-handshake/handshake"
)

// seeder ties the parts together: it visits due nodes with its prober,
// keeps the table, commits it to the store, publishes snapshots to the DNS
// responder, and writes the dump. Its fields are set before run.
type seeder struct {
	table       *table
	store       *store
	resp        *responder
	metrics     *metrics
	log         *slog.Logger
	prober      prober
	concurrency int
	caps        *netCaps      // visits in flight per network; nil: none
	tick        time.Duration // how often due nodes are looked for
	publish     time.Duration // how often DNS gets a new snapshot
	commit      time.Duration // how often changes are committed
	dumpEvery   time.Duration
	dumpPath    string // "" for none

	lastGood int // for refresh's log, which runs on one goroutine at a time

	downMu     sync.Mutex
	downLogged map[string]time.Time // proxy: when it was last logged down
}

// proxyRetry is how long the addresses of a proxy found down wait before
// they are offered again: handshake.DefaultProxyRetry, the time Tor and
// I2P dialers leave a proxy alone.
const proxyRetry = handshake.DefaultProxyRetry

// proxyDown notes a visit not made because its proxy was down: it is not
// counted against the node, which is offered again after proxyRetry, and
// the proxy is logged at most once every 10 minutes.
func (s *seeder) proxyDown(v visit) {
	now := time.Now()
	s.table.postpone(v.Addr, now.Add(proxyRetry))
	s.metrics.down.WithLabelValues(v.Network, v.ProxyDown).Inc()
	s.downMu.Lock()
	defer s.downMu.Unlock()
	if s.downLogged == nil {
		s.downLogged = map[string]time.Time{}
	}
	if now.Sub(s.downLogged[v.ProxyDown]) >= 10*time.Minute {
		s.downLogged[v.ProxyDown] = now
		s.log.Error("proxy down: its network's nodes wait for it, not counted as failing", "proxy", v.ProxyDown, "network", v.Network)
	}
}

// start loads the table from the store and publishes it, so DNS answers
// from the database at once, before any visit.
func (s *seeder) start(ctx context.Context) error {
	recs, err := s.store.load(ctx)
	if err != nil {
		return err
	}
	s.table.load(recs)
	s.refresh()
	s.log.Info("loaded the node table", "nodes", len(recs), "good", s.goodCount())
	return nil
}

func (s *seeder) goodCount() int {
	snap := s.resp.snap.Load()
	return len(snap.v4) + len(snap.v6)
}

// refresh publishes a new snapshot and updates the table's metrics; it
// logs the number of good nodes when it changes.
func (s *seeder) refresh() {
	snap, c := s.table.snapshot(time.Now())
	s.resp.set(snap)
	s.metrics.setCounts(c)
	if good := len(snap.v4) + len(snap.v6); good != s.lastGood {
		s.lastGood = good
		s.log.Info("good nodes", "good", good, "known", s.table.len())
	}
}

// addStart admits the starting addresses: those given with -addr, and the
// DNS seeds' answers.
func (s *seeder) addStart(ctx context.Context, addrs []string, seeds handshake.SeedOptions) {
	now := time.Now()
	for _, a := range addrs {
		if n, ok := networkOf(a); ok {
			s.table.add(learned{Addr: normalize(a), Network: n}, "addr", now)
		}
	}
	found, res, err := handshake.ResolveSeeds(ctx, seeds)
	for _, r := range res {
		s.log.Info("DNS seed", "seed", r.Host, "addresses", r.Addrs, "err", r.Err)
	}
	if err != nil {
		s.log.Warn("DNS seeds", "err", err)
	}
	for _, a := range found {
		if n, ok := networkOf(a); ok {
			s.table.add(learned{Addr: normalize(a), Network: n}, "seed", now)
		}
	}
}

// run visits nodes until ctx ends, then commits and dumps a last time.
func (s *seeder) run(ctx context.Context) error {
	var loops sync.WaitGroup
	every := func(d time.Duration, f func()) {
		loops.Go(func() {
			t := time.NewTicker(d)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					f()
				}
			}
		})
	}
	every(s.publish, s.refresh)
	every(s.commit, func() { s.save(ctx) })
	if s.dumpPath != "" {
		every(s.dumpEvery, s.dump)
	}
	s.dispatch(ctx)
	loops.Wait()
	s.refresh()
	s.save(context.WithoutCancel(ctx))
	if s.dumpPath != "" {
		s.dump()
	}
	return nil
}

// dispatch hands due nodes to the prober, at most concurrency in flight,
// until ctx ends; it returns when every batch has been reported.
func (s *seeder) dispatch(ctx context.Context) {
	var batches sync.WaitGroup
	defer batches.Wait()
	var inflight atomic.Int64
	t := time.NewTicker(s.tick)
	defer t.Stop()
	for {
		due := s.caps.take(s.table, time.Now(), s.concurrency-int(inflight.Load()))
		if len(due) > 0 {
			inflight.Add(int64(len(due)))
			batches.Go(func() {
				s.prober.probe(ctx, due, func(v visit, visited bool) {
					defer inflight.Add(-1)
					defer s.caps.done(v.Addr)
					switch {
					case v.ProxyDown != "" && ctx.Err() == nil:
						s.proxyDown(v)
						return
					case !visited || ctx.Err() != nil:
						s.table.release(v.Addr) // cut short by the stop, not the node's fault
						return
					}
					n := s.table.apply(v, time.Now())
					s.metrics.visits.WithLabelValues(v.Network, v.Status).Inc()
					if v.ErrKind != "" {
						s.metrics.fails.WithLabelValues(v.Network, v.ErrKind).Inc()
					}
					s.metrics.learned.Add(float64(n))
					s.log.Debug("visit", "addr", v.Addr, "status", v.Status, "transport", v.Transport,
						"learned", len(v.Learned), "new", n, "err", v.Err)
				})
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// save commits the table's changes in one transaction.
func (s *seeder) save(ctx context.Context) {
	changed, removed, known := s.table.changes()
	if len(changed) == 0 && len(removed) == 0 {
		return
	}
	if err := s.store.save(ctx, changed, removed); err != nil {
		s.table.requeue(changed, removed)
		s.metrics.commits.WithLabelValues("error").Inc()
		s.log.Error("commit", "err", err)
		return
	}
	s.metrics.commits.WithLabelValues("ok").Inc()
	// Once this line is logged, the database holds every node known when
	// the commit began.
	s.log.Info("committed", "changed", len(changed), "forgotten", len(removed), "nodes", known)
}

func (s *seeder) dump() {
	n, err := saveDump(s.dumpPath, s.table.all())
	if err != nil {
		s.log.Error("dump", "err", err)
		return
	}
	s.log.Info("dump written", "path", s.dumpPath, "nodes", n)
}
