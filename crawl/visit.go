package crawl

import (
	"context"
	"net"
	"time"

	"github.com/bitcoin-handshake/handshake"
)

// visit handshakes with t, asks it for addresses, pings it and hangs up.
func (o *Options) visit(ctx context.Context, t Target) (r Result) {
	r = Result{Target: t, Time: time.Now()}
	defer func() { r.Elapsed = time.Since(r.Time) }()
	d := o.dialer(t.Network)
	if d == nil {
		r.Skipped = "no dialer for " + t.Network.String()
		return r
	}
	l := o.limits(t.Network)
	hopts := o.Handshake
	if hopts.Transport == handshake.TransportAuto {
		hopts.Transport = t.transport()
	}
	hopts.Dialer = connectLimit{d, l.Connect}
	// The connect limit applies to each connect, the handshake limit
	// after it; a fallback to v1 reconnects within the same total.
	hopts.Timeout = l.Connect + l.Handshake
	conn, res, err := handshake.DialConn(ctx, t.Addr, hopts)
	r.Handshake, r.Status = &res, res.Status
	if err != nil {
		r.Err = err
		return r
	}
	defer conn.Close() // polite: hang up once done
	hctx, cancel := context.WithTimeout(ctx, l.GetAddr)
	r.Addrs, err = handshake.GetAddrs(hctx, conn, handshake.AddrOptions{MaxAddrs: o.MaxAddrs, Wait: l.GetAddr})
	cancel()
	if err != nil {
		// The addresses so far count; after an answer too large, the
		// stream is not worth a ping.
		r.Err = err
		return r
	}
	if !o.NoPing {
		pctx, cancel := context.WithTimeout(ctx, l.Ping)
		r.Ping, r.Err = conn.Ping(pctx)
		cancel()
	}
	return r
}

// connectLimit bounds each connect by its own limit.
type connectLimit struct {
	d     handshake.Dialer
	limit time.Duration
}

func (c connectLimit) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.limit)
	defer cancel()
	return c.d.DialContext(ctx, network, addr)
}
