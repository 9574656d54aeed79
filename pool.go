package handshake

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultProxyRetry is how long a proxy found down is left alone before a
// connection tries it again, when TorOptions.RetryDown or
// I2POptions.RetryDown is zero.
const DefaultProxyRetry = 10 * time.Second

// pool spreads connections over proxies, at most max in flight at each,
// the least busy first, and keeps away from a proxy found down for retry.
type pool struct {
	retry time.Duration
	max   int

	mu      sync.Mutex
	proxies []*pooled
	next    int           // where the search for the least busy starts, for turns among equals
	freed   chan struct{} // closed and replaced when a slot frees or a proxy comes back
}

// pooled is one proxy's state.
type pooled struct {
	addr      string
	pending   int
	downUntil time.Time
	downErr   error
}

func newPool(addrs []string, max int, retry time.Duration) *pool {
	p := &pool{retry: retry, max: max, freed: make(chan struct{})}
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
	for {
		p.mu.Lock()
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
		if best != nil {
			best.pending++
			p.next = (bestAt + 1) % len(p.proxies)
			p.mu.Unlock()
			return best, nil
		}
		freed := p.freed
		p.mu.Unlock()
		if down == len(p.proxies) {
			var pe *ProxyError
			if errors.As(downErr, &pe) {
				c := *pe
				c.Addr = addr
				return nil, &c
			}
			return nil, downErr
		}
		if err := wait(ctx, freed, wake); err != nil {
			return nil, err
		}
	}
}

// wait returns when freed closes, after wake if positive, or with ctx's
// error.
func wait(ctx context.Context, freed <-chan struct{}, wake time.Duration) error {
	var timer <-chan time.Time
	if wake > 0 {
		t := time.NewTimer(wake)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-freed:
	case <-timer:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// release gives back x's slot; err, the connection's outcome, marks x down
// for the retry time when it wraps ErrProxyDown.
func (p *pool) release(x *pooled, err error) {
	p.mu.Lock()
	x.pending--
	if errors.Is(err, ErrProxyDown) {
		x.downUntil, x.downErr = time.Now().Add(p.retry), err
	}
	close(p.freed)
	p.freed = make(chan struct{})
	p.mu.Unlock()
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
