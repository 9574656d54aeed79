package handshake

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"strconv"
	"time"

	"golang.org/x/net/proxy"
)

// Defaults applied to zero-valued TorOptions fields.
const (
	// DefaultTorProxy is Tor's SOCKS port, as Bitcoin Core's -proxy and
	// -onion are usually set.
	DefaultTorProxy = "127.0.0.1:9050"

	// DefaultTorMaxPending caps the connections in flight at one Tor
	// proxy: Tor's own MaxClientCircuitsPending, the circuits it builds at
	// once for clients. With isolation each connection needs a circuit of
	// its own, so more at once would only queue inside Tor, where our time
	// limits would run out.
	DefaultTorMaxPending = 32
)

// TorOptions configures NewTor. The zero value uses one Tor at
// DefaultTorProxy with stream isolation.
type TorOptions struct {
	// Proxies are the SOCKS5 ports ("host:port") of one or more Tor
	// clients; connections go to the least busy, in turn among equals.
	// Default: DefaultTorProxy alone.
	Proxies []string

	// MaxPending caps, per proxy, the connections in flight: asked of
	// the proxy and not yet answered (Tor is building their circuits).
	// Further connections wait for a slot, within their context. An
	// established connection no longer counts. Default:
	// DefaultTorMaxPending.
	MaxPending int

	// NoIsolation turns off stream isolation, as Bitcoin Core's
	// -proxyrandomize=0: no credentials are sent, and Tor may carry
	// several connections over one circuit. Default: false, each
	// connection sends fresh random credentials (RFC 1929 user and
	// password), which Tor's IsolateSOCKSAuth (on by default) takes as a
	// request for a circuit of its own, so that one circuit's exit or
	// rendezvous never sees two of our connections.
	NoIsolation bool

	// RetryDown is how long a proxy found down (see ErrProxyDown) is left
	// alone: connections go to the others, and when every proxy is down
	// they fail at once with the last ProxyError. Default:
	// DefaultProxyRetry.
	RetryDown time.Duration
}

// Tor is a Dialer that connects through one or more Tor SOCKS5 proxies,
// spreading connections over them with a cap on those in flight at each,
// and isolating each connection's stream. It is safe for concurrent use;
// it holds no connection of its own, so it needs no closing.
//
// A connection refused at the proxy is a *ProxyError: ErrProxyDown when
// the proxy itself failed, ErrProxyRefused with Tor's reply code otherwise
// (SOCKSOnionNotFound for an onion service that is offline, ...). One that
// the proxy was still trying when the context ended fails with the
// context's error, as a slow address does. An onion name that cannot be a
// real one fails with ErrInvalidAddress before any proxy is asked.
type Tor struct {
	pool        *pool
	noIsolation bool
}

// NewTor returns a Tor dialer for opts, or ErrInvalidOptions.
func NewTor(opts TorOptions) (*Tor, error) {
	if len(opts.Proxies) == 0 {
		opts.Proxies = []string{DefaultTorProxy}
	}
	if err := checkPool("Tor", opts.Proxies, opts.MaxPending, opts.RetryDown); err != nil {
		return nil, err
	}
	return &Tor{
		pool:        newPool(opts.Proxies, cmp.Or(opts.MaxPending, DefaultTorMaxPending), cmp.Or(opts.RetryDown, DefaultProxyRetry)),
		noIsolation: opts.NoIsolation,
	}, nil
}

// DialContext connects to addr ("host:port") through the least busy proxy,
// waiting for a slot within ctx.
func (t *Tor) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return t.DialWithin(ctx, 0, network, addr)
}

// DialWithin is DialContext with a time limit that starts once a proxy
// has a slot: the wait for one is bounded by ctx alone, so that a queue of
// connections at a busy proxy does not eat their time to connect. limit
// 0 means ctx alone bounds the connect.
func (t *Tor) DialWithin(ctx context.Context, limit time.Duration, network, addr string) (net.Conn, error) {
	if err := checkDialHost(addr); err != nil {
		return nil, err
	}
	x, err := t.pool.acquire(ctx, addr)
	if err != nil {
		return nil, err
	}
	dctx := ctx
	if limit > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	var auth *proxy.Auth
	if !t.noIsolation {
		auth = isolationAuth()
	}
	c, err := socksDial(dctx, x.addr, auth, network, addr)
	if limit > 0 {
		err = excuse(ctx, err)
	}
	t.pool.release(x, err)
	return c, err
}

// isolationAuth returns fresh random credentials, as Bitcoin Core's
// -proxyrandomize sends per connection; Tor builds a circuit per distinct
// pair.
func isolationAuth() *proxy.Auth {
	s := rand.Text() // 26 base32 characters, 130 random bits
	return &proxy.Auth{User: s[:13], Password: s[13:]}
}

// splitProxyAddr checks a proxy's "host:port".
func splitProxyAddr(addr string) (string, uint16, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 || host == "" {
		return "", 0, fmt.Errorf("want host:port")
	}
	return host, uint16(n), nil
}
