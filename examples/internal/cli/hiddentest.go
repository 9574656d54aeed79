package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
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

// CJDNS is the CJDNS address Gossiper names besides h's, which no
// test can reach (fc00::/8 is not on this host).
const CJDNS = "[fc00::1]:18444"

// Gossiper starts a clearnet node of params that answers getaddr with an
// addrv2 message naming every address of h, reachable or not, and CJDNS,
// as BIP 155 writes them (wire/v2 cannot carry I2P or CJDNS), and pongs
// pings; it returns the node's address.
func (h *Hidden) Gossiper(t *testing.T, params *chaincfg.Params) string {
	t.Helper()
	port, err := strconv.ParseUint(params.DefaultPort, 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	var entries [][]byte
	for _, i := range append(seq(len(h.Onion)), 1000, 1001) {
		k := handshaketest.OnionKey(i)
		entries = append(entries, bip155(4, k[:], uint16(port)))
	}
	for _, i := range append(seq(len(h.I2P)), 1000) {
		k := handshaketest.I2PHash(i)
		entries = append(entries, bip155(5, k[:], 0))
	}
	cj := netip.MustParseAddrPort(CJDNS)
	ip := cj.Addr().As16()
	entries = append(entries, bip155(6, ip[:], cj.Port()))
	payload := append([]byte{byte(len(entries))}, bytes.Join(entries, nil)...)
	p, err := handshaketest.NewPeer(handshaketest.Config{ChainParams: params, Addr: "127.0.0.1:0",
		Handler: func(ctx context.Context, c *handshaketest.Conn) error {
			if _, err := c.Accept(); err != nil {
				return err
			}
			for {
				cmd, b, err := c.ReadMessage()
				switch {
				case err != nil:
					return err
				case cmd == wire.CmdGetAddr:
					err = c.WriteCommand(wire.CmdAddrV2, payload)
				case cmd == wire.CmdPing:
					err = c.WriteCommand(wire.CmdPong, b)
				}
				if err != nil {
					return err
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.Addr()
}

// bip155 is one addrv2 entry: time, services (NETWORK, WITNESS and
// P2P_V2, a 3-byte CompactSize), network id, address and port.
func bip155(id byte, addr []byte, port uint16) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(time.Now().Unix()))
	svc := wire.SFNodeNetwork | wire.SFNodeWitness | wire.SFNodeP2PV2
	b = binary.LittleEndian.AppendUint16(append(b, 0xfd), uint16(svc))
	b = append(append(b, id, byte(len(addr))), addr...)
	return binary.BigEndian.AppendUint16(b, port)
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
