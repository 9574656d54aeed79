package main

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bitcoin-handshake/handshake"
)

// node is what the crawl learned of one address it dialled.
type node struct {
	Addr    string
	Network handshake.AddrNetwork
	Depth   int
	Result  handshake.Result
	Gave    int   // addresses it gave
	AddrErr error // why gathering its addresses stopped early, if it did
}

// crawler follows gossiped addresses breadth first. Its fields are set
// before run and not changed after.
type crawler struct {
	opts         handshake.Options
	proxy        handshake.Dialer // for onion addresses; nil: skip them
	allowPrivate bool
	maxDepth     int
	maxNodes     int
	concurrency  int
	timeout      time.Duration
	emit         func(node) // called with c.mu held, never concurrently
	found        func(total int)

	mu        sync.Mutex
	seen      map[string]bool
	skipped   map[string]int // reason: count
	dialled   int
	unvisited int // admitted but not dialled: past -depth or -max-nodes
}

// target is an address to dial at some depth.
type target struct {
	addr string
	net  handshake.AddrNetwork
}

// run crawls from start, the addresses at depth 0.
func (c *crawler) run(ctx context.Context, start []target) {
	c.seen = make(map[string]bool)
	c.skipped = make(map[string]int)
	var frontier []target
	for _, t := range start {
		if !c.seen[t.addr] {
			c.seen[t.addr] = true
			frontier = append(frontier, t)
		}
	}
	c.found(len(frontier))
	for depth := 0; len(frontier) > 0; depth++ {
		if depth > c.maxDepth || ctx.Err() != nil {
			c.unvisited += len(frontier)
			return
		}
		var next []target
		var g errgroup.Group
		g.SetLimit(c.concurrency)
		for i, t := range frontier {
			if c.dialled >= c.maxNodes || ctx.Err() != nil {
				c.unvisited += len(frontier) - i
				break
			}
			c.dialled++ // only this goroutine counts dials
			g.Go(func() error {
				n, learned := c.visit(ctx, t, depth)
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
		c.found(len(c.seen) - sum(c.skipped))
	}
}

// visit handshakes with one address, asks it for addresses and hangs up.
func (c *crawler) visit(ctx context.Context, t target, depth int) (node, []handshake.Addr) {
	n := node{Addr: t.addr, Network: t.net, Depth: depth}
	opts := c.opts
	if t.net == handshake.NetTorV3 {
		opts.Dialer = c.proxy
	}
	conn, res, err := handshake.DialConn(ctx, t.addr, opts)
	n.Result = res
	if err != nil {
		return n, nil
	}
	defer conn.Close() // polite: disconnect once harvested
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	addrs, err := handshake.GetAddrs(actx, conn, handshake.AddrOptions{Wait: min(c.timeout, handshake.DefaultAddrWait)})
	n.Gave, n.AddrErr = len(addrs), err
	return n, addrs
}

// admit decides whether a gossiped address is to be dialled, counting
// those skipped by reason. Called with c.mu held.
func (c *crawler) admit(a handshake.Addr) (target, bool) {
	key := a.String()
	if c.seen[key] {
		return target{}, false
	}
	c.seen[key] = true
	reason := ""
	switch a.Network {
	case handshake.NetTorV3:
		if c.proxy == nil {
			reason = "onion (no -proxy)"
		}
	case handshake.NetI2P, handshake.NetCJDNS:
		reason = a.Network.String() + " (unsupported)"
	default:
		ip, err := netip.ParseAddr(a.Host)
		switch {
		case err != nil || a.Port == 0:
			reason = "invalid"
		case !c.allowPrivate && !handshake.IsPublic(ip):
			// A hostile peer must not aim the crawler at the user's
			// own network.
			reason = "private (no -allow-private)"
		}
	}
	if reason != "" {
		c.skipped[reason]++
		return target{}, false
	}
	return target{addr: key, net: a.Network}, true
}

// networkOf names the network of an address given as "host:port".
func networkOf(addr string) handshake.AddrNetwork {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.HasSuffix(host, ".onion") {
		return handshake.NetTorV3
	}
	if ip, err := netip.ParseAddr(host); err == nil && !ip.Unmap().Is4() {
		return handshake.NetIPv6
	}
	return handshake.NetIPv4
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
