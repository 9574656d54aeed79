package handshake_test

import (
	"context"
	"net"
	"testing"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// BenchmarkProxyDial measures what a connection through each dialer costs
// on our side, against the proxy double with no circuit delay, beside a
// direct connect to the same node: compare the sub-benchmarks of one run.
func BenchmarkProxyDial(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() { // the node: accept and hang up
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	p := startProxy(b, noDelay)
	onion, i2p := handshaketest.OnionName(1), handshaketest.I2PName(1)
	p.Set(onion, handshaketest.Route{Target: ln.Addr().String()})
	p.Set(i2p, handshaketest.Route{Target: ln.Addr().String()})
	for _, bb := range []struct {
		name string
		d    handshake.Dialer
		addr string
	}{
		{"direct", &net.Dialer{}, ln.Addr().String()},
		{"socks5", handshake.SOCKS5(p.SOCKSAddr(), nil), onion + ":8333"},
		{"tor-isolated", newTor(b, handshake.TorOptions{Proxies: []string{p.SOCKSAddr()}}), onion + ":8333"},
		{"i2p-sam", newI2P(b, handshake.I2POptions{SAM: p.SAMAddr()}), i2p + ":0"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				c, err := bb.d.DialContext(ctx, "tcp", bb.addr)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}
