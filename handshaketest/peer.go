package handshaketest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Peer is a fake node listening on loopback. Its methods are safe for
// concurrent use.
type Peer struct {
	cfg    Config
	ln     net.Listener
	ctx    context.Context // done once Close starts
	cancel context.CancelFunc
	wg     sync.WaitGroup // the accept loop and one goroutine per connection

	closeOnce sync.Once
	closeErr  error

	mu       sync.Mutex
	accepted int
	received []string
}

// NewPeer starts a fake node listening on cfg.Addr that serves every
// accepted connection with cfg's behaviour in its own goroutine. Call
// Close when done.
func NewPeer(cfg Config) (*Peer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ln, err := Listen(cfg.Addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Peer{cfg: cfg, ln: ln, ctx: ctx, cancel: cancel}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Listen listens for TCP on addr (DefaultAddr when empty), which must be a
// loopback address or "localhost": a test double is never reachable from
// other machines.
func Listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = DefaultAddr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("handshaketest: listen address: %w", err)
	}
	if ip, err := netip.ParseAddr(host); host != "localhost" && (err != nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("handshaketest: listen address %q is not loopback", addr)
	}
	return net.Listen("tcp", addr)
}

func (p *Peer) acceptLoop() {
	defer p.wg.Done()
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Transient failures such as EMFILE: back off, as net/http does.
			if sleep(p.ctx, 5*time.Millisecond) != nil {
				return
			}
			continue
		}
		p.mu.Lock()
		p.accepted++
		p.mu.Unlock()
		p.wg.Add(1) // safe: this goroutine is itself counted
		go func() {
			defer p.wg.Done()
			_ = serve(p.ctx, newConn(nc, p.cfg, p.record))
		}()
	}
}

func (p *Peer) record(cmd string) {
	p.mu.Lock()
	p.received = append(p.received, cmd)
	p.mu.Unlock()
}

// Addr returns the address the peer listens on, e.g. "127.0.0.1:54321".
func (p *Peer) Addr() string { return p.ln.Addr().String() }

// Accepted returns how many connections the peer has accepted so far.
func (p *Peer) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Received returns the commands read from all clients so far, in arrival
// order, e.g. [version wtxidrelay sendaddrv2 verack].
func (p *Peer) Received() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.received)
}

// Close stops the listener, closes every open connection, and returns once
// all of the peer's goroutines have exited. Later calls return the first
// call's result.
func (p *Peer) Close() error {
	p.closeOnce.Do(func() {
		p.cancel() // closes every connection through serve's AfterFunc
		p.closeErr = p.ln.Close()
		p.wg.Wait()
	})
	return p.closeErr
}
