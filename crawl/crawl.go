package crawl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/bitcoin-handshake/handshake"
)

// Crawl visits start, and every address the nodes gossip that passes the
// checks Options documents, with Options.Concurrency visits in flight,
// calling fn with each Result as it completes. fn is never called
// concurrently; a slow fn slows the crawl. Every admitted address yields
// exactly one Result: when ctx ends, visits in flight end at once and the
// addresses not yet visited get a Result whose Err wraps ErrNotVisited.
// Duplicate start targets are visited once.
//
// Crawl returns an error for invalid Options, or ctx's error when ctx
// ended the crawl; the Summary is filled in either way.
func Crawl(ctx context.Context, opts Options, start []Target, fn func(Result)) (Summary, error) {
	began := time.Now()
	o, err := opts.withDefaults()
	if err != nil {
		return newSummary(), err
	}
	end, err := o.makeDialers()
	if err != nil {
		return newSummary(), err
	}
	defer end()
	c := newCrawler(&o, fn)
	for _, a := range o.Seen {
		c.remember(a)
	}
	c.mu.Lock()
	started := make(map[string]bool, len(start))
	for _, t := range start {
		if started[t.Addr] {
			continue
		}
		started[t.Addr] = true
		c.remember(t.Addr)
		if o.MaxVisits > 0 && c.sum.Admitted >= o.MaxVisits {
			c.sum.Dropped["max visits"]++
			continue
		}
		c.enqueue(t)
	}
	c.mu.Unlock()

	// On cancellation, wake the idle workers to end; no goroutine
	// outlives the call.
	woken := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
		close(woken)
	})
	defer func() {
		if !stop() {
			<-woken
		}
	}()
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Go(func() { c.work(ctx) })
	}
	wg.Wait()
	c.giveUp(ctx)

	c.sum.Known = len(c.known)
	c.sum.Elapsed = time.Since(began)
	if err := ctx.Err(); err != nil {
		return c.sum, fmt.Errorf("crawl: %w", err)
	}
	return c.sum, nil
}

// crawler is one crawl's state.
type crawler struct {
	o  *Options
	fn func(Result)

	mu      sync.Mutex
	cond    *sync.Cond // signalled when a target becomes takeable or the crawl ends
	known   map[string]struct{}
	groups  map[string]*group
	ready   []*group // groups with pending targets and room, in turn
	pending int      // targets queued
	active  int      // visits in flight
	// Per network under Options.NetworkConcurrency: visits in flight,
	// and the groups with pending targets and room of their own that
	// wait for their network to have room.
	netActive map[handshake.AddrNetwork]int
	parked    map[handshake.AddrNetwork][]*group
	sum       Summary // counts under mu, except the results' (under emitMu)

	emitMu sync.Mutex
}

// group holds the pending targets of one network group (all of them in
// one group when Options.PerNetgroup is 0), of one network when
// Options.NetworkConcurrency caps any.
type group struct {
	key     string
	net     handshake.AddrNetwork
	queue   []Target
	head    int
	active  int
	inReady bool
	parked  bool
}

func newCrawler(o *Options, fn func(Result)) *crawler {
	c := &crawler{o: o, fn: fn, known: map[string]struct{}{}, groups: map[string]*group{},
		netActive: map[handshake.AddrNetwork]int{}, parked: map[handshake.AddrNetwork][]*group{}}
	c.sum = newSummary()
	c.cond = sync.NewCond(&c.mu)
	return c
}

// remember adds addr to the known set unless it is full, and reports
// whether it was added.
func (c *crawler) remember(addr string) bool {
	if _, ok := c.known[addr]; ok || len(c.known) >= c.o.MaxKnown {
		return false
	}
	c.known[addr] = struct{}{}
	return true
}

// enqueue admits t. Called with mu held.
func (c *crawler) enqueue(t Target) {
	c.sum.Admitted++
	key := ""
	if c.o.PerNetgroup > 0 {
		key = netgroup(t)
	}
	if len(c.o.NetworkConcurrency) > 0 {
		key = t.Network.String() + " " + key
	}
	g := c.groups[key]
	if g == nil {
		g = &group{key: key, net: t.Network}
		c.groups[key] = g
	}
	g.queue = append(g.queue, t)
	c.pending++
	c.makeReady(g)
	c.cond.Signal()
}

// makeReady puts g in turn if it has pending targets and room, or parks
// it while its network has none.
func (c *crawler) makeReady(g *group) {
	if g.inReady || g.parked || g.head == len(g.queue) || (c.o.PerNetgroup > 0 && g.active >= c.o.PerNetgroup) {
		return
	}
	if !c.netRoom(g.net) {
		g.parked = true
		c.parked[g.net] = append(c.parked[g.net], g)
		return
	}
	g.inReady = true
	c.ready = append(c.ready, g)
}

// netRoom reports whether network n may have another visit in flight.
func (c *crawler) netRoom(n handshake.AddrNetwork) bool {
	limit := c.o.NetworkConcurrency[n]
	return limit == 0 || c.netActive[n] < limit
}

// unpark puts in turn a group that waits for network n, which has just
// freed a visit's room: one is enough for one room, and a parked group
// still has pending targets and room of its own.
func (c *crawler) unpark(n handshake.AddrNetwork) {
	if q := c.parked[n]; len(q) > 0 {
		g := q[0]
		q[0] = nil
		c.parked[n] = q[1:]
		if len(q) == 1 {
			delete(c.parked, n)
		}
		g.parked = false
		c.makeReady(g)
	}
}

