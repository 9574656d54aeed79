package handshake_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// TestSOCKSReplyEveryCode pins how the proxy's reply code is learnt from
// golang.org/x/net/proxy, which gives it only as text: for every code, with
// credentials and without, the dial fails with a ProxyError holding that
// code, matched by errors.Is.
func TestSOCKSReplyEveryCode(t *testing.T) {
	t.Parallel()
	p := startProxy(t, noDelay)
	for _, auth := range []*handshake.ProxyAuth{nil, {User: "u", Password: "p"}} {
		d := handshake.SOCKS5(p.SOCKSAddr(), auth)
		for code := 1; code < 256; code++ {
			name := handshaketest.OnionName(code)
			p.Set(name, handshaketest.Route{Reply: byte(code)})
			_, err := d.DialContext(testCtx(t), "tcp", name+":8333")
			var pe *handshake.ProxyError
			if !errors.As(err, &pe) || pe.Reply != handshake.SOCKSReply(code) ||
				!errors.Is(err, handshake.SOCKSReply(code)) || !errors.Is(err, handshake.ErrProxyRefused) ||
				errors.Is(err, handshake.ErrProxyDown) || pe.Proxy != p.SOCKSAddr() {
				t.Fatalf("auth %v, code 0x%02x: got %v", auth != nil, code, err)
			}
		}
	}
}

// TestSOCKSReplyKinds: Tor's codes have names Core gives them and kinds
// for counting; an unknown code is one kind.
func TestSOCKSReplyKinds(t *testing.T) {
	t.Parallel()
	p := startProxy(t, noDelay)
	tor := newTor(t, handshake.TorOptions{Proxies: []string{p.SOCKSAddr()}})
	for _, tt := range []struct {
		code       handshake.SOCKSReply
		kind, text string
	}{
		{handshake.SOCKSGeneralFailure, "socks-general-failure", "general failure"},
		{handshake.SOCKSHostUnreachable, "socks-host-unreachable", "host unreachable"},
		{handshake.SOCKSTTLExpired, "socks-ttl-expired", "TTL expired"},
		{handshake.SOCKSOnionNotFound, "onion-not-found", "descriptor can not be found"},
		{handshake.SOCKSOnionInvalid, "onion-descriptor-invalid", "descriptor is invalid"},
		{handshake.SOCKSOnionIntroFailed, "onion-intro-failed", "introduction failed"},
		{handshake.SOCKSOnionRendezvousFailed, "onion-rendezvous-failed", "rendezvous failed"},
		{handshake.SOCKSOnionMissingAuth, "onion-missing-auth", "missing client authorization"},
		{handshake.SOCKSOnionWrongAuth, "onion-wrong-auth", "wrong client authorization"},
		{handshake.SOCKSOnionBadAddress, "onion-bad-address", "invalid address"},
		{handshake.SOCKSOnionIntroTimeout, "onion-intro-timeout", "introduction timed out"},
		{0x42, "socks-unknown-code", "0x42: unknown"},
	} {
		name := handshaketest.OnionName(int(tt.code))
		p.Set(name, handshaketest.Route{Reply: byte(tt.code)})
		// Through Dial, so the ProxyError is found inside *handshake.Error.
		_, err := handshake.Dial(testCtx(t), name, handshake.Options{Dialer: tor})
		var he *handshake.Error
		if !errors.As(err, &he) || he.Step != handshake.StepConnect {
			t.Errorf("0x%02x: %v, want a connect error", byte(tt.code), err)
		}
		if k := handshake.ErrorKind(err); k != tt.kind {
			t.Errorf("0x%02x: kind %q, want %q", byte(tt.code), k, tt.kind)
		}
		if !errors.Is(err, tt.code) || errors.Is(err, handshake.SOCKSReply(tt.code+1)) {
			t.Errorf("0x%02x: errors.Is does not tell the code: %v", byte(tt.code), err)
		}
		if msg := err.Error(); !strings.Contains(msg, tt.text) || !strings.Contains(msg, fmt.Sprintf("0x%02x", byte(tt.code))) {
			t.Errorf("0x%02x: message %q lacks %q", byte(tt.code), msg, tt.text)
		}
	}
	// An offline service is neither a slow one nor a dead proxy.
	_, err := tor.DialContext(testCtx(t), "tcp", handshaketest.OnionName(9999)+":8333")
	if !errors.Is(err, handshake.SOCKSOnionNotFound) || errors.Is(err, handshake.ErrProxyDown) || handshake.ErrorKind(err) == "timeout" {
		t.Errorf("unknown onion: %v", err)
	}
}

// TestErrorKind covers the kinds of failures that do not come from a proxy.
func TestErrorKind(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		kind string
	}{
		{nil, ""},
		{handshake.ErrWrongNetwork, "wrong-network"},
		{fmt.Errorf("x: %w", handshake.ErrPeerClosed), "peer-closed"},
		{handshake.ErrV1Only, "v1-only"},
		{handshake.ErrInvalidAddress, "invalid-address"},
		{&handshake.ProxyError{Err: handshake.ErrProxyRefused, SAM: handshake.SAMCantReachPeer}, "i2p-cant-reach-peer"},
		{&handshake.ProxyError{Err: handshake.ErrProxyRefused}, "proxy-refused"},
		{errors.New("something"), "other"},
	} {
		if k := handshake.ErrorKind(tt.err); k != tt.kind {
			t.Errorf("%v: kind %q, want %q", tt.err, k, tt.kind)
		}
	}
}
