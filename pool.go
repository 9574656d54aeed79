package handshake

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// DefaultProxyRetry is how long a proxy found down is left alone before a
// connection tries it again, when TorOptions.RetryDown or
// I2POptions.RetryDown is zero.
const DefaultProxyRetry = 10 * time.Second

// pool spreads connections over proxies, at most max in flight at each,
// the least busy first, and keeps away from a proxy found down for retry.
// Connections waiting for a slot queue in order, and a freed slot wakes
// one of them, not all: thousands may wait behind one Tor.
type pool struct {
	retry time.Duration
	max   int

	mu      sync.Mutex
	proxies []*pooled
	next    int             // where the search for the least busy starts, for turns among equals
	waiters []chan struct{} // in order; each buffered 1, sent to when it should look again
}

// pooled is one proxy's state.
type pooled struct {
	addr      string
	pending   int
	downUntil time.Time
	downErr   error
}

func newPool(addrs []string, max int, retry time.Duration) *pool {
	p := &pool{retry: retry, max: max}
	for _, a := range addrs {
		p.proxies = append(p.proxies, &pooled{addr: a})
	}
	return p
}

// acquire waits, within ctx, for a slot at a proxy that is not down, and
// returns it. When every proxy is down it fails at once with the last
// ProxyError seen, so that a crawl behind a dead proxy does not wait on it
// once per address.
func (p *pool) acquire(ctx context.Context, addr string) (*pooled, error) {
	var w chan struct{}
	for {
		p.mu.Lock()
		x, wake, err := p.pick(addr)
		switch {
		case x != nil || err != nil:
			p.mu.Unlock()
			return x, err
		case w == nil:
			w = make(chan struct{}, 1)
			p.waiters = append(p.waiters, w)
		default:
			// Woken, yet another took the room first: first in line again.
			p.waiters = append([]chan struct{}{w}, p.waiters...)
		}
		p.mu.Unlock()
		if err := p.wait(ctx, w, wake); err != nil {
			return nil, err
		}
	}
}

// pick takes a slot at the least busy proxy that is not down; or, with
// none, says when the first down proxy comes back, or fails when all are
// down. Called with mu held.
func (p *pool) pick(addr string) (*pooled, time.Duration, error) {
	now := time.Now()
	var best *pooled
	bestAt, down := 0, 0
	var downErr error
	var wake time.Duration
	for i := range p.proxies {
		at := (p.next + i) % len(p.proxies)
		x := p.proxies[at]
		if now.Before(x.downUntil) {
			down++
			downErr = x.downErr
			if d := x.downUntil.Sub(now); wake == 0 || d < wake {
				wake = d
			}
			continue
		}
		if x.pending < p.max && (best == nil || x.pending < best.pending) {
			best, bestAt = x, at
		}
	}
	switch {
	case best != nil:
		best.pending++
		p.next = (bestAt + 1) % len(p.proxies)
		return best, 0, nil
	case down == len(p.proxies):
		var pe *ProxyError
		if errors.As(downErr, &pe) {
			c := *pe
			c.Addr = addr
			return nil, 0, &c
		}
		return nil, 0, downErr
	}
	return nil, wake, nil
}

// wait returns when w is sent to, after wake if positive, or with ctx's
// error, leaving the line.
func (p *pool) wait(ctx context.Context, w chan struct{}, wake time.Duration) error {
	var timer <-chan time.Time
	if wake > 0 {
		t := time.NewTimer(wake)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-w:
		return nil
	case <-timer:
	case <-ctx.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := slices.Index(p.waiters, w); i >= 0 {
		p.waiters = slices.Delete(p.waiters, i, i+1)
	}
	select {
	case <-w: // woken as it left: pass the turn on
		p.wakeOne()
	default:
	}
	return ctx.Err() // nil when the timer fired: look again
}

// wakeOne tells the first in line to look again. Called with mu held.
func (p *pool) wakeOne() {
	if len(p.waiters) > 0 {
		w := p.waiters[0]
		p.waiters[0] = nil
		p.waiters = p.waiters[1:]
		w <- struct{}{}
	}
}

// release gives back x's slot; err, the connection's outcome, marks x down
// for the retry time when it wraps ErrProxyDown, and then every connection
// in line looks again, to fail at once if no proxy is left.
func (p *pool) release(x *pooled, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	x.pending--
	if !errors.Is(err, ErrProxyDown) {
		p.wakeOne()
		return
	}
	x.downUntil, x.downErr = time.Now().Add(p.retry), err
	for len(p.waiters) > 0 {
		p.wakeOne()
	}
}

// checkPool checks what newPool is given.
func checkPool(what string, addrs []string, max int, retry time.Duration) error {
	switch {
	case max < 0:
		return fmt.Errorf("handshake: %w: %s MaxPending %d is negative", ErrInvalidOptions, what, max)
	case retry < 0:
		return fmt.Errorf("handshake: %w: %s RetryDown %v is negative", ErrInvalidOptions, what, retry)
	}
	seen := map[string]bool{}
	for _, a := range addrs {
		if _, _, err := splitProxyAddr(a); err != nil {
			return fmt.Errorf("handshake: %w: %s proxy %q: %v", ErrInvalidOptions, what, a, err)
		}
		if seen[a] {
			return fmt.Errorf("handshake: %w: %s proxy %q given twice", ErrInvalidOptions, what, a)
		}
		seen[a] = true
	}
	return nil
}
