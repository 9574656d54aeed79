package handshake_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// TestByNetworkSweep: one sweep over addresses of every network, each
// dialled the way its network is reached, or refused with a typed error.
func TestByNetworkSweep(t *testing.T) {
	t.Parallel()
	node := startPeer(t, handshaketest.Config{})
	p := startProxy(t, noDelay)
	onion, i2p := handshaketest.OnionName(1), handshaketest.I2PName(1)
	p.Set(onion, handshaketest.Route{Target: node.Addr()})
	p.Set(i2p, handshaketest.Route{Target: node.Addr()})
	d := handshake.ByNetwork(map[handshake.AddrNetwork]handshake.Dialer{
		handshake.NetTorV3: newTor(t, handshake.TorOptions{Proxies: []string{p.SOCKSAddr()}}),
		handshake.NetI2P:   newI2P(t, handshake.I2POptions{SAM: p.SAMAddr()}),
	})
	badOnion := onion[:3] + flip(onion[3]) + onion[4:]
	want := map[string]string{ // address as reported -> kind of error
		node.Addr():                     "",
		onion + ":8333":                 "",
		i2p + ":0":                      "", // I2P names get port 0
		handshaketest.I2PName(2) + ":0": "i2p-not-found",
		badOnion + ":8333":              "invalid-address",
		"[fc00::1]:8333":                "no-dialer",
	}
	var mu sync.Mutex
	got := map[string]string{}
	_, err := handshake.Sweep(testCtx(t), handshake.SweepOptions{
		Handshake: handshake.Options{Dialer: d},
		Addrs:     []string{node.Addr(), onion, i2p, handshaketest.I2PName(2), badOnion, "[fc00::1]:8333"},
	}, func(r handshake.Result) {
		mu.Lock()
		got[r.Addr] = handshake.ErrorKind(r.Err)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	for addr, kind := range want {
		if k, ok := got[addr]; !ok || k != kind {
			t.Errorf("%s: kind %q (reported %v), want %q", addr, k, ok, kind)
		}
	}
	if _, err := d.DialContext(testCtx(t), "tcp", "[fc00::1]:8333"); !errors.Is(err, handshake.ErrNoDialer) {
		t.Errorf("CJDNS without a dialer: %v", err)
	}
}

// TestByNetworkZonedAddress: an IPv6 address with a zone names no node on
// the network (ParseHost refuses it), so ByNetwork refuses it too rather
// than hand it to the clearnet dialer.
func TestByNetworkZonedAddress(t *testing.T) {
	t.Parallel()
	d := handshake.ByNetwork(nil)
	_, err := d.DialContext(testCtx(t), "tcp", "[fe80::1%lo]:8333")
	if !errors.Is(err, handshake.ErrInvalidAddress) {
		t.Errorf("zoned address: %v, want ErrInvalidAddress", err)
	}
}
