package handshake

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Defaults applied to zero-valued I2POptions fields.
const (
	// DefaultI2PSAM is the SAM bridge of an I2P router (i2pd and Java
	// I2P alike), as Bitcoin Core's -i2psam is usually set.
	DefaultI2PSAM = "127.0.0.1:7656"

	// DefaultI2PMaxPending caps the connections in flight at the router,
	// each a lease set lookup and a tunnel to build, as Tor's cap does for
	// circuits.
	DefaultI2PMaxPending = 32

	// DefaultI2PSessionTimeout bounds the creation of our session, during
	// which the router builds our tunnels: Bitcoin Core waits up to 3
	// minutes for any SAM reply.
	DefaultI2PSessionTimeout = 3 * time.Minute
)

// I2POptions configures NewI2P. The zero value uses the router's SAM bridge
// at DefaultI2PSAM.
type I2POptions struct {
	// SAM is the router's SAM 3.1 bridge, "host:port". Default:
	// DefaultI2PSAM.
	SAM string

	// MaxPending caps the connections in flight: asked of the router
	// and not yet answered. Further connections wait for a slot, within
	// their context. Default: DefaultI2PMaxPending.
	MaxPending int

	// SessionTimeout bounds the creation of the session, in addition to
	// the context of the connection that needs it. Default:
	// DefaultI2PSessionTimeout.
	SessionTimeout time.Duration

	// RetryDown is how long a router found down (see ErrProxyDown) is left
	// alone: connections fail at once with the last ProxyError until it
	// has passed. Default: DefaultProxyRetry.
	RetryDown time.Duration
}

// I2P is a Dialer that reaches I2P destinations through an I2P router's
// SAM 3.1 bridge with Bitcoin Core's requests (-i2psam): a transient
// session (a fresh destination, never saved), then per connection a NAMING
// LOOKUP of the ".b32.i2p" name and a STREAM CONNECT, on a socket that then
// carries the stream. Where Core without -i2pacceptincoming makes a
// session per connection, so that no two peers see one destination, I2P
// makes one for all its connections, at the first and again whenever the
// router drops it: a session takes the router seconds to minutes to build,
// once per visit would be too slow for a crawl, and the nodes a crawler
// visits may well tell that one visitor came to them all. I2P has no
// ports: addresses are "<52 base32 characters>.b32.i2p:0" (BIP 155), and
// any other port fails with ErrInvalidAddress, as in Core.
//
// A failure at the router is a *ProxyError: ErrProxyDown when the router
// is unreachable, does not speak SAM 3.1 or will not make the session;
// ErrProxyRefused with the SAMResult otherwise (SAMKeyNotFound for a
// destination whose lease set is not found: offline; SAMCantReachPeer,
// SAMTimeout). A connection the router was still trying when the context
// ended fails with the context's error.
//
// It is safe for concurrent use. Close ends the session.
type I2P struct {
	sam            string
	pool           *pool
	sessionTimeout time.Duration

	mu       sync.Mutex
	sess     *samSession
	creating chan struct{} // closed when the creation in progress ends
	closed   bool
}

// NewI2P returns an I2P dialer for opts, or ErrInvalidOptions. It makes no
// connection until the first dial.
func NewI2P(opts I2POptions) (*I2P, error) {
	sam := cmp.Or(opts.SAM, DefaultI2PSAM)
	if err := checkPool("I2P", []string{sam}, opts.MaxPending, opts.RetryDown); err != nil {
		return nil, err
	}
	if opts.SessionTimeout < 0 {
		return nil, fmt.Errorf("handshake: %w: I2P SessionTimeout %v is negative", ErrInvalidOptions, opts.SessionTimeout)
	}
	return &I2P{
		sam:            sam,
		pool:           newPool([]string{sam}, cmp.Or(opts.MaxPending, DefaultI2PMaxPending), cmp.Or(opts.RetryDown, DefaultProxyRetry)),
		sessionTimeout: cmp.Or(opts.SessionTimeout, DefaultI2PSessionTimeout),
	}, nil
}

// DialContext connects to addr, "<name>.b32.i2p:0", waiting for a slot and
// for the session within ctx.
func (p *I2P) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return p.DialWithin(ctx, 0, network, addr)
}

