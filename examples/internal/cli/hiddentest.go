package cli

import (
	"net"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// Hidden is, for the programs' tests, a proxy double (a fake Tor SOCKS
// port and I2P SAM bridge on loopback) with fake Bitcoin Core nodes behind
// it: some onion and I2P names reach a node, others fail the way Tor and
// I2P routers fail.
type Hidden struct {
	Proxy *handshaketest.Proxy
	// Onion and I2P are the reachable nodes' addresses as a program takes
	// them: "<name>.onion:<port>" and "<name>.b32.i2p:0".
	Onion, I2P []string
	// Offline is an onion name Tor has no descriptor for (0xF0),
	// IntroFailed one whose introduction fails (0xF2), I2POffline an I2P
	// name the router cannot find (KEY_NOT_FOUND); each with its port.
	Offline, IntroFailed, I2POffline string
}

// NewHidden starts a proxy double answering after delay, with onions and
// i2ps reachable Core nodes of params behind it, closed at the test's end.
func NewHidden(t *testing.T, params *chaincfg.Params, onions, i2ps int, delay time.Duration) *Hidden {
	t.Helper()
	p, err := handshaketest.NewProxy(handshaketest.ProxyConfig{Delay: delay})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	h := &Hidden{Proxy: p}
	node := func() string {
		peer, err := handshaketest.NewPeer(handshaketest.Config{ChainParams: params})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { peer.Close() })
		return peer.Addr()
	}
	port := params.DefaultPort
	for i := range onions {
		p.Set(handshaketest.OnionName(i), handshaketest.Route{Target: node()})
		h.Onion = append(h.Onion, net.JoinHostPort(handshaketest.OnionName(i), port))
	}
	for i := range i2ps {
		p.Set(handshaketest.I2PName(i), handshaketest.Route{Target: node()})
		h.I2P = append(h.I2P, net.JoinHostPort(handshaketest.I2PName(i), "0"))
	}
	h.Offline = net.JoinHostPort(handshaketest.OnionName(1000), port) // no route: 0xF0
	p.Set(handshaketest.OnionName(1001), handshaketest.Route{Reply: 0xF2})
	h.IntroFailed = net.JoinHostPort(handshaketest.OnionName(1001), port)
	h.I2POffline = net.JoinHostPort(handshaketest.I2PName(1000), "0") // no route: KEY_NOT_FOUND
	return h
}

// Gossip is the addrv2 entries naming every address of h, reachable or
// not, as a node would gossip them, for a program to learn from a node.
func (h *Hidden) Gossip(port uint16) []wire.NetAddressV2 {
	var out []wire.NetAddressV2
	svc := wire.SFNodeNetwork | wire.SFNodeWitness
	for i := range len(h.Onion) {
		k := handshaketest.OnionKey(i)
		out = append(out, *wire.NetAddressV2FromBytes(time.Now(), svc, k[:], port))
	}
	for _, i := range []int{1000, 1001} {
		k := handshaketest.OnionKey(i)
		out = append(out, *wire.NetAddressV2FromBytes(time.Now(), svc, k[:], port))
	}
	for _, i := range append(seq(len(h.I2P)), 1000) {
		k := handshaketest.I2PHash(i)
		out = append(out, *wire.NetAddressV2FromBytes(time.Now(), svc, k[:], 0))
	}
	return out
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// DeadAddr returns a loopback "host:port" where nothing listens, for a
// proxy that is down.
func DeadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}
