package handshake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/net/proxy"
)

// ProxyAuth holds the user name and password a SOCKS5 proxy asks for
// (RFC 1929). Each must be 1 to 255 bytes long.
type ProxyAuth struct {
	User, Password string
}

// SOCKS5 returns a Dialer that connects through the SOCKS5 proxy at
// proxyAddr ("host:port"), such as Tor's 127.0.0.1:9050, for
// Options.Dialer. Host names, ".onion" ones included, are passed to the
// proxy unresolved, so Tor resolves them and no DNS query leaks. auth may
// be nil for a proxy that asks for none; with Tor, distinct credentials
// give distinct circuits (Tor does that for you, per connection, with
// isolation on). DialContext honours its context while connecting and
// while talking to the proxy.
//
// A failure at the proxy is a *ProxyError (ErrProxyDown or
// ErrProxyRefused with the reply code); an onion or I2P name that cannot
// be a real one fails with ErrInvalidAddress without contacting the proxy.
func SOCKS5(proxyAddr string, auth *ProxyAuth) Dialer {
	d := socksDialer{proxyAddr: proxyAddr}
	if auth != nil {
		// Copied: the caller's value may change after this call.
		d.auth = &proxy.Auth{User: auth.User, Password: auth.Password}
	}
	return d
}

type socksDialer struct {
	proxyAddr string
	auth      *proxy.Auth
}

func (d socksDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return socksDial(ctx, d.proxyAddr, d.auth, network, addr)
}

// socksDial connects to addr through the SOCKS5 proxy at proxyAddr with
// golang.org/x/net/proxy, and types its failures.
//
// x/net reports a refusal only as text ("unknown error host unreachable"),
// with no code to match. Rather than parse its wording, the proxy's
// answers are read where x/net reads them: it talks to the proxy over the
// connection our forward dialer gives it, and recConn keeps the first bytes
// read from it, which are, in order, the method choice (2 bytes), the
// credentials' status (2 bytes, when the proxy chose user and password) and
// the CONNECT reply (version, code, ...). TestSOCKSReplyEveryCode pins this
// against x/net for every code.
func socksDial(ctx context.Context, proxyAddr string, auth *proxy.Auth, network, addr string) (net.Conn, error) {
	if err := checkDialHost(addr); err != nil {
		return nil, err
	}
	f := &recDialer{}
	pd, err := proxy.SOCKS5("tcp", proxyAddr, auth, f)
	if err != nil { // only for an unknown network, which "tcp" is not
		return nil, fmt.Errorf("socks5 %s: %w", proxyAddr, err)
	}
	c, err := pd.(proxy.ContextDialer).DialContext(ctx, network, addr)
	if err != nil {
		return nil, f.classify(ctx, proxyAddr, addr, err)
	}
	return proxiedConn{c}, nil // its remote address is the proxy's
}

// checkDialHost refuses onion and I2P names that cannot be real before any
// connection is made.
func checkDialHost(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil // the proxy dialer reports it
	}
	if _, err := ParseHost(host); err != nil && errors.Is(err, ErrInvalidAddress) && isOverlayName(host) {
		return err
	}
	return nil
}

// isOverlayName reports whether host is an onion or I2P name, well formed
// or not.
func isOverlayName(host string) bool {
	return isOnion(host) || isI2P(host)
}

// recDialer dials the proxy for x/net and keeps the connection's first
// bytes read, and the dial's error.
type recDialer struct {
	mu      sync.Mutex
	dialErr error
	conn    *recConn
}

// Dial is never called (x/net uses DialContext) but proxy.Dialer asks for it.
func (f *recDialer) Dial(network, addr string) (net.Conn, error) {
	return f.DialContext(context.Background(), network, addr)
}

func (f *recDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.dialErr = err
		return nil, err
	}
	f.conn = &recConn{Conn: c}
	return f.conn, nil
}

// recMax is the most bytes recConn keeps: the method choice, the
// credentials' status and the CONNECT reply's first two bytes.
const recMax = 2 + 2 + 2

// recConn keeps the first recMax bytes read. It stays under the
// connection for its life, so once full it costs one atomic load a read.
type recConn struct {
	net.Conn
	full atomic.Bool
	mu   sync.Mutex
	got  []byte
}

func (c *recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.full.Load() {
		c.mu.Lock()
		if k := min(n, recMax-len(c.got)); k > 0 {
			c.got = append(c.got, p[:k]...)
		}
		c.full.Store(len(c.got) == recMax)
		c.mu.Unlock()
	}
	return n, err
}

func (c *recConn) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.got...)
}

// classify types err, x/net's failure to connect to addr through proxyAddr,
// from what the proxy said.
func (f *recDialer) classify(ctx context.Context, proxyAddr, addr string, err error) error {
	f.mu.Lock()
	dialErr, conn := f.dialErr, f.conn
	f.mu.Unlock()
	down := func(why string, cause error) error {
		if cause != nil {
			return &ProxyError{Proxy: proxyAddr, Addr: addr, Err: fmt.Errorf("%w: %s: %w", ErrProxyDown, why, cause)}
		}
		return &ProxyError{Proxy: proxyAddr, Addr: addr, Err: fmt.Errorf("%w: %s", ErrProxyDown, why)}
	}
	// The caller giving up says nothing about the proxy.
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("socks5 %s: %w (%v)", proxyAddr, ctx.Err(), err)
	}
	// x/net sets the context's deadline on the connection, which may pass
	// a moment before the context says so.
	timedOut := ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded)
	if conn == nil {
		if dialErr == nil { // x/net refused the request before dialling
			return fmt.Errorf("socks5 %s: %w", proxyAddr, err)
		}
		if timedOut {
			return down("no connection within the time limit", nil)
		}
		return down("cannot connect", dialErr)
	}
	b := conn.bytes()
	switch {
	case len(b) < 2 && timedOut:
		return down("no answer to the greeting", nil)
	case len(b) < 2:
		return down("hung up at the greeting", err)
	case b[0] != 5:
		return down(fmt.Sprintf("not a SOCKS5 proxy (answered 0x%02x)", b[0]), nil)
	case b[1] == 0xff:
		return down("accepts none of our authentication methods", nil)
	}
	off := 2
	if b[1] == 2 { // user and password: version and status
		switch {
		case len(b) < 4 && timedOut:
			return down("no answer to the credentials", nil)
		case len(b) < 4:
			return down("hung up at the credentials", err)
		case b[3] != 0:
			return down("refused the credentials", nil)
		}
		off = 4
	}
	switch {
	case len(b) < off+2 && timedOut:
		// The proxy took the request and is still at it: a slow
		// address, as any connect that times out.
		return err
	case len(b) < off+2:
		return &ProxyError{Proxy: proxyAddr, Addr: addr, Err: fmt.Errorf("%w: closed without a reply: %w", ErrProxyRefused, err)}
	case b[off] != 5:
		return down(fmt.Sprintf("not a SOCKS5 reply (0x%02x)", b[off]), nil)
	case b[off+1] != 0:
		code := SOCKSReply(b[off+1])
		return &ProxyError{Proxy: proxyAddr, Addr: addr, Reply: code, Err: ErrProxyRefused}
	}
	// Success code, yet x/net failed reading the rest of the reply.
	if timedOut {
		return down("reply cut short", nil)
	}
	return down("malformed reply", err)
}
