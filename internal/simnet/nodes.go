// Package simnet builds the parts of a simulated network that
// handshaketest's Network lacks, for the crawl farm and the programs'
// demos: nodes on addresses a network namespace routes to its loopback,
// answers to getaddr naming every network (I2P included, which wire's
// NetAddressV2 cannot carry), and onion and I2P nodes behind a
// handshaketest.Proxy.
package simnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// Nodes are fake nodes served with handshaketest.Serve on listeners
// of their own, so that they may listen on IPv6 addresses a network
// namespace routes to its loopback, which handshaketest.NewPeer (loopback
// only) refuses, and count the connections each accepts.
// The zero value is ready; call Close when done.
type Nodes struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	nodes  []*node
}

type node struct {
	ln       net.Listener
	accepted atomic.Int64
}

// Documentation6 is 2001:db8::/32, the IPv6 documentation prefix, which
// no router forwards: nodes may listen there in a network namespace that
// routes it to its loopback (ip -6 route add local 2001:db8::/32 dev lo,
// with net.ipv6.ip_nonlocal_bind=1).
var Documentation6 = netip.MustParsePrefix("2001:db8::/32")

// Listen starts a node on addr ("ip:port") serving cfg. addr must be on
// loopback or in Documentation6.
func (f *Nodes) Listen(addr string, cfg handshaketest.Config) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return err
	}
	ip := ap.Addr()
	if !ip.IsLoopback() && !Documentation6.Contains(ip) {
		return fmt.Errorf("%v is neither loopback nor in %v", ip, Documentation6)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if Documentation6.Contains(ip) {
			return fmt.Errorf("%w (IPv6 nodes need a network namespace routing %v to its loopback, with net.ipv6.ip_nonlocal_bind=1)", err, Documentation6)
		}
		return err
	}
	f.Serve(ln, cfg)
	return nil
}

// Serve serves cfg on ln, a listener the caller made, and closes it on
// Close.
func (f *Nodes) Serve(ln net.Listener, cfg handshaketest.Config) {
	if f.ctx == nil {
		f.ctx, f.cancel = context.WithCancel(context.Background())
	}
	n := &node{ln: ln}
	f.nodes = append(f.nodes, n)
	f.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				if f.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
					return
				}
				// Transient failures such as EMFILE: back off.
				select {
				case <-f.ctx.Done():
					return
				case <-time.After(5 * time.Millisecond):
				}
				continue
			}
			n.accepted.Add(1)
			f.wg.Go(func() { _ = handshaketest.Serve(f.ctx, c, cfg) })
		}
	})
}

// Len is the number of nodes.
func (f *Nodes) Len() int { return len(f.nodes) }

// Accepted returns the connections accepted by all the nodes, and by the
// busiest one.
func (f *Nodes) Accepted() (total, most int) {
	for _, n := range f.nodes {
		a := int(n.accepted.Load())
		total, most = total+a, max(most, a)
	}
	return total, most
}

// Close stops every node and waits for their goroutines.
func (f *Nodes) Close() {
	if f.cancel == nil {
		return
	}
	f.cancel()
	for _, n := range f.nodes {
		n.ln.Close()
	}
	f.wg.Wait()
}

// Gossiper returns a Handler answering as a Core node does, after a delay
// modelling the path to it: on the client's version, its version,
// wtxidrelay, sendaddrv2 and verack; then payload, an addrv2 message, to
// each getaddr (see Payload) and a pong to each ping. It stands in for the Core
// behaviour because its answer must carry I2P addresses, which wire's
// NetAddressV2 (and so Config.Addrs) cannot.
func Gossiper(delay time.Duration, payload []byte) func(context.Context, *handshaketest.Conn) error {
	return func(ctx context.Context, c *handshaketest.Conn) error {
		if _, err := c.ReadVersion(); err != nil {
			return err
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if err := c.WriteMessage(c.Version()); err != nil {
			return err
		}
		for _, cmd := range []string{wire.CmdWTxIdRelay, wire.CmdSendAddrV2, wire.CmdVerAck} {
			if err := c.WriteCommand(cmd, nil); err != nil {
				return err
			}
		}
		for {
			cmd, p, err := c.ReadMessage()
			if err != nil {
				return err
			}
			switch cmd {
			case wire.CmdGetAddr:
				err = c.WriteCommand(wire.CmdAddrV2, payload)
			case wire.CmdPing:
				err = c.WriteCommand(wire.CmdPong, p)
			}
			if err != nil {
				return err
			}
		}
	}
}
