package handshake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"go.uber.org/goleak"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// replayPeerEnv makes the test binary serve as the benchmarks' peer.
const replayPeerEnv = "HANDSHAKE_REPLAY_PEER"

func TestMain(m *testing.M) {
	if os.Getenv(replayPeerEnv) == "1" {
		runReplayPeer()
	}
	if spec := os.Getenv(sweepPeersEnv); spec != "" {
		runSweepPeers(spec)
	}
	goleak.VerifyTestMain(m)
}

// startPeer starts a fake node and stops it when the test ends.
func startPeer(t testing.TB, cfg handshaketest.Config) *handshaketest.Peer {
	t.Helper()
	p, err := handshaketest.NewPeer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestDialBehaviours(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		peer     handshaketest.Config
		opts     handshake.Options
		status   handshake.Status
		err      error // nil: success
		step     handshake.Step
		received []string
		features []string
	}{
		{
			name:     "bitcoin core order",
			peer:     handshaketest.Config{Behavior: handshaketest.Core, UserAgent: "/Satoshi:27.1.0/", StartHeight: 870000, Services: wire.SFNodeNetwork | wire.SFNodeWitness},
			status:   handshake.StatusOK,
			received: []string{"version", "wtxidrelay", "sendaddrv2", "verack"},
			features: []string{"wtxidrelay", "sendaddrv2"},
		},
		{
			name:     "btcd order",
			peer:     handshaketest.Config{Behavior: handshaketest.Btcd},
			status:   handshake.StatusOK,
			received: []string{"version", "sendaddrv2", "verack"},
			features: []string{"sendaddrv2"},
		},
		{
			name:   "garbage",
			peer:   handshaketest.Config{Behavior: handshaketest.Garbage},
			status: handshake.StatusFailed,
			err:    handshake.ErrWrongNetwork,
			step:   handshake.StepReadVersion,
		},
		{
			name:   "slow drip past the deadline",
			peer:   handshaketest.Config{Behavior: handshaketest.SlowDrip, DripInterval: 50 * time.Millisecond},
			opts:   handshake.Options{Timeout: 300 * time.Millisecond},
			status: handshake.StatusFailed,
			err:    context.DeadlineExceeded,
			step:   handshake.StepReadVersion,
		},
		{
			name:     "bcoin at 70015",
			peer:     handshaketest.Config{Behavior: handshaketest.Bcoin},
			status:   handshake.StatusOK,
			received: []string{"version", "verack"},
			features: []string{},
		},
		{
			name:     "old peer at 70001",
			peer:     handshaketest.Config{Behavior: handshaketest.Old},
			status:   handshake.StatusOK,
			received: []string{"version", "verack"},
			features: []string{},
		},
		{
			// Core ignores it: "non-version message before version
			// handshake".
			name:     "verack before version",
			peer:     handshaketest.Config{Behavior: handshaketest.VerackBeforeVersion},
			status:   handshake.StatusOK,
			received: []string{"verack", "version", "verack"},
			features: []string{},
		},
		{
			name:   "wrong magic",
			peer:   handshaketest.Config{Behavior: handshaketest.WrongMagic},
			status: handshake.StatusFailed,
			err:    handshake.ErrWrongNetwork,
			step:   handshake.StepReadVersion,
		},
		{
			// Core's V1Transport drops the message and waits on.
			name:     "bad checksum",
			peer:     handshaketest.Config{Behavior: handshaketest.BadChecksum},
			opts:     handshake.Options{Timeout: time.Second},
			status:   handshake.StatusFailed,
			err:      context.DeadlineExceeded,
			step:     handshake.StepReadVersion,
			received: []string{"version"},
		},
		{
			name:   "silence times out",
			peer:   handshaketest.Config{Behavior: handshaketest.Silent},
			opts:   handshake.Options{Timeout: time.Second},
			status: handshake.StatusFailed,
			err:    context.DeadlineExceeded,
			step:   handshake.StepReadVersion,
		},
		{
			name:     "close after version",
			peer:     handshaketest.Config{Behavior: handshaketest.CloseAfterVersion},
			status:   handshake.StatusPartiallyOK,
			err:      handshake.ErrPeerClosed,
			step:     handshake.StepReadVerack,
			received: []string{"version"},
			features: []string{},
		},
		{
			name:     "self connection",
			peer:     handshaketest.Config{Behavior: handshaketest.SelfEcho},
			status:   handshake.StatusPartiallyOK,
			err:      handshake.ErrSelfConnection,
			step:     handshake.StepReadVersion,
			received: []string{"version"},
			features: []string{},
		},
		{
			name:     "too old",
			peer:     handshaketest.Config{Behavior: handshaketest.TooOld},
			status:   handshake.StatusPartiallyOK,
			err:      handshake.ErrPeerTooOld,
			step:     handshake.StepReadVersion,
			received: []string{"version"},
			features: []string{},
		},
		{
			name:   "flood of unknown messages",
			peer:   handshaketest.Config{Behavior: handshaketest.UnknownFlood},
			status: handshake.StatusPartiallyOK,
			err:    handshake.ErrLimitExceeded,
			step:   handshake.StepReadVerack,
		},
		{
			name:   "oversized claimed payload",
			peer:   handshaketest.Config{Behavior: handshaketest.OversizedPayload},
			status: handshake.StatusFailed,
			err:    handshake.ErrMessageTooLarge,
			step:   handshake.StepReadVersion,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			peer := startPeer(t, tt.peer)
			tt.opts.Transport = handshake.TransportV1 // the v1 framing is under test
			res, err := handshake.Dial(testContext(t, 10*time.Second), peer.Addr(), tt.opts)

			if res.Status != tt.status {
				t.Errorf("Status = %v, want %v (err %v)", res.Status, tt.status, err)
			}
			if res.Addr != peer.Addr() {
				t.Errorf("Addr = %q, want %q", res.Addr, peer.Addr())
			}
			if res.Err != err {
				t.Errorf("Result.Err = %v, want the returned error %v", res.Err, err)
			}
			if tt.err == nil {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
			} else {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Dial error = %v, want errors.Is %v", err, tt.err)
				}
				var he *handshake.Error
				if !errors.As(err, &he) || he.Step != tt.step || he.Addr != peer.Addr() {
					t.Fatalf("Dial error = %#v, want *Error at step %q for %s", err, tt.step, peer.Addr())
				}
				if !strings.HasPrefix(err.Error(), "handshake: "+peer.Addr()+": ") {
					t.Errorf("error string %q does not start with the prefix and address", err)
				}
			}
			if tt.received != nil && !slices.Equal(res.Received, tt.received) {
				t.Errorf("Received = %q, want %q", res.Received, tt.received)
			}
			if tt.features != nil && !slices.Equal(res.Negotiation, tt.features) {
				t.Errorf("Negotiation = %q, want %q", res.Negotiation, tt.features)
			}
			if res.Transport != handshake.TransportV1 {
				t.Errorf("Transport = %v, want v1", res.Transport)
			}
			if res.BytesSent == 0 || res.Timings.Total <= 0 || res.Timings.Connect <= 0 {
				t.Errorf("missing counters: sent %d, timings %+v", res.BytesSent, res.Timings)
			}
			if res.Status == handshake.StatusFailed {
				if res.Peer != (handshake.PeerVersion{}) || res.Timings.PeerVersion != 0 {
					t.Errorf("Failed result carries a peer version: %+v", res.Peer)
				}
				return
			}
			if res.Timings.PeerVersion <= 0 || res.Peer.UserAgent == "" {
				t.Errorf("peer version not recorded: %+v, %+v", res.Peer, res.Timings)
			}
			if res.Status == handshake.StatusOK && (res.Timings.PeerVerack < res.Timings.PeerVersion || res.Timings.Total < res.Timings.PeerVerack) {
				t.Errorf("timings out of order: %+v", res.Timings)
			}
		})
	}
}

