package interop

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/btcsuite/btcd/wire/v2"
)

// testTimeout bounds each test's context. A loopback handshake takes about a
// millisecond; the margin is for -race on a loaded two-core machine.
const testTimeout = 20 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// recordingDialer dials like net.Dialer and remembers the local address of
// its last connection: the peer reports that address back in its version
// message, and Dial does not expose it otherwise.
type recordingDialer struct {
	d     net.Dialer
	mu    sync.Mutex
	local netip.AddrPort
}

func (r *recordingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := r.d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.local = conn.LocalAddr().(*net.TCPAddr).AddrPort()
	r.mu.Unlock()
	return conn, nil
}

func (r *recordingDialer) Local() netip.AddrPort {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.local
}

// msgLen is the size on the wire of a v1 message with an empty payload.
const msgLen = 24

// versionLen is the size on the wire of a v1 version message at protocol
// 70001 or later carrying userAgent: header, 85 fixed payload bytes (version,
// services, timestamp, two 26-byte addresses, nonce, start height, relay)
// and the user agent with its varint length.
func versionLen(userAgent string) int64 {
	return int64(msgLen + 85 + wire.VarIntSerializeSize(uint64(len(userAgent))) + len(userAgent))
}

// wantPeer is what a completed handshake must report about the peer.
type wantPeer struct {
	UserAgent       string
	Services        wire.ServiceFlag
	StartHeight     int32
	ProtocolVersion uint32
	Relay           bool
	// AddrRecv is our own address as the peer sees it; zero skips the
	// check.
	AddrRecv netip.AddrPort
	// AddrFromServices is what the peer says its own services are in the
	// addr_from field.
	AddrFromServices wire.ServiceFlag

	Negotiated uint32
	// Features are the commands the peer sends between its version and
	// its verack.
	Features []string
	// Dialed is true for Dial, false for Handshake (no connect timing).
	Dialed bool
	// OurUserAgent is the user agent we sent; empty means the default.
	OurUserAgent string
}

