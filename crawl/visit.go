package crawl

import (
	"context"
	"fmt"
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
	if host, _, err := net.SplitHostPort(t.Addr); err == nil {
		if _, err := handshake.ParseHost(host); err != nil {
			// A name that cannot be real is a result, never a dial.
			r.Status, r.Err = handshake.StatusFailed, fmt.Errorf("crawl: %w", err)
			return r
		}
	}
	l := o.limits(t.Network)
	hopts := o.Handshake
	if hopts.Transport == handshake.TransportAuto {
		hopts.Transport = t.transport()
	}
	hopts.Dialer = connectLimit{d, l.Connect}
	var preDial time.Duration
	preConnected := false
	if w, ok := d.(withinDialer); ok {
		// Connect first, so that the wait for a slot at the proxy
		// counts against neither limit; the handshake then starts on
		// that connection with its limits whole.
		c, err := w.DialWithin(ctx, l.Connect, "tcp", t.Addr)
		preDial, preConnected = time.Since(r.Time), err == nil
		pd := &preDialed{conn: c, err: err, next: hopts.Dialer}
		defer pd.closeUnused()
		hopts.Dialer = pd
	}
	// The connect limit applies to each connect, the handshake limit
	// after it; a fallback to v1 reconnects within the same total.
	hopts.Timeout = l.Connect + l.Handshake
	conn, res, err := handshake.DialConn(ctx, t.Addr, hopts)
	shift(&res.Timings, preDial, preConnected)
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

// withinDialer is a dialer that queues before connecting, and takes the
// connect's limit apart from its context: handshake.Tor and handshake.I2P.
type withinDialer interface {
	DialWithin(ctx context.Context, limit time.Duration, network, addr string) (net.Conn, error)
}

func (c connectLimit) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if w, ok := c.d.(withinDialer); ok {
		return w.DialWithin(ctx, c.limit, network, addr)
	}
	ctx, cancel := context.WithTimeout(ctx, c.limit)
	defer cancel()
	return c.d.DialContext(ctx, network, addr)
}

// preDialed returns a connection made, or a connect failed, before the
// handshake began, then dials with next (a v1 fallback's reconnect).
type preDialed struct {
	conn net.Conn
	err  error
	used bool
	next handshake.Dialer
}

func (p *preDialed) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if !p.used {
		p.used = true
		return p.conn, p.err
	}
	return p.next.DialContext(ctx, network, addr)
}

// closeUnused closes the connection if the handshake never took it.
func (p *preDialed) closeUnused() {
	if !p.used && p.conn != nil {
		p.conn.Close()
	}
}

// shift makes the timings of a handshake over a connection made before it
// count from the start of that connect, which took d (through a proxy,
// the wait for a slot included) and succeeded if connected, as they do
// for a handshake that connects. A stage not reached stays zero.
func shift(t *handshake.Timings, d time.Duration, connected bool) {
	if d == 0 {
		return
	}
	if connected {
		t.Connect += d
	}
	for _, x := range []*time.Duration{&t.PeerVersion, &t.PeerVerack} {
		if *x != 0 {
			*x += d
		}
	}
	t.Total += d
}