// DialWithin is DialContext with a time limit that starts once the router
// has a slot and our session exists: the wait for them is bounded by ctx
// (and SessionTimeout) alone. limit 0 means ctx alone bounds the connect.
func (p *I2P) DialWithin(ctx context.Context, limit time.Duration, network, addr string) (net.Conn, error) {
	host, err := i2pHost(addr)
	if err != nil {
		return nil, err
	}
	x, err := p.pool.acquire(ctx, addr)
	if err != nil {
		return nil, err
	}
	c, err := p.connect(ctx, limit, addr, host)
	if limit > 0 {
		err = excuse(ctx, err)
	}
	p.pool.release(x, err)
	return c, err
}

// Close ends the session, if any, and waits for its reader to stop.
// Connections already made stay open. Dials after Close fail with
// net.ErrClosed.
func (p *I2P) Close() error {
	p.mu.Lock()
	p.closed = true
	s := p.sess
	p.sess = nil
	p.mu.Unlock()
	if s != nil {
		s.close()
	}
	return nil
}

// i2pHost checks addr and returns its host.
func i2pHost(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("handshake: %w: %q: %v", ErrInvalidAddress, addr, err)
	}
	if n, err := ParseHost(host); err != nil {
		return "", err
	} else if n != NetI2P {
		return "", fmt.Errorf("handshake: %w: %q is not an I2P name", ErrInvalidAddress, addr)
	}
	if port != "0" {
		return "", fmt.Errorf("handshake: %w: %q: I2P has no ports, use port 0 (BIP 155)", ErrInvalidAddress, addr)
	}
	return host, nil
}

// session returns the live session, creating it if there is none, within
// ctx and the session timeout. One dial creates; the others wait for it.
func (p *I2P) session(ctx context.Context) (*samSession, error) {
	for {
		p.mu.Lock()
		switch {
		case p.closed:
			p.mu.Unlock()
			return nil, net.ErrClosed
		case p.sess != nil && p.sess.alive():
			s := p.sess
			p.mu.Unlock()
			return s, nil
		case p.creating != nil:
			ch := p.creating
			p.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		old := p.sess
		p.sess = nil
		ch := make(chan struct{})
		p.creating = ch
		p.mu.Unlock()
		if old != nil {
			old.close()
		}

		cctx, cancel := context.WithTimeout(ctx, p.sessionTimeout)
		s, err := createSession(cctx, p.sam)
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			// The session timeout ran out, not the caller's time: a
			// router that makes no session is down for every dial, not
			// slow to reach one address.
			err = &ProxyError{Proxy: p.sam, Err: fmt.Errorf("%w: no session within %v (%v)", ErrProxyDown, p.sessionTimeout, err)}
		}

		p.mu.Lock()
		p.creating = nil
		close(ch)
		if err == nil && p.closed {
			err = net.ErrClosed
		}
		if err == nil {
			p.sess = s
		}
		p.mu.Unlock()
		if err != nil {
			if s != nil {
				s.close()
			}
			return nil, err
		}
		return s, nil
	}
}

// dropSession forgets s, which the router no longer knows, so that the
// next dial makes a new one.
func (p *I2P) dropSession(s *samSession) {
	p.mu.Lock()
	if p.sess == s {
		p.sess = nil
	}
	p.mu.Unlock()
	s.close()
}

// connect makes one stream to host through session s.
func (p *I2P) connect(ctx context.Context, limit time.Duration, addr, host string) (net.Conn, error) {
	s, err := p.session(ctx)
	if err != nil {
		return nil, sessionErr(addr, err)
	}
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	c, err := samStream(ctx, p.sam, s.id, addr, host)
	var pe *ProxyError
	if errors.As(err, &pe) && pe.SAM == SAMInvalidID {
		p.dropSession(s)
	}
	return c, err
}

// sessionErr gives a failure to make the session the address of the
// connection that needed it.
func sessionErr(addr string, err error) error {
	var pe *ProxyError
	if errors.As(err, &pe) {
		c := *pe
		c.Addr = addr
		return &c
	}
	return err
}
