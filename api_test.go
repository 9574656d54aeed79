package handshake_test

import (
	"context"
	"errors"
	"math"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// TestPeerVersionNegative: PeerVersion.ProtocolVersion is a uint32 like the
// other protocol versions, yet a version negative on the wire (as Bitcoin
// Core reads it) is still too old, however low MinPeerVersion is; the
// Result keeps the four bytes as sent.
func TestPeerVersionNegative(t *testing.T) {
	t.Parallel()
	for _, pver := range []int32{-1, math.MinInt32} {
		client, server := net.Pipe()
		ctx := testContext(t, 5*time.Second)
		var wg sync.WaitGroup
		wg.Go(func() {
			handshaketest.Serve(ctx, server, handshaketest.Config{Handler: func(ctx context.Context, hc *handshaketest.Conn) error {
				v := hc.Version()
				v.ProtocolVersion = pver
				return hc.WriteMessage(v)
			}})
		})
		res, err := handshake.Handshake(ctx, client, handshake.Options{MinPeerVersion: 1})
		client.Close()
		wg.Wait()
		if !errors.Is(err, handshake.ErrPeerTooOld) || res.Status != handshake.StatusPartiallyOK {
			t.Errorf("version %d: %v, %v; want ErrPeerTooOld", pver, res.Status, err)
		}
		if res.Peer.ProtocolVersion != uint32(pver) || res.NegotiatedVersion != 0 {
			t.Errorf("version %d: Peer.ProtocolVersion %d, negotiated %d; want %d, 0",
				pver, res.Peer.ProtocolVersion, res.NegotiatedVersion, uint32(pver))
		}
	}
}

// TestTransportNeverAuto: a Result names the transport tried, v1 or v2, also
// when the call failed before trying any.
func TestTransportNeverAuto(t *testing.T) {
	t.Parallel()
	bad := handshake.Options{UserAgent: string(make([]byte, 1000))} // invalid: fails at StepOptions
	for _, tt := range []struct {
		name string
		opts handshake.Options
		call func(handshake.Options) (handshake.Result, error)
		want handshake.Transport
	}{
		{"Dial auto", bad, dialLoopback, handshake.TransportV2},
		{"Dial v1", withTransport(bad, handshake.TransportV1), dialLoopback, handshake.TransportV1},
		{"Handshake auto", bad, handshakePipe, handshake.TransportV1},
		{"Handshake v2", withTransport(bad, handshake.TransportV2), handshakePipe, handshake.TransportV2},
		{"invalid transport", withTransport(handshake.Options{}, 9), dialLoopback, handshake.TransportV2},
	} {
		res, err := tt.call(tt.opts)
		var he *handshake.Error
		if !errors.As(err, &he) || he.Step != handshake.StepOptions || res.Transport != tt.want {
			t.Errorf("%s: %v, Transport %v; want an options error and %v", tt.name, err, res.Transport, tt.want)
		}
	}

	// A sweep cancelled before dialling reports the transport too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var got []handshake.Result
	handshake.Sweep(ctx, handshake.SweepOptions{Addrs: []string{"127.0.0.1:1"}}, func(r handshake.Result) { got = append(got, r) })
	if len(got) != 1 || got[0].Transport != handshake.TransportV2 {
		t.Errorf("cancelled sweep: %+v; want one Result over v2", got)
	}
}

func withTransport(o handshake.Options, t handshake.Transport) handshake.Options {
	o.Transport = t
	return o
}

// dialLoopback dials an address nothing is asked of: every use fails on its
// options first.
func dialLoopback(o handshake.Options) (handshake.Result, error) {
	return handshake.Dial(context.Background(), "127.0.0.1:1", o)
}

func handshakePipe(o handshake.Options) (handshake.Result, error) {
	client, server := net.Pipe()
	defer server.Close()
	defer client.Close()
	return handshake.Handshake(context.Background(), client, o)
}
