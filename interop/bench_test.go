package interop

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/peer"
	"github.com/btcsuite/btcd/wire/v2"
)

// The two benchmarks perform the same version/verack exchange, at protocol
// 70016, against the same responder: btcd's peer package as an inbound node
// in this process (startResponder). One op is: a TCP connect over loopback,
// the full handshake, and the close. Both sides run in this process, so
// ns/op, B/op and allocs/op include the responder's work as well as the
// client's; the responder's share is the same in both, so the difference
// between the two numbers is the difference between the clients.

// BenchmarkDial measures handshake.Dial: it returns once the peer's verack
// has arrived, and closes the connection before returning.
func BenchmarkDial(b *testing.B) {
	r := startResponder(b, responderConfig(0), false)
	opts := handshake.Options{ChainParams: &chaincfg.RegressionNetParams, Transport: handshake.TransportV1}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		res, err := handshake.Dial(ctx, r.Addr, opts)
		if err != nil {
			b.Fatal(err)
		}
		if res.NegotiatedVersion != wire.AddrV2Version {
			b.Fatalf("negotiated %d", res.NegotiatedVersion)
		}
	}
}

// BenchmarkPeerPackage measures btcd's client for the same job: net.Dial,
// peer.NewOutboundPeer and AssociateConnection, waiting for OnVerAck (btcd's
// equivalent of the peer's verack arriving), then Disconnect and
// WaitForDisconnect. It also pays for what btcd's peer does on success: it
// starts its five message-handling goroutines, which exit again on
// Disconnect.
func BenchmarkPeerPackage(b *testing.B) {
	r := startResponder(b, responderConfig(0), false)
	verack := make(chan struct{}, 1)
	cfg := peer.Config{
		UserAgentName:    "bench",
		UserAgentVersion: "1.0",
		ChainParams:      &chaincfg.RegressionNetParams,
		ProtocolVersion:  peer.MaxProtocolVersion,
		Listeners: peer.MessageListeners{
			OnVerAck: func(*peer.Peer, *wire.MsgVerAck) { verack <- struct{}{} },
		},
		// The responder's nonce is in this process's set of sent
		// nonces; see responderConfig.
		AllowSelfConns: true,
	}
	var d net.Dialer
	// One deadline for the whole run, so that the loop adds no timer
	// allocations of its own to btcd's numbers.
	ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		conn, err := d.DialContext(ctx, "tcp", r.Addr)
		if err != nil {
			b.Fatal(err)
		}
		p, err := peer.NewOutboundPeer(&cfg, r.Addr)
		if err != nil {
			b.Fatal(err)
		}
		p.AssociateConnection(conn)
		select {
		case <-verack:
		case <-p.Done():
			b.Fatal("btcd's outbound peer disconnected before the verack")
		case <-ctx.Done():
			b.Fatal("no verack")
		}
		p.Disconnect()
		p.WaitForDisconnect()
	}
}
