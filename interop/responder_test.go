package interop

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/peer"
	"github.com/btcsuite/btcd/wire/v2"
)

// What the in-process responder announces.
const (
	responderUAName    = "interop"
	responderUAVersion = "1.0"
	// responderUserAgent is what btcd's peer package makes of the name and
	// version above: wire's own agent first (msg.AddUserAgent appends).
	responderUserAgent = "/btcwire:0.5.0/interop:1.0/"
	responderServices  = wire.SFNodeNetwork | wire.SFNodeWitness
	responderHeight    = 321
)

// responderConfig is a btcd peer.Config for an inbound regtest node announcing
// the values above at protocolVersion (0 means peer.MaxProtocolVersion).
func responderConfig(protocolVersion uint32) peer.Config {
	if protocolVersion == 0 {
		protocolVersion = peer.MaxProtocolVersion
	}
	return peer.Config{
		UserAgentName:    responderUAName,
		UserAgentVersion: responderUAVersion,
		ChainParams:      &chaincfg.RegressionNetParams,
		Services:         responderServices,
		ProtocolVersion:  protocolVersion,
		NewestBlock: func() (*chainhash.Hash, int32, error) {
			return chaincfg.RegressionNetParams.GenesisHash, responderHeight, nil
		},
		// Self-connection detection uses a package-level set of the
		// nonces this process sent. The benchmark runs btcd's outbound
		// peer in the same process, so the responder would see its own
		// process's nonce and hang up. Our library's nonces never enter
		// that set, so this changes nothing for it.
		AllowSelfConns: true,
	}
}

// inboundConn is what the responder saw on one accepted connection.
type inboundConn struct {
	Peer *peer.Peer
	// Version is the client's version message, set before VersionSeen
	// is closed.
	Version     *wire.MsgVersion
	VersionSeen chan struct{}
	// SendAddrV2 reports whether the client sent sendaddrv2 (btcd records
	// it only when the negotiated version is at least 70016).
	SendAddrV2 atomic.Bool
	// Verack is closed when btcd's peer got the client's verack: the
	// handshake is complete from btcd's side too.
	Verack     chan struct{}
	verackOnce sync.Once // btcd calls OnVerAck for every verack
}

// responder serves btcd's peer package as an inbound node on loopback: each
// accepted connection gets peer.NewInboundPeer + AssociateConnection, exactly
// as btcd's server does.
type responder struct {
	Addr string

	ln         net.Listener
	cfg        peer.Config
	acceptDone chan struct{}
	peersDone  sync.WaitGroup

	mu    sync.Mutex
	conns map[*peer.Peer]*inboundConn
	// accepted receives every inboundConn when observing is on; tests
	// read it, benchmarks leave it nil.
	accepted chan *inboundConn
}

// startResponder serves cfg on a fresh loopback port until the test or
// benchmark ends. With observe, Next returns each accepted connection.
func startResponder(tb testing.TB, cfg peer.Config, observe bool) *responder {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r := &responder{
		Addr:       ln.Addr().String(),
		ln:         ln,
		acceptDone: make(chan struct{}),
		conns:      make(map[*peer.Peer]*inboundConn),
	}
	if observe {
		r.accepted = make(chan *inboundConn, 16)
	}
	cfg.Listeners.OnVersion = func(p *peer.Peer, msg *wire.MsgVersion) *wire.MsgReject {
		if c := r.lookup(p); c != nil {
			c.Version = msg
			close(c.VersionSeen)
		}
		return nil
	}
	cfg.Listeners.OnSendAddrV2 = func(p *peer.Peer, _ *wire.MsgSendAddrV2) {
		if c := r.lookup(p); c != nil {
			c.SendAddrV2.Store(true)
		}
	}
	cfg.Listeners.OnVerAck = func(p *peer.Peer, _ *wire.MsgVerAck) {
		if c := r.lookup(p); c != nil {
			c.verackOnce.Do(func() { close(c.Verack) })
		}
	}
	r.cfg = cfg
	go r.serve()
	tb.Cleanup(r.close)
	return r
}

func (r *responder) serve() {
	defer close(r.acceptDone)
	for {
		conn, err := r.ln.Accept()
		if err != nil {
			return // the listener was closed
		}
		p := peer.NewInboundPeer(&r.cfg)
		c := &inboundConn{Peer: p, VersionSeen: make(chan struct{}), Verack: make(chan struct{})}
		r.mu.Lock()
		r.conns[p] = c
		r.mu.Unlock()
		// Forget the peer once it has disconnected, so a benchmark's
		// millions of connections do not pile up.
		r.peersDone.Add(1)
		go func() {
			defer r.peersDone.Done()
			<-p.Done()
			r.mu.Lock()
			delete(r.conns, p)
			r.mu.Unlock()
		}()
		if r.accepted != nil {
			select {
			case r.accepted <- c:
			default: // nobody is looking
			}
		}
		p.AssociateConnection(conn)
	}
}

func (r *responder) lookup(p *peer.Peer) *inboundConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns[p]
}

// Next returns the next connection the responder accepted.
func (r *responder) Next(ctx context.Context) (*inboundConn, error) {
	select {
	case c := <-r.accepted:
		return c, nil
	case <-ctx.Done():
		return nil, errors.New("the responder accepted no connection")
	}
}

// close stops accepting, disconnects every peer still connected and waits
// until btcd has closed each peer's quit channel. The peers' remaining
// goroutines exit right after, which goleak's retries allow for.
func (r *responder) close() {
	r.ln.Close()
	<-r.acceptDone
	r.mu.Lock()
	for p := range r.conns {
		p.Disconnect()
	}
	r.mu.Unlock()
	r.peersDone.Wait()
}
