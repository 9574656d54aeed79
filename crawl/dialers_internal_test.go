package crawl

import (
	"net"
	"testing"

	"github.com/bitcoin-handshake/handshake"
)

// TestMakeDialers: Tor, I2P and CJDNSReachable make the dialers of their
// networks, Dialers wins over them, and the caller's map is left alone.
func TestMakeDialers(t *testing.T) {
	t.Parallel()
	mine := &net.Dialer{}
	given := map[handshake.AddrNetwork]handshake.Dialer{handshake.NetTorV3: mine}
	o := Options{Dialers: given, Tor: &handshake.TorOptions{}, I2P: &handshake.I2POptions{}, CJDNSReachable: true}
	end, err := o.makeDialers()
	if err != nil {
		t.Fatal(err)
	}
	defer end()
	if o.dialer(handshake.NetTorV3) != mine {
		t.Error("Dialers did not win over Tor")
	}
	if _, ok := o.dialer(handshake.NetI2P).(*handshake.I2P); !ok {
		t.Errorf("I2P dialer %T", o.dialer(handshake.NetI2P))
	}
	if _, ok := o.dialer(handshake.NetCJDNS).(*net.Dialer); !ok {
		t.Errorf("CJDNS dialer %T", o.dialer(handshake.NetCJDNS))
	}
	if len(given) != 1 {
		t.Errorf("the caller's Dialers changed: %v", given)
	}

	o = Options{Tor: &handshake.TorOptions{}}
	if _, err := o.makeDialers(); err != nil {
		t.Fatal(err)
	}
	if _, ok := o.dialer(handshake.NetTorV3).(*handshake.Tor); !ok {
		t.Errorf("Tor dialer %T", o.dialer(handshake.NetTorV3))
	}
	if o.dialer(handshake.NetCJDNS) != nil || o.dialer(handshake.NetI2P) != nil {
		t.Error("CJDNS or I2P reachable without being asked")
	}
	if _, err := (&Options{Tor: &handshake.TorOptions{MaxPending: -1}}).makeDialers(); err == nil {
		t.Error("bad TorOptions accepted")
	}
}
