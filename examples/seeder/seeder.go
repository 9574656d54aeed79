package main

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"
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
	tick        time.Duration // how often due nodes are looked for
	publish     time.Duration // how often DNS gets a new snapshot
	commit      time.Duration // how often changes are committed
	dumpEvery   time.Duration
	dumpPath    string // "" for none
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

// refresh publishes a new snapshot and updates the table's metrics.
func (s *seeder) refresh() {
	snap, c := s.table.snapshot(time.Now())
	s.resp.snap.Store(snap)
	s.metrics.setCounts(c)
}

// addStart admits the starting addresses: those given with -addr, and the
// DNS seeds' answers.
func (s *seeder) addStart(ctx context.Context, addrs []string, seeds []string, port string, resolver *net.Resolver) {
	now := time.Now()
	for _, a := range addrs {
		if n, ok := networkOf(a); ok {
			s.table.add(learned{Addr: a, Network: n}, "addr", now)
		}
	}
	for _, host := range seeds {
		ips, err := resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			s.log.Warn("DNS seed", "seed", host, "err", err)
			continue
		}
		added := 0
		for _, ip := range ips {
			a, ok := joinPort(ip, port)
			if !ok {
				continue
			}
			n, _ := networkOf(a)
			if s.table.add(learned{Addr: a, Network: n}, "seed", now) {
				added++
			}
		}
		s.log.Info("DNS seed", "seed", host, "addresses", len(ips), "new", added)
	}
}

// run visits nodes until ctx ends, then commits and dumps a last time.
func (s *seeder) run(ctx context.Context) error {
	jobs := make(chan target)
	var workers sync.WaitGroup
	idle := make(chan struct{}, s.concurrency)
	for range s.concurrency {
		idle <- struct{}{}
		workers.Add(1)
		go func() {
			defer workers.Done()
			for t := range jobs {
				v := s.prober.probe(ctx, t)
				if ctx.Err() != nil {
					s.table.release(t.Addr) // cut short by the stop, not the node's fault
				} else {
					n := s.table.apply(v, time.Now())
					s.metrics.visits.WithLabelValues(v.Status).Inc()
					s.metrics.learned.Add(float64(n))
					s.log.Debug("visit", "addr", v.Addr, "status", v.Status, "transport", v.Transport, "learned", len(v.Learned), "new", n, "err", v.Err)
				}
				idle <- struct{}{}
			}
		}()
	}
	var loops sync.WaitGroup
	every := func(d time.Duration, f func()) {
		loops.Add(1)
		go func() {
			defer loops.Done()
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
		}()
	}
	every(s.publish, s.refresh)
	every(s.commit, func() { s.save(ctx) })
	if s.dumpPath != "" {
		every(s.dumpEvery, s.dump)
	}
	s.dispatch(ctx, jobs, idle)
	close(jobs)
	workers.Wait()
	loops.Wait()
	s.refresh()
	s.save(context.WithoutCancel(ctx))
	if s.dumpPath != "" {
		s.dump()
	}
	return nil
}

// dispatch hands due nodes to idle workers until ctx ends.
func (s *seeder) dispatch(ctx context.Context, jobs chan<- target, idle chan struct{}) {
	t := time.NewTicker(s.tick)
	defer t.Stop()
	for {
		// Take as many due nodes as there are idle workers.
		n := 0
	count:
		for {
			select {
			case <-idle:
				n++
			default:
				break count
			}
		}
		due := s.table.due(time.Now(), n)
		for range n - len(due) {
			idle <- struct{}{}
		}
		for i, tg := range due {
			select {
			case jobs <- tg:
			case <-ctx.Done():
				for _, r := range due[i:] {
					s.table.release(r.Addr)
				}
				return
			}
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
	changed, removed := s.table.changes()
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
	s.log.Debug("commit", "changed", len(changed), "forgotten", len(removed))
}

func (s *seeder) dump() {
	if err := saveDump(s.dumpPath, s.table.all()); err != nil {
		s.log.Error("dump", "err", err)
	}
}
