package handshake

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"
)

// Dial connects to addr and performs the handshake. addr is "host:port", or a
// host or IP alone, which gets the network's default port. The connection is
// closed before Dial returns. The Result is filled as far as the exchange got,
// also when err is non-nil; err is an *Error.
func Dial(ctx context.Context, addr string, opts Options) (Result, error) {
	s, res, err := dial(ctx, addr, &opts)
	if s != nil {
		s.conn.Close()
	}
	return *res, err
}

// dial connects and handshakes. On success the connection stays open in the
// returned session, for DialConn to keep or Dial to close; on failure it is
// closed and the session is nil. The Result travels by pointer, here and
// below: copies of it in every frame doubled a handshake's stack.
func dial(ctx context.Context, addr string, opts *Options) (*session, *Result, error) {
	start := time.Now()
	o, err := opts.withDefaults()
	if err != nil {
		res, err := failedEarly(addr, opts.firstTransport(true), StepOptions, err, start)
		return nil, res, err
	}
	if opts.Timeout == 0 && isOnion(addr) {
		o.Timeout = DefaultOnionTimeout
	}
	addr = withDefaultPort(addr, o.ChainParams.DefaultPort)
	_, direct := o.Dialer.(directDialer)
	bounded, cancel := o.bound(ctx, direct && isLiteral(addr))
	defer cancel()

	if o.Transport == TransportV1 {
		return dialOnce(ctx, bounded, addr, &o, start, TransportV1)
	}
	s, res, err := dialOnce(ctx, bounded, addr, &o, start, TransportV2)
	if o.Transport == TransportAuto && errors.Is(err, ErrV1Only) {
		// As Bitcoin Core does, reconnect and speak v1, within the same
		// time limit. The first attempt's bytes were on the wire too.
		s, v1, err := dialOnce(ctx, bounded, addr, &o, start, TransportV1)
		v1.Fallback = errors.Unwrap(res.Err).Error()
		v1.BytesSent += res.BytesSent
		v1.BytesReceived += res.BytesReceived
		return s, v1, err
	}
	return s, res, err
}

// dialOnce connects and handshakes over transport t, closing the connection
// unless the handshake completed.
func dialOnce(ctx, bounded context.Context, addr string, o *Options, start time.Time, t Transport) (*session, *Result, error) {
	conn, err := o.Dialer.DialContext(bounded, "tcp", addr)
	if err != nil {
		res, err := failedEarly(addr, t, StepConnect, classify(ctx, bounded, err), start)
		return nil, res, err
	}
	s, res, err := run(ctx, bounded, conn, addr, o, start, time.Since(start), t)
	if err != nil {
		conn.Close()
	}
	return s, res, err
}

// Handshake performs the handshake over a connection the caller made, such as
// one through a SOCKS5 proxy. It sets and then clears conn's deadlines but
// does not close conn. The Result's Addr is conn's remote address.
//
// Falling back from v2 to v1 needs a new connection, which only Dial can
// make, so TransportAuto means TransportV1 here. To try v2 over your own
// connection, set TransportV2 and, on ErrV1Only, connect again with
// TransportV1.
func Handshake(ctx context.Context, conn net.Conn, opts Options) (Result, error) {
	_, res, err := handshakeOver(ctx, conn, &opts)
	return *res, err
}

// handshakeOver is Handshake, also returning the session on success.
func handshakeOver(ctx context.Context, conn net.Conn, opts *Options) (*session, *Result, error) {
	start := time.Now()
	addr := remoteAddr(conn)
	o, err := opts.withDefaults()
	if err != nil {
		res, err := failedEarly(addr, opts.firstTransport(false), StepOptions, err, start)
		return nil, res, err
	}
	bounded, cancel := o.bound(ctx, true)
	defer cancel()
	defer conn.SetDeadline(time.Time{})
	return run(ctx, bounded, conn, addr, &o, start, 0, o.firstTransport(false))
}

// bound applies Options.Timeout to ctx. When the connection applies the
// deadline itself (selfApplied), it needs no timer of its own: our reads
// and writes run under the connection's deadline, and so does net.Dialer's
// connect to a literal address while ctx can be cancelled (it makes the
// deadline the socket's). A timer and its context were a tenth of a v1
// handshake's allocations.
func (o *Options) bound(ctx context.Context, selfApplied bool) (context.Context, context.CancelFunc) {
	if o.Timeout < 0 {
		return ctx, func() {}
	}
	deadline := time.Now().Add(o.Timeout)
	if d, ok := ctx.Deadline(); ok && !d.After(deadline) {
		return ctx, func() {}
	}
	if selfApplied && ctx.Done() != nil {
		return &deadlineCtx{Context: ctx, deadline: deadline}, func() {}
	}
	return context.WithDeadline(ctx, deadline)
}

// deadlineCtx is a context with a deadline earlier than its parent's that
// no timer enforces: its Done is the parent's and does not close when the
// deadline passes, so it is only for work that applies Deadline itself.
// Its Err reports the deadline once passed, as classify needs.
type deadlineCtx struct {
	context.Context
	deadline time.Time
}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *deadlineCtx) Err() error {
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// isLiteral reports whether addr is an IP address and port, which
// net.Dialer connects to without a name lookup.
func isLiteral(addr string) bool {
	_, err := netip.ParseAddrPort(addr)
	return err == nil
}

// directDialer is the default Dialer: a net.Dialer without TCP
// keep-alives, which a handshake of a second does not need and Bitcoin's
// own pings replace on a kept connection (Bitcoin Core sets none either):
// four fewer system calls per connect. A value type, so that it is not an
// allocation of every call.
type directDialer struct{}

func (directDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: -1}
	return d.DialContext(ctx, network, addr)
}