// checkCompleted asserts a successful handshake's Result in full.
func checkCompleted(t *testing.T, res handshake.Result, err error, addr string, want wantPeer) {
	t.Helper()
	if err != nil {
		t.Fatalf("handshake with %s: %v (result %+v)", addr, err, res)
	}
	if res.Status != handshake.StatusOK || res.Err != nil {
		t.Errorf("Status, Err = %v, %v; want %v, nil", res.Status, res.Err, handshake.StatusOK)
	}
	if res.Addr != addr {
		t.Errorf("Addr = %q, want %q", res.Addr, addr)
	}
	if res.Transport != handshake.TransportV1 || res.Transport.String() != "v1" {
		t.Errorf("Transport = %v (%q), want v1", res.Transport, res.Transport.String())
	}

	p := res.Peer
	if p.UserAgent != want.UserAgent {
		t.Errorf("Peer.UserAgent = %q, want %q", p.UserAgent, want.UserAgent)
	}
	if p.Services != want.Services {
		t.Errorf("Peer.Services = %v, want %v", p.Services, want.Services)
	}
	if p.StartHeight != want.StartHeight {
		t.Errorf("Peer.StartHeight = %d, want %d", p.StartHeight, want.StartHeight)
	}
	if p.ProtocolVersion != want.ProtocolVersion {
		t.Errorf("Peer.ProtocolVersion = %d, want %d", p.ProtocolVersion, want.ProtocolVersion)
	}
	if p.Relay != want.Relay {
		t.Errorf("Peer.Relay = %v, want %v", p.Relay, want.Relay)
	}
	if p.Nonce == 0 {
		t.Error("Peer.Nonce = 0; btcd sends a random nonce")
	}
	// Both sides share this machine's clock; btcd sends whole seconds.
	if d := time.Since(p.Timestamp); d < -time.Minute || d > time.Minute {
		t.Errorf("Peer.Timestamp = %v, %v from now", p.Timestamp, d)
	}
	if want.AddrRecv.IsValid() && p.AddrRecv.Addr != want.AddrRecv {
		t.Errorf("Peer.AddrRecv.Addr = %v, want our local address %v", p.AddrRecv.Addr, want.AddrRecv)
	}
	// btcd says nothing of its own address: an all-zero IP and port, with
	// only its services filled in.
	if a := p.AddrFrom.Addr; !a.Addr().IsUnspecified() || a.Port() != 0 {
		t.Errorf("Peer.AddrFrom.Addr = %v, want an unspecified address and port 0", a)
	}
	if p.AddrFrom.Services != want.AddrFromServices {
		t.Errorf("Peer.AddrFrom.Services = %v, want %v", p.AddrFrom.Services, want.AddrFromServices)
	}

	if res.NegotiatedVersion != want.Negotiated {
		t.Errorf("NegotiatedVersion = %d, want %d", res.NegotiatedVersion, want.Negotiated)
	}
	if !slices.Equal(res.Negotiation, want.Features) {
		t.Errorf("Negotiation = %q, want %q", res.Negotiation, want.Features)
	}
	if len(res.Features) != 0 || len(res.Ignored) != 0 {
		t.Errorf("Features %v, Ignored %v: btcd sends no feature message and nothing Core would ignore", res.Features, res.Ignored)
	}
	wantReceived := append(append([]string{wire.CmdVersion}, want.Features...), wire.CmdVerAck)
	if !slices.Equal(res.Received, wantReceived) {
		t.Errorf("Received = %q, want %q", res.Received, wantReceived)
	}

	// Exact byte counts: the peer's version and its empty feature
	// messages and verack in; our version (default user agent), our
	// feature messages (wtxidrelay and sendaddrv2 from 70016 on) and our
	// verack out.
	wantIn := versionLen(want.UserAgent) + int64(msgLen*(len(want.Features)+1))
	if res.BytesReceived != wantIn {
		t.Errorf("BytesReceived = %d, want %d", res.BytesReceived, wantIn)
	}
	ua := want.OurUserAgent
	if ua == "" {
		ua = handshake.DefaultUserAgent
	}
	if wantOut := ourBytesSent(ua, want.Negotiated); res.BytesSent != wantOut {
		t.Errorf("BytesSent = %d, want %d", res.BytesSent, wantOut)
	}

	tm := res.Timings
	if want.Dialed && tm.Connect <= 0 {
		t.Errorf("Timings.Connect = %v, want > 0 for Dial", tm.Connect)
	}
	if !want.Dialed && tm.Connect != 0 {
		t.Errorf("Timings.Connect = %v, want 0 for Handshake", tm.Connect)
	}
	if !(tm.Connect <= tm.PeerVersion && tm.PeerVersion > 0 && tm.PeerVersion <= tm.PeerVerack && tm.PeerVerack <= tm.Total) {
		t.Errorf("Timings out of order: %+v", tm)
	}
}

// ourBytesSent is what the library writes in a completed handshake with
// options whose user agent is userAgent at negotiated version negotiated.
func ourBytesSent(userAgent string, negotiated uint32) int64 {
	n := versionLen(userAgent) + msgLen // version, verack
	if negotiated >= wire.AddrV2Version {
		n += 2 * msgLen // wtxidrelay, sendaddrv2
	}
	return n
}

// checkFailed asserts a failed call's error and Result.
func checkFailed(t *testing.T, res handshake.Result, err error, wantErr error, wantStep handshake.Step, wantStatus handshake.Status) {
	t.Helper()
	if err == nil {
		t.Fatalf("handshake succeeded, want %v (result %+v)", wantErr, res)
	}
	if !errors.Is(err, wantErr) {
		t.Errorf("error = %v, want one matching %v", err, wantErr)
	}
	var he *handshake.Error
	if !errors.As(err, &he) {
		t.Fatalf("error %T is not a *handshake.Error: %v", err, err)
	}
	if he.Step != wantStep {
		t.Errorf("Error.Step = %q, want %q (error %v)", he.Step, wantStep, err)
	}
	if res.Status != wantStatus {
		t.Errorf("Status = %v, want %v", res.Status, wantStatus)
	}
	if res.Err != err {
		t.Errorf("Result.Err = %v, want the returned error %v", res.Err, err)
	}
}

// wait waits for ch to close, failing the test at the context's end.
func wait(ctx context.Context, t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-ctx.Done():
		t.Fatalf("timed out waiting for %s", what)
	}
}