// take returns the next target, waiting for one; false when the crawl is
// over: nothing pending nor in flight, or ctx ended.
func (c *crawler) take(ctx context.Context) (Target, *group, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if ctx.Err() != nil || (c.pending == 0 && c.active == 0) {
			c.cond.Broadcast() // wake the others to end too
			return Target{}, nil, false
		}
		if len(c.ready) > 0 {
			g := c.ready[0]
			c.ready[0] = nil
			c.ready = c.ready[1:]
			g.inReady = false
			if !c.netRoom(g.net) {
				// Its network filled since g was put in turn.
				c.makeReady(g)
				continue
			}
			t := g.queue[g.head]
			g.queue[g.head] = Target{}
			g.head++
			switch {
			case g.head == len(g.queue):
				g.queue, g.head = g.queue[:0], 0
			case g.head >= 1024 && 2*g.head >= len(g.queue):
				// A queue that never drains must not keep every
				// target it ever held: move the rest to the front.
				n := copy(g.queue, g.queue[g.head:])
				clear(g.queue[n:])
				g.queue, g.head = g.queue[:n], 0
			}
			g.active++
			c.netActive[g.net]++
			c.pending--
			c.active++
			c.makeReady(g) // round robin: back of the line
			return t, g, true
		}
		c.cond.Wait()
	}
}

// work visits targets until the crawl is over.
func (c *crawler) work(ctx context.Context) {
	for {
		t, g, ok := c.take(ctx)
		if !ok {
			return
		}
		var r Result
		if ctx.Err() != nil {
			r = notVisited(ctx, t, time.Now())
		} else {
			r = c.o.visit(ctx, t)
			cutShort(ctx, &r)
		}
		c.mu.Lock()
		c.learn(&r)
		g.active--
		c.active--
		c.netActive[g.net]--
		c.makeReady(g)
		c.unpark(g.net)
		if g.head == len(g.queue) && g.active == 0 {
			delete(c.groups, g.key)
		}
		c.cond.Signal() // the group may have room again
		if c.pending == 0 && c.active == 0 {
			c.cond.Broadcast()
		}
		c.mu.Unlock()
		c.emit(r)
	}
}

// learn admits what r's node gave. Called with mu held.
func (c *crawler) learn(r *Result) {
	c.sum.Given += len(r.Addrs)
	for _, a := range r.Addrs {
		key := a.String()
		if _, dup := c.known[key]; dup {
			continue
		}
		if !c.remember(key) {
			c.sum.Dropped["max known"]++
			continue
		}
		if reason := c.reject(a, r.Depth+1); reason != "" {
			c.sum.Dropped[reason]++
			continue
		}
		c.enqueue(Target{Addr: key, Network: a.Network, Services: a.Services, Depth: r.Depth + 1})
		r.New++
	}
}

// reject says why a new gossiped address at depth is not admitted, or "".
func (c *crawler) reject(a handshake.Addr, depth int) string {
	o := c.o
	switch {
	case a.Port == 0 && a.Network != handshake.NetI2P: // I2P has no ports: BIP 155 says 0
		return "port 0"
	case (a.Network == handshake.NetIPv4 || a.Network == handshake.NetIPv6) && !o.AllowPrivate && !public(a.Host):
		return "private"
	case o.MaxDepth < 0 || (o.MaxDepth > 0 && depth > o.MaxDepth):
		return "depth"
	case o.MaxVisits > 0 && c.sum.Admitted >= o.MaxVisits:
		return "max visits"
	case o.Admit != nil && !o.Admit(a):
		return "refused by Admit"
	}
	return ""
}

func public(host string) bool {
	ip, err := netip.ParseAddr(host)
	return err == nil && handshake.IsPublic(ip)
}

// emit counts r and hands it to fn.
func (c *crawler) emit(r Result) {
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	c.sum.count(&r)
	if c.fn != nil {
		c.fn(r)
	}
}

// giveUp reports the targets still queued when ctx ended. The workers
// have returned.
func (c *crawler) giveUp(ctx context.Context) {
	now := time.Now()
	for _, g := range c.groups {
		for _, t := range g.queue[g.head:] {
			c.emit(notVisited(ctx, t, now))
		}
	}
	c.groups, c.ready = nil, nil
}

func notVisited(ctx context.Context, t Target, now time.Time) Result {
	return Result{Target: t, Time: now, Status: handshake.StatusFailed,
		Err: fmt.Errorf("crawl: %s: %w: %w", t.Addr, ErrNotVisited, context.Cause(ctx))}
}

// cutShort marks r not visited when the crawl's end cut its failing visit
// short, with the context's error as Result.Err promises, even when the
// visit failed for a reason of its own at that moment; or when it was
// never tried for want of a proxy. Either way it is due again in a resumed
// crawl.
func cutShort(ctx context.Context, r *Result) {
	switch {
	case r.Skipped != "" || r.Status != handshake.StatusFailed:
	case ended(ctx):
		end := context.Cause(ctx)
		if end == nil { // its deadline passed a moment before it says so
			end = context.DeadlineExceeded
		}
		if errors.Is(r.Err, end) {
			r.Err = fmt.Errorf("%w: %w", ErrNotVisited, r.Err)
		} else {
			r.Err = fmt.Errorf("%w: %w: %w", ErrNotVisited, end, r.Err)
		}
	case errors.Is(r.Err, handshake.ErrProxyDown):
		r.Err = fmt.Errorf("%w: %w", ErrNotVisited, r.Err)
	}
}

// ended reports whether ctx has ended, or its deadline has passed a moment
// before it says so: a visit's connection, whose deadline is set from it,
// may see it first.
func ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}
