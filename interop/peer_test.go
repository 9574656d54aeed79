package interop

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/peer"
	"github.com/btcsuite/btcd/wire/v2"
)

// TestPeerPackageInbound dials btcd's peer package serving as an inbound node
// in-process, and checks both what we report about it and what it recorded
// about us.
func TestPeerPackageInbound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// responderVersion is the version btcd announces; 0 is its
		// maximum, 70016.
		responderVersion uint32
		opts             handshake.Options // ChainParams and Dialer are set below
		wantPeerVersion  uint32
		wantNegotiated   uint32
		// wantFeatures: btcd sends sendaddrv2 before its verack when the
		// negotiated version is at least 70016, and never wtxidrelay.
		wantFeatures []string
	}{
		{
			name:            "defaults",
			wantPeerVersion: 70016,
			wantNegotiated:  70016,
			wantFeatures:    []string{wire.CmdSendAddrV2},
		},
		{
			name:            "we announce 70015",
			opts:            handshake.Options{ProtocolVersion: 70015},
			wantPeerVersion: 70016,
			wantNegotiated:  70015,
		},
		{
			// btcd rejects sendaddrv2 below 70016 and disconnects, so
			// this also checks that we send no feature messages then.
			name:             "btcd announces 70015",
			responderVersion: 70015,
			wantPeerVersion:  70015,
			wantNegotiated:   70015,
		},
		{
			name: "our version fields",
			opts: handshake.Options{
				Services:    wire.SFNodeNetworkLimited | wire.SFNodeWitness,
				UserAgent:   "/interop-client:2.0(test)/",
				StartHeight: 77,
				Relay:       true,
			},
			wantPeerVersion: 70016,
			wantNegotiated:  70016,
			wantFeatures:    []string{wire.CmdSendAddrV2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			r := startResponder(t, responderConfig(tc.responderVersion), true)

			d := &recordingDialer{}
			opts := tc.opts
			opts.ChainParams = &chaincfg.RegressionNetParams
			opts.Dialer = d
			// This responder speaks v1 only, and the byte counts
			// checked are v1's: no v2 attempt first.
			opts.Transport = handshake.TransportV1
			res, err := handshake.Dial(ctx, r.Addr, opts)
			checkCompleted(t, res, err, r.Addr, wantPeer{
				UserAgent:       responderUserAgent,
				Services:        responderServices,
				StartHeight:     responderHeight,
				ProtocolVersion: tc.wantPeerVersion,
				Relay:           true,
				AddrRecv:        d.Local(),
				// addr_from carries btcd's services and nothing else.
				AddrFromServices: responderServices,
				Negotiated:       tc.wantNegotiated,
				Features:         tc.wantFeatures,
				Dialed:           true,
				OurUserAgent:     opts.UserAgent,
			})

			// btcd's side of the same connection.
			in, err := r.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wait(ctx, t, in.VersionSeen, "btcd to read our version")
			wait(ctx, t, in.Verack, "btcd to accept our verack (btcd hung up mid-handshake?)")
			checkOurVersion(t, in.Version, opts, netip.MustParseAddrPort(r.Addr))
			wantSendAddrV2 := tc.wantNegotiated >= wire.AddrV2Version
			if got := in.SendAddrV2.Load(); got != wantSendAddrV2 {
				t.Errorf("btcd got sendaddrv2 = %v, want %v", got, wantSendAddrV2)
			}
			// btcd counts the bytes it reads and writes itself.
			if got := int64(in.Peer.BytesReceived()); got != res.BytesSent {
				t.Errorf("btcd received %d bytes, we report sending %d", got, res.BytesSent)
			}
			if got := int64(in.Peer.BytesSent()); got != res.BytesReceived {
				t.Errorf("btcd sent %d bytes, we report receiving %d", got, res.BytesReceived)
			}
			if got := in.Peer.ProtocolVersion(); got != tc.wantNegotiated {
				t.Errorf("btcd negotiated %d, we %d", got, tc.wantNegotiated)
			}
		})
	}
}

