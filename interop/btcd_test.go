package interop

import (
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/bitcoin-handshake/handshake"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// What the btcd node pinned in go.mod announces.
const (
	// btcdVersion is the module version the expectations below are for.
	btcdVersion = "v0.26.2"

	// btcdUserAgent: server.go passes userAgentName "btcd" and
	// userAgentVersion "major.minor.patch" from version.go (without the
	// "-beta" pre-release that --version prints) to the peer package,
	// which appends them to wire's "/btcwire:0.5.0/".
	btcdUserAgent = "/btcwire:0.5.0/btcd:0.26.2/"

	// btcdServices is server.go's defaultServices less SFNodeP2PV2, which
	// newServer clears unless --v2transport is given. Regtest changes
	// nothing, and the harness passes no flag that clears others.
	btcdServices = wire.SFNodeNetwork | wire.SFNodeNetworkLimited | wire.SFNodeBloom |
		wire.SFNodeWitness | wire.SFNodeCF
)

// TestBtcdVersion keeps the constants above honest: bumping btcd in go.mod
// fails here first, pointing at what to re-check. It also shows the build
// produced a runnable node.
func TestBtcdVersion(t *testing.T) {
	t.Parallel()
	bin := btcdBinary(t) // before the context: a cold build takes a while
	out, err := exec.CommandContext(testContext(t), bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("btcd --version: %v\n%s", err, out)
	}
	// version.go: "major.minor.patch-beta"; the user agent drops "-beta".
	want := "btcd version " + strings.TrimPrefix(btcdVersion, "v") + "-beta"
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("btcd --version = %q, want %q: go.mod changed btcd? Re-check btcdUserAgent and btcdServices against its version.go and server.go", got, want)
	}
}

// TestBtcdNode performs the handshake with a real btcd node in regtest, once
// without and once with --v2transport. A v2 node reads the first bytes of
// each inbound connection and, on a v1 version message for its network,
// falls back to v1 (v2transport.RespondV2Handshake), so our v1 handshake must
// complete with both; the v2 node also advertises NODE_P2P_V2.
func TestBtcdNode(t *testing.T) {
	t.Parallel()
	variants := []struct {
		name         string
		cfg          btcdConfig
		wantServices wire.ServiceFlag
		// wantWrongNet is what a mainnet Dial gets; see below.
		wantWrongNet error
	}{
		{
			name:         "v1",
			wantServices: btcdServices,
			// btcd reads our header, sees mainnet's magic, drops the
			// payload and closes the connection without writing:
			// there is no magic of its to compare, only a close.
			wantWrongNet: handshake.ErrPeerClosed,
		},
		{
			name:         "v2transport",
			cfg:          btcdConfig{V2Transport: true},
			wantServices: btcdServices | wire.SFNodeP2PV2,
			// Our first byte (mainnet magic) differs from the v1
			// prefix it expects, so btcd assumes a BIP 324 initiator
			// and answers with its 64-byte ElligatorSwift key plus
			// garbage before hanging up. We read those random bytes
			// as a v1 header whose magic is not regtest's.
			wantWrongNet: handshake.ErrWrongNetwork,
		},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			node := startBtcd(t, v.cfg)
			// The v1 exchange and its exact byte counts are under
			// test here; TestBtcdNodeTransports covers v2.
			regtest := handshake.Options{ChainParams: &chaincfg.RegressionNetParams, Transport: handshake.TransportV1}

			// A fresh node is at the genesis block; relay is on unless
			// --blocksonly; btcd announces peer.MaxProtocolVersion.
			want := wantPeer{
				UserAgent:        btcdUserAgent,
				Services:         v.wantServices,
				StartHeight:      0,
				ProtocolVersion:  70016,
				Relay:            true,
				AddrFromServices: v.wantServices,
				Negotiated:       70016,
				// btcd never sends wtxidrelay (wire/v2 has no decoder
				// for it, and btcd skips ours as unknown).
				Features: []string{wire.CmdSendAddrV2},
			}

			t.Run("Dial", func(t *testing.T) {
				t.Parallel()
				d := &recordingDialer{}
				opts := regtest
				opts.Dialer = d
				res, err := handshake.Dial(testContext(t), node.Addr, opts)
				w := want
				w.Dialed = true
				w.AddrRecv = d.Local()
				checkCompleted(t, res, err, node.Addr, w)
			})

			t.Run("Handshake", func(t *testing.T) {
				t.Parallel()
				ctx := testContext(t)
				var d net.Dialer
				conn, err := d.DialContext(ctx, "tcp", node.Addr)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				res, err := handshake.Handshake(ctx, conn, regtest)
				w := want
				w.AddrRecv = conn.LocalAddr().(*net.TCPAddr).AddrPort()
				checkCompleted(t, res, err, conn.RemoteAddr().String(), w)
			})

			t.Run("ProtocolVersion70015", func(t *testing.T) {
				t.Parallel()
				opts := regtest
				opts.ProtocolVersion = 70015
				res, err := handshake.Dial(testContext(t), node.Addr, opts)
				w := want
				w.Dialed = true
				w.Negotiated = 70015
				w.Features = nil // sendaddrv2 needs 70016 on both sides
				checkCompleted(t, res, err, node.Addr, w)
			})

			t.Run("WrongNetwork", func(t *testing.T) {
				t.Parallel()
				res, err := handshake.Dial(testContext(t), node.Addr, handshake.Options{ChainParams: &chaincfg.MainNetParams, Transport: handshake.TransportV1})
				checkFailed(t, res, err, v.wantWrongNet, handshake.StepReadVersion, handshake.StatusFailed)
				if len(res.Received) != 0 {
					t.Errorf("Received = %q, want nothing", res.Received)
				}
			})
		})
	}
}
