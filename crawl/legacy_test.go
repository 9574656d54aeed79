package crawl_test

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bitcoin-handshake/handshake"
)

// legacyCrawler is examples/crawl's crawler as it was before the engine
// (commit b34da54), kept so that BenchmarkCrawl measures the two over the
// same simulated Internet: breadth first, depth by depth, each depth
// waiting for its slowest address, every address dialled with
// TransportAuto under one time limit. Only the time of each visit is added.
type legacyCrawler struct {
	opts         handshake.Options
	allowPrivate bool
	maxDepth     int
	maxNodes     int
	concurrency  int
	timeout      time.Duration
	emit         func(legacyNode) // called with c.mu held

	mu      sync.Mutex
	seen    map[string]bool
	dialled int
}

type legacyNode struct {
	Addr    string
	Result  handshake.Result
	Gave    int
	Elapsed time.Duration
}

func (c *legacyCrawler) run(ctx context.Context, start []string) {
	c.seen = make(map[string]bool)
	var frontier []string
	for _, t := range start {
		if !c.seen[t] {
			c.seen[t] = true
			frontier = append(frontier, t)
		}
	}
	for depth := 0; len(frontier) > 0; depth++ {
		if depth > c.maxDepth || ctx.Err() != nil {
			return
		}
		var next []string
		var g errgroup.Group
		g.SetLimit(c.concurrency)
		for _, t := range frontier {
			if c.dialled >= c.maxNodes || ctx.Err() != nil {
				break
			}
			c.dialled++
			g.Go(func() error {
				began := time.Now()
				n, learned := c.visit(ctx, t)
				n.Elapsed = time.Since(began)
				c.mu.Lock()
				defer c.mu.Unlock()
				for _, a := range learned {
					if t, ok := c.admit(a); ok {
						next = append(next, t)
					}
				}
				c.emit(n)
				return nil
			})
		}
		g.Wait()
		frontier = next
	}
}

func (c *legacyCrawler) visit(ctx context.Context, addr string) (legacyNode, []handshake.Addr) {
	n := legacyNode{Addr: addr}
	conn, res, err := handshake.DialConn(ctx, addr, c.opts)
	n.Result = res
	if err != nil {
		return n, nil
	}
	defer conn.Close()
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	addrs, _ := handshake.GetAddrs(actx, conn, handshake.AddrOptions{Wait: min(c.timeout, handshake.DefaultAddrWait)})
	n.Gave = len(addrs)
	return n, addrs
}

func (c *legacyCrawler) admit(a handshake.Addr) (string, bool) {
	key := a.String()
	if c.seen[key] {
		return "", false
	}
	c.seen[key] = true
	if a.Network != handshake.NetIPv4 && a.Network != handshake.NetIPv6 {
		return "", false
	}
	ip, err := netip.ParseAddr(a.Host)
	if err != nil || a.Port == 0 || (!c.allowPrivate && !handshake.IsPublic(ip)) {
		return "", false
	}
	return key, true
}
