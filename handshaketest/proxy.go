package handshaketest

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// DefaultCircuitDelay is the set-up time a Proxy waits before answering
// each connection when ProxyConfig.Delay is zero: Tor takes one to several
// seconds to reach an onion service (descriptor fetch, introduction,
// rendezvous), and an I2P router as long to build a tunnel.
const DefaultCircuitDelay = 2 * time.Second

// ProxyFault makes a whole Proxy misbehave, for tests of a proxy that is
// down in ways other than not listening.
type ProxyFault int

const (
	// ProxyWorks is a proxy that works.
	ProxyWorks ProxyFault = iota
	// ProxyHangs accepts connections and never says a word.
	ProxyHangs
	// ProxyGarbage answers every connection with an HTTP error page, as a
	// port that is not a SOCKS5 proxy (nor a SAM bridge) might.
	ProxyGarbage
)

// ProxyConfig configures NewProxy. The zero value is a working proxy with
// DefaultCircuitDelay per connection.
type ProxyConfig struct {
	// Delay is waited before answering each connection (its CONNECT on
	// the SOCKS5 side, its STREAM CONNECT or failed lookup on the SAM
	// side), as Tor builds a circuit. Default: DefaultCircuitDelay; a
	// negative value means none. A Route's own Delay overrides it.
	Delay time.Duration

	// Unknown is the SOCKS5 reply for an onion name with no Route, after
	// the delay. Default: 0xF0, "onion service descriptor can not be
	// found", as Tor answers for a service that is offline. (Any other
	// name with no Route gets 0x04, host unreachable; on the SAM side a
	// name with no Route gets KEY_NOT_FOUND.)
	Unknown byte

	// Fault makes the proxy misbehave. Default: ProxyWorks.
	Fault ProxyFault
}

// Route says what the Proxy does for one name.
type Route struct {
	// Target is the loopback "host:port" the connection is carried to,
	// when Reply and SAM are unset.
	Target string
	// Reply, when not 0, is the SOCKS5 reply code the name gets instead
	// of a connection, such as 0xF2 (introduction failed).
	Reply byte
	// SAM, when not "", is the SAM result the name gets instead of a
	// connection, such as "CANT_REACH_PEER"; "KEY_NOT_FOUND" fails its
	// NAMING LOOKUP.
	SAM string
	// Delay overrides ProxyConfig.Delay for this name when not 0;
	// negative means none.
	Delay time.Duration
}

// Credential is the user name and password a client sent (RFC 1929),
// both empty for a client that sent none.
type Credential struct {
	User, Password string
}

// Proxy is a fake Tor and I2P router on loopback: a SOCKS5 port that
// behaves like Tor's with the ExtendedErrors flag (a delay per connection, Tor's extended reply codes
// for onion services that are offline or unknown (0xF0) and for malformed
// onion names (0xF6), credentials accepted and recorded, so that tests can
// check stream isolation) and a SAM 3.1 bridge that behaves like an I2P
// router's, both carrying connections to fake nodes by name.
//
// Both servers are written by hand: no SOCKS5 server library emits Tor's
// extended codes, and the SAM side must speak exactly what Bitcoin Core
// speaks.
type Proxy struct {
	cfg       ProxyConfig
	socks     net.Listener
	sam       net.Listener
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once

	mu           sync.Mutex
	routes       map[string]Route
	conns        map[net.Conn]struct{}
	creds        []Credential
	pending      int
	peak         int
	requests     int
	sessions     map[string]net.Conn // SAM session id -> its control socket
	sessionsMade int
}

// NewProxy starts a Proxy on two ports of 127.0.0.1.
func NewProxy(cfg ProxyConfig) (*Proxy, error) {
	if cfg.Delay == 0 {
		cfg.Delay = DefaultCircuitDelay
	}
	if cfg.Unknown == 0 {
		cfg.Unknown = 0xF0
	}
	socks, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sam, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		socks.Close()
		return nil, err
	}
	p := &Proxy{cfg: cfg, socks: socks, sam: sam, done: make(chan struct{}),
		routes: map[string]Route{}, conns: map[net.Conn]struct{}{}, sessions: map[string]net.Conn{}}
	p.wg.Go(func() { p.accept(socks, p.serveSOCKS) })
	p.wg.Go(func() { p.accept(sam, p.serveSAM) })
	return p, nil
}

