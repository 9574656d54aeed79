package interop

import (
	"errors"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
)

// TestBtcdNodeTransports runs each Transport against the real btcd node with
// and without --v2transport: Auto and V2 complete over v2 where btcd speaks
// it, Auto falls back to v1 where it does not, and V2 then fails with
// ErrV1Only.
func TestBtcdNodeTransports(t *testing.T) {
	t.Parallel()
	for _, v := range []struct {
		name string
		cfg  btcdConfig
		// want maps each Transport we ask for to what the exchange
		// uses; 0 means ErrV1Only.
		want     map[handshake.Transport]handshake.Transport
		fallback bool // Auto falls back
	}{
		{
			name: "v2transport",
			cfg:  btcdConfig{V2Transport: true},
			want: map[handshake.Transport]handshake.Transport{
				handshake.TransportAuto: handshake.TransportV2,
				handshake.TransportV2:   handshake.TransportV2,
				handshake.TransportV1:   handshake.TransportV1,
			},
		},
		{
			name: "v1 only",
			want: map[handshake.Transport]handshake.Transport{
				handshake.TransportAuto: handshake.TransportV1,
				handshake.TransportV2:   0,
				handshake.TransportV1:   handshake.TransportV1,
			},
			fallback: true,
		},
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			node := startBtcd(t, v.cfg)
			for asked, want := range v.want {
				t.Run(asked.String(), func(t *testing.T) {
					t.Parallel()
					res, err := handshake.Dial(testContext(t), node.Addr, handshake.Options{
						ChainParams: &chaincfg.RegressionNetParams,
						Transport:   asked,
					})
					if want == 0 {
						var he *handshake.Error
						if !errors.Is(err, handshake.ErrV1Only) || !errors.As(err, &he) || he.Step != handshake.StepKeyExchange {
							t.Fatalf("err = %v, want ErrV1Only at the key exchange", err)
						}
						return
					}
					if err != nil || res.Status != handshake.StatusOK {
						t.Fatalf("Dial = %v, %v", res.Status, err)
					}
					if res.Transport != want {
						t.Errorf("Transport = %v, want %v", res.Transport, want)
					}
					if res.Peer.UserAgent != btcdUserAgent || res.NegotiatedVersion != 70016 {
						t.Errorf("peer %q at %d", res.Peer.UserAgent, res.NegotiatedVersion)
					}
					if (want == handshake.TransportV2) != (len(res.SessionID) == 64) {
						t.Errorf("SessionID %q over %v", res.SessionID, res.Transport)
					}
					if wantFallback := v.fallback && asked == handshake.TransportAuto; wantFallback != (res.Fallback != "") {
						t.Errorf("Fallback = %q, want one: %v", res.Fallback, wantFallback)
					}
					if v.cfg.V2Transport && !res.Peer.Services.HasFlag(wire.SFNodeP2PV2) {
						t.Errorf("services %v lack P2P_V2", res.Peer.Services)
					}
				})
			}
		})
	}
}

// TestPeerPackageV2 handshakes with btcd's peer package serving inbound
// connections in this process with its v2 transport: Auto speaks v2 to it,
// and both ends agree on the session.
func TestPeerPackageV2(t *testing.T) {
	t.Parallel()
	cfg := responderConfig(0)
	cfg.UsingV2Conn = true
	cfg.Services |= wire.SFNodeP2PV2 // btcd's peer speaks v2 only when it advertises it
	r := startResponder(t, cfg, true)
	res, err := handshake.Dial(testContext(t), r.Addr, handshake.Options{ChainParams: &chaincfg.RegressionNetParams})
	if err != nil || res.Status != handshake.StatusOK {
		t.Fatalf("Dial = %v, %v", res.Status, err)
	}
	if res.Transport != handshake.TransportV2 || res.Fallback != "" || len(res.SessionID) != 64 {
		t.Errorf("Transport %v, Fallback %q, SessionID %q: want v2 without fallback", res.Transport, res.Fallback, res.SessionID)
	}
	if res.Peer.UserAgent != responderUserAgent || res.Peer.StartHeight != responderHeight {
		t.Errorf("peer %q at %d", res.Peer.UserAgent, res.Peer.StartHeight)
	}
	in, err := r.Next(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if in.Peer.V2Transport == nil {
		t.Fatal("btcd's peer has no v2 transport")
	}
}