// TestCoreOrderRecordsEverything checks each field Dial reports against a
// peer imitating Bitcoin Core, and what we sent it.
func TestCoreOrderRecordsEverything(t *testing.T) {
	t.Parallel()
	cfg := handshaketest.Config{
		Behavior:    handshaketest.Core,
		UserAgent:   "/Satoshi:28.0.0/",
		Services:    wire.SFNodeNetwork | wire.SFNodeWitness | wire.SFNodeNetworkLimited,
		StartHeight: 870123,
	}
	peer := startPeer(t, cfg)
	res, err := handshake.Dial(testContext(t, 10*time.Second), peer.Addr(), handshake.Options{
		UserAgent: "/probe:1.0/", StartHeight: 5, Services: wire.SFNodeWitness,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Peer
	if p.UserAgent != cfg.UserAgent || p.Services != cfg.Services || p.StartHeight != cfg.StartHeight {
		t.Errorf("peer = %q %v %d, want %q %v %d", p.UserAgent, p.Services, p.StartHeight, cfg.UserAgent, cfg.Services, cfg.StartHeight)
	}
	if p.ProtocolVersion != 70016 || res.NegotiatedVersion != 70016 {
		t.Errorf("versions = %d / %d, want 70016", p.ProtocolVersion, res.NegotiatedVersion)
	}
	if p.Nonce == 0 || p.Timestamp.IsZero() || time.Since(p.Timestamp) > time.Hour {
		t.Errorf("nonce %d timestamp %v not recorded", p.Nonce, p.Timestamp)
	}
	// Core names our address only when it is routable: never on loopback.
	if a := p.AddrRecv.Addr; !a.Addr().IsUnspecified() || a.Port() != 0 {
		t.Errorf("AddrRecv = %v, want [::]:0 as Core sends it to a loopback peer", a)
	}
	// Over v2: a 64-byte key, a terminator and the version packet, then
	// version, wtxidrelay, sendaddrv2 and verack, 20 bytes each plus type
	// and payload.
	if res.Transport != handshake.TransportV2 || res.BytesReceived < 64+16+20+4*20+86 {
		t.Errorf("BytesReceived = %d over %v, too small for four messages over v2", res.BytesReceived, res.Transport)
	}
	// We answered as Core does: features before verack.
	waitFor(t, func() bool { return len(peer.Received()) >= 4 })
	if got, want := peer.Received(), []string{"version", "wtxidrelay", "sendaddrv2", "verack"}; !slices.Equal(got[:4], want) {
		t.Errorf("peer received %q, want %q", got, want)
	}
}

func TestNoFeaturesBelow70016(t *testing.T) {
	t.Parallel()
	peer := startPeer(t, handshaketest.Config{Behavior: handshaketest.Core})
	res, err := handshake.Dial(testContext(t, 10*time.Second), peer.Addr(), handshake.Options{ProtocolVersion: 70015})
	if err != nil {
		t.Fatal(err)
	}
	if res.NegotiatedVersion != 70015 {
		t.Errorf("NegotiatedVersion = %d, want 70015", res.NegotiatedVersion)
	}
	// Core sends no feature messages to a 70015 client.
	if !slices.Equal(res.Received, []string{"version", "verack"}) {
		t.Errorf("Received = %q", res.Received)
	}
	waitFor(t, func() bool { return len(peer.Received()) >= 2 })
	if got := peer.Received(); !slices.Equal(got[:2], []string{"version", "verack"}) {
		t.Errorf("peer received %q, want version then verack", got)
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	// v1: the caps are on messages; v2's key exchange has bounds of its own.
	peer := startPeer(t, handshaketest.Config{Behavior: handshaketest.Core, V1Only: true})
	for _, opts := range []handshake.Options{
		{MaxMessages: 3}, // Core sends four before its verack
		{MaxBytes: 150},  // the version alone is over 100 bytes
	} {
		res, err := handshake.Dial(testContext(t, 10*time.Second), peer.Addr(), opts)
		if !errors.Is(err, handshake.ErrLimitExceeded) {
			t.Fatalf("%+v: err = %v, want ErrLimitExceeded", opts, err)
		}
		if opts.MaxBytes > 0 && res.BytesReceived > int64(opts.MaxBytes) {
			t.Errorf("read %d bytes past a cap of %d", res.BytesReceived, opts.MaxBytes)
		}
		if opts.MaxMessages > 0 && len(res.Received) > opts.MaxMessages {
			t.Errorf("read %d messages past a cap of %d", len(res.Received), opts.MaxMessages)
		}
	}
}

// TestCancelUnblocksAtOnce: cancelling the context ends a Dial blocked on a
// silent peer. The cancellation comes once the first read has reached the
// connection, and nothing else bounds the call but a watchdog, whose
// having to end it fails the test.
func TestCancelUnblocksAtOnce(t *testing.T) {
	t.Parallel()
	peer := startPeer(t, handshaketest.Config{Behavior: handshaketest.Silent})
	ctx, cancel := context.WithCancel(context.Background())
	d := &hookDialer{onRead: func() { go cancel() }}
	var fired atomic.Bool
	watchdog := time.AfterFunc(5*time.Second, func() {
		fired.Store(true)
		if c := d.conn.Load(); c != nil {
			c.Close()
		}
	})
	res, err := handshake.Dial(ctx, peer.Addr(), handshake.Options{Timeout: -1, Dialer: d})
	watchdog.Stop()
	if fired.Load() {
		t.Fatalf("the cancellation did not unblock Dial; the watchdog ended it (%v)", err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.Status != handshake.StatusFailed {
		t.Errorf("Status = %v", res.Status)
	}
}

func TestDialErrors(t *testing.T) {
	t.Parallel()
	// A port nobody listens on: bind one, then close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()

	res, err := handshake.Dial(testContext(t, 5*time.Second), refused, handshake.Options{})
	var he *handshake.Error
	if !errors.As(err, &he) || he.Step != handshake.StepConnect || res.Status != handshake.StatusFailed {
		t.Errorf("refused: err = %v, status %v; want a connect-step *Error", err, res.Status)
	}

	_, err = handshake.Dial(testContext(t, 5*time.Second), "127.0.0.1:1", handshake.Options{UserAgent: strings.Repeat("x", 257)})
	if !errors.Is(err, handshake.ErrInvalidOptions) || !errors.As(err, &he) || he.Step != handshake.StepOptions {
		t.Errorf("long user agent: err = %v, want ErrInvalidOptions at the options step", err)
	}
}

// TestBareHostGetsDefaultPort dials a host without a port: the network's
// default port is used.
func TestBareHostGetsDefaultPort(t *testing.T) {
	t.Parallel()
	peer := startPeer(t, handshaketest.Config{Behavior: handshaketest.Old, ChainParams: &chaincfg.RegressionNetParams})
	host, port, _ := net.SplitHostPort(peer.Addr())
	params := chaincfg.RegressionNetParams
	params.DefaultPort = port
	res, err := handshake.Dial(testContext(t, 5*time.Second), host, handshake.Options{ChainParams: &params})
	if err != nil {
		t.Fatal(err)
	}
	if res.Addr != peer.Addr() {
		t.Errorf("Addr = %q, want %q", res.Addr, peer.Addr())
	}
}

// TestHandshakeOverPipe runs over a connection the caller made.
func TestHandshakeOverPipe(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	defer client.Close()
	ctx := testContext(t, 5*time.Second)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer server.Close()
		handshaketest.Serve(ctx, server, handshaketest.Config{Behavior: handshaketest.Core})
	})
	res, err := handshake.Handshake(ctx, client, handshake.Options{})
	client.Close()
	wg.Wait()
	if err != nil || res.Status != handshake.StatusOK {
		t.Fatalf("Handshake = %v, %v", res.Status, err)
	}
	if res.Addr != "pipe" || res.Timings.Connect != 0 {
		t.Errorf("Addr %q Connect %v: want the conn's remote address and no connect time", res.Addr, res.Timings.Connect)
	}
}

func TestResultJSON(t *testing.T) {
	t.Parallel()
	peer := startPeer(t, handshaketest.Config{Behavior: handshaketest.CloseAfterVersion})
	res, _ := handshake.Dial(testContext(t, 5*time.Second), peer.Addr(), handshake.Options{})
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["status"] != "PARTIALLY OK" || got["transport"] != "v1" || got["addr"] != peer.Addr() {
		t.Errorf("json = %s", b)
	}
	if e, _ := got["error"].(string); !strings.Contains(e, "peer closed") {
		t.Errorf("json error = %q", e)
	}
	if p, _ := got["peer"].(map[string]any); p == nil || p["user_agent"] == "" {
		t.Errorf("json peer missing: %s", b)
	}
}

// TestResultJSONContract: "negotiation" holds the commands between the
// peer's version and verack, "features" the BIP434 features as
// {"id","data" in hex} (an array, empty when there are none), "ignored"
// {"command","reason"} entries and is left out when empty.
func TestResultJSONContract(t *testing.T) {
	t.Parallel()
	featured := startPeer(t, handshaketest.Config{ProtocolVersion: 70017, V1Only: true,
		Features: []handshaketest.Feature{{ID: "BIP434", Data: []byte{0xab, 1}}}})
	verackFirst := startPeer(t, handshaketest.Config{Behavior: handshaketest.VerackBeforeVersion})
	for _, tt := range []struct {
		peer *handshaketest.Peer
		want string
	}{
		{featured, `{"negotiation":["wtxidrelay","sendaddrv2","feature"],"features":[{"id":"BIP434","data":"ab01"}]}`},
		{verackFirst, `{"negotiation":[],"features":[],"ignored":[{"command":"verack","reason":"before version"}]}`},
	} {
		res, err := handshake.Dial(testContext(t, 5*time.Second), tt.peer.Addr(), handshake.Options{Transport: handshake.TransportV1})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		// Each key of want holds exactly want's value; "ignored" is
		// absent when want has none. Key order is not part of JSON.
		var got, want map[string]json.RawMessage
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
			t.Fatal(err)
		}
		if _, ok := want["ignored"]; !ok {
			want["ignored"] = nil
		}
		for k, v := range want {
			if string(got[k]) != string(v) {
				t.Errorf("%q = %s, want %s (json %s)", k, got[k], v, b)
			}
		}
		var back struct{ Features []handshake.Feature }
		if err := json.Unmarshal(b, &back); err != nil || len(back.Features) != len(res.Features) ||
			len(res.Features) > 0 && !bytes.Equal(back.Features[0].Data, res.Features[0].Data) {
			t.Errorf("features back from JSON: %v, %v", back.Features, err)
		}
	}
}

func TestStatusString(t *testing.T) {
	for s, want := range map[handshake.Status]string{handshake.StatusOK: "OK", handshake.StatusPartiallyOK: "PARTIALLY OK", handshake.StatusFailed: "FAILED"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", s, s, want)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