// checkOurVersion asserts the version message btcd decoded from us.
func checkOurVersion(t *testing.T, v *wire.MsgVersion, opts handshake.Options, peerAddr netip.AddrPort) {
	t.Helper()
	wantVersion := opts.ProtocolVersion
	if wantVersion == 0 {
		wantVersion = handshake.DefaultProtocolVersion // 70017: BIP434
	}
	wantUA := opts.UserAgent
	if wantUA == "" {
		wantUA = handshake.DefaultUserAgent
	}
	if uint32(v.ProtocolVersion) != wantVersion {
		t.Errorf("btcd saw ProtocolVersion %d, want %d", v.ProtocolVersion, wantVersion)
	}
	if v.UserAgent != wantUA {
		t.Errorf("btcd saw UserAgent %q, want %q", v.UserAgent, wantUA)
	}
	if v.Services != opts.Services {
		t.Errorf("btcd saw Services %v, want %v", v.Services, opts.Services)
	}
	if v.LastBlock != opts.StartHeight {
		t.Errorf("btcd saw LastBlock %d, want %d", v.LastBlock, opts.StartHeight)
	}
	if v.DisableRelayTx == opts.Relay {
		t.Errorf("btcd saw DisableRelayTx %v with Options.Relay %v", v.DisableRelayTx, opts.Relay)
	}
	if v.Nonce == 0 {
		t.Error("btcd saw nonce 0")
	}
	if d := time.Since(v.Timestamp); d < -time.Minute || d > time.Minute {
		t.Errorf("btcd saw Timestamp %v, %v from now", v.Timestamp, d)
	}
	// addr_recv is the peer as we see it only when that is routable,
	// never on loopback; addr_from is empty but for our services: both as
	// in Bitcoin Core's PushNodeVersion.
	you, _ := netip.AddrFromSlice(v.AddrYou.IP)
	if !you.IsUnspecified() || v.AddrYou.Port != 0 || !peerAddr.Addr().IsLoopback() {
		t.Errorf("btcd saw AddrYou %v:%d, want [::]:0 for its loopback address %v", you, v.AddrYou.Port, peerAddr)
	}
	me, _ := netip.AddrFromSlice(v.AddrMe.IP)
	if !me.IsUnspecified() || v.AddrMe.Port != 0 || v.AddrMe.Services != opts.Services {
		t.Errorf("btcd saw AddrMe %v:%d services %v, want an unspecified address, port 0, services %v",
			me, v.AddrMe.Port, v.AddrMe.Services, opts.Services)
	}
}

// TestPeerPackageOutbound runs Handshake on the accepting end of a connection
// that btcd's peer package opened as an outbound peer, so btcd sends its
// version first, unprompted, at the same time as we send ours.
func TestPeerPackageOutbound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		btcd  *chaincfg.Params // btcd's network
		check func(t *testing.T, res handshake.Result, err error, conn net.Conn)
	}{
		{
			name: "same network",
			btcd: &chaincfg.RegressionNetParams,
			check: func(t *testing.T, res handshake.Result, err error, conn net.Conn) {
				checkCompleted(t, res, err, conn.RemoteAddr().String(), wantPeer{
					UserAgent:       responderUserAgent,
					Services:        responderServices,
					StartHeight:     responderHeight,
					ProtocolVersion: 70016,
					Relay:           true,
					// btcd's outbound peer reports the address it
					// dialled: the listener's, our accepting end.
					AddrRecv:         conn.LocalAddr().(*net.TCPAddr).AddrPort(),
					AddrFromServices: responderServices,
					Negotiated:       70016,
					Features:         []string{wire.CmdSendAddrV2},
				})
			},
		},
		{
			// btcd's version arrives with mainnet's magic: the one case
			// where a real peer's bytes, not its silence, tell us the
			// network is wrong.
			name: "btcd on mainnet",
			btcd: &chaincfg.MainNetParams,
			check: func(t *testing.T, res handshake.Result, err error, _ net.Conn) {
				checkFailed(t, res, err, handshake.ErrWrongNetwork, handshake.StepReadVersion, handshake.StatusFailed)
				if len(res.Received) != 0 {
					t.Errorf("Received = %q, want nothing", res.Received)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			btcdConn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			ourConn, err := ln.Accept()
			if err != nil {
				btcdConn.Close()
				t.Fatal(err)
			}
			defer ourConn.Close()

			cfg := responderConfig(0)
			cfg.ChainParams = tc.btcd
			p, err := peer.NewOutboundPeer(&cfg, ln.Addr().String())
			if err != nil {
				btcdConn.Close()
				t.Fatal(err)
			}
			p.AssociateConnection(btcdConn)
			// Wait for btcd's goroutines so goleak sees none left.
			defer p.WaitForDisconnect()
			defer p.Disconnect()

			res, err := handshake.Handshake(ctx, ourConn, handshake.Options{ChainParams: &chaincfg.RegressionNetParams})
			tc.check(t, res, err, ourConn)
		})
	}
}

// TestPeerPackageErrors covers failures against btcd's inbound peer.
func TestPeerPackageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       handshake.Options
		wantErr    error
		wantStep   handshake.Step
		wantStatus handshake.Status
	}{
		{
			// btcd reads our header, sees mainnet's magic, discards the
			// payload and hangs up without a word (peer.readMessage ->
			// wire's "message from other network"). Nothing we receive
			// carries a magic, so we can only report the close; the
			// error's Step says it happened before any version.
			name:       "mainnet against regtest",
			opts:       handshake.Options{ChainParams: &chaincfg.MainNetParams},
			wantErr:    handshake.ErrPeerClosed,
			wantStep:   handshake.StepReadVersion,
			wantStatus: handshake.StatusFailed,
		},
		{
			name:       "peer below MinPeerVersion",
			opts:       handshake.Options{ChainParams: &chaincfg.RegressionNetParams, MinPeerVersion: 70017},
			wantErr:    handshake.ErrPeerTooOld,
			wantStep:   handshake.StepReadVersion,
			wantStatus: handshake.StatusPartiallyOK,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			r := startResponder(t, responderConfig(0), false)
			opts := tc.opts
			opts.Transport = handshake.TransportV1
			res, err := handshake.Dial(ctx, r.Addr, opts)
			checkFailed(t, res, err, tc.wantErr, tc.wantStep, tc.wantStatus)
		})
	}
}
