package cli

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
)

// TestNetTallyLines: a network's line counts reachable (OK) nodes as the
// closing "reachable" does, PARTIALLY OK ones apart, the v2 share over
// both, failures by kind, and a proxy that was down once, by itself.
func TestNetTallyLines(t *testing.T) {
	var tl NetTally
	ok, partial := handshake.StatusOK, handshake.StatusPartiallyOK
	tl.Add("ipv4", ok, handshake.TransportV2, nil)
	tl.Add("ipv4", ok, handshake.TransportV1, nil)
	tl.Add("ipv4", ok, handshake.TransportV1, nil)
	tl.Add("ipv4", partial, handshake.TransportV2, nil)
	tl.Add("ipv4", handshake.StatusFailed, 0, &handshake.Error{Step: handshake.StepConnect, Err: context.DeadlineExceeded})
	down := &handshake.ProxyError{Proxy: "127.0.0.1:9050", Err: handshake.ErrProxyDown}
	if first := tl.Add("onion", handshake.StatusFailed, 0, down); first != "127.0.0.1:9050" {
		t.Errorf("first proxy-down address: %q, want the proxy named", first)
	}
	if again := tl.Add("onion", handshake.StatusFailed, 0, down); again != "" {
		t.Errorf("second proxy-down address named the proxy again: %q", again)
	}
	tl.Add("i2p", handshake.StatusFailed, 0, fmt.Errorf("cut short: %w", crawl.ErrNotVisited))
	want := []string{
		"Network ipv4: 5 addresses, 3 reachable, 1 PARTIALLY OK (2 over v2, 50%), 1 failed (timeout 1)",
		"Network onion: 2 addresses, 0 reachable, 0 failed, 2 not reached (proxy down)",
		"Network i2p: 1 addresses, 0 reachable, 0 failed, 1 not dialled",
		"Proxy 127.0.0.1:9050 was down: 2 addresses not reached (not counted as failed nodes)",
	}
	if got := tl.Lines(); !slices.Equal(got, want) {
		t.Errorf("lines:\n%q\nwant\n%q", got, want)
	}
}