// SOCKSAddr is the SOCKS5 port's "host:port", for handshake.TorOptions.
func (p *Proxy) SOCKSAddr() string { return p.socks.Addr().String() }

// SAMAddr is the SAM bridge's "host:port", for handshake.I2POptions.
func (p *Proxy) SAMAddr() string { return p.sam.Addr().String() }

// Set routes name, an onion or I2P name (or any host a SOCKS5 client may
// ask for), as r says. Names are matched in lower case.
func (p *Proxy) Set(name string, r Route) {
	p.mu.Lock()
	p.routes[strings.ToLower(name)] = r
	p.mu.Unlock()
}

// Credentials returns the credentials of every SOCKS5 connection that
// reached its request, in order.
func (p *Proxy) Credentials() []Credential {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Credential(nil), p.creds...)
}

// MaxPending is the most connections the proxy held at once between their
// request and its answer, on both sides: what a client's cap on
// connections in flight bounds.
func (p *Proxy) MaxPending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

// Requests counts the connection requests received on both sides (SOCKS5
// CONNECT, SAM NAMING LOOKUP).
func (p *Proxy) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// Sessions counts the SAM sessions ever made.
func (p *Proxy) Sessions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sessionsMade
}

// DropSessions closes every SAM session, as a router restart does: the
// next STREAM CONNECT in one gets INVALID_ID.
func (p *Proxy) DropSessions() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, c := range p.sessions {
		c.Close()
		delete(p.sessions, id)
	}
}

// Close stops both servers and every connection they carry, and returns
// once every goroutine the Proxy started has exited.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		close(p.done)
		p.socks.Close()
		p.sam.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	p.wg.Wait()
	return nil
}

func (p *Proxy) accept(ln net.Listener, serve func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Go(func() {
			defer p.untrack(c)
			switch p.cfg.Fault {
			case ProxyHangs:
				io.Copy(io.Discard, c)
			case ProxyGarbage:
				c.Write([]byte("HTTP/1.0 501 Tor is not an HTTP Proxy\r\n\r\n"))
			default:
				serve(c)
			}
		})
	}
}

// track registers c to be closed by Close; false once closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		return false
	default:
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// route returns name's route and whether it has one.
func (p *Proxy) route(name string) (Route, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.routes[strings.ToLower(name)]
	return r, ok
}

// begin counts a request in flight; end its answer.
func (p *Proxy) begin() {
	p.mu.Lock()
	p.requests++
	p.pending++
	p.peak = max(p.peak, p.pending)
	p.mu.Unlock()
}

func (p *Proxy) end() {
	p.mu.Lock()
	p.pending--
	p.mu.Unlock()
}

// delay waits r's set-up time; false when the Proxy closed first or the
// client hung up, as Tor gives up a stream whose client left. A client
// sends nothing while it waits for the answer, so anything read from c
// meanwhile ends the wait too.
func (p *Proxy) delay(r Route, c net.Conn) bool {
	d := p.cfg.Delay
	if r.Delay != 0 {
		d = r.Delay
	}
	if d <= 0 {
		return true
	}
	gone := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		var b [1]byte
		if _, err := c.Read(b[:]); !errors.Is(err, os.ErrDeadlineExceeded) {
			close(gone)
		}
	})
	defer func() {
		c.SetReadDeadline(time.Unix(1, 0)) // ends the watch
		watch.Wait()
		c.SetReadDeadline(time.Time{})
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.done:
	case <-gone:
	}
	return false
}

// carry connects c to target, sends the success answer with ok, and copies
// both ways until either ends, reading c through r; false, with nothing
// sent, when target cannot be reached.
func (p *Proxy) carry(c net.Conn, r io.Reader, target string, ok func() error) bool {
	t, err := net.Dial("tcp", target)
	if err != nil {
		return false
	}
	if !p.track(t) {
		t.Close()
		return false
	}
	defer p.untrack(t)
	if ok() != nil {
		return true
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		io.Copy(t, r)
		t.Close()
	})
	io.Copy(c, t)
	c.Close()
	wg.Wait()
	return true
}
