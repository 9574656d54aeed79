package handshake

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake/handshaketest"
)

func TestRoutable(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "2a01:4f8::1": true, "::ffff:8.8.8.8": true,
		"127.0.0.1": false, "0.0.0.0": false, "255.255.255.255": false,
		"10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"198.18.0.1": false, "169.254.1.1": false, "100.64.0.1": false,
		"203.0.113.7": false, "192.0.2.1": false, "198.51.100.1": false,
		"::": false, "::1": false, "fe80::1": false, "fd00::1": false,
		"2001:10::1": false, "2001:20::1": false, "2001:db8::1": false,
	} {
		if got := routable(netip.MustParseAddr(addr).Unmap()); got != want {
			t.Errorf("routable(%s) = %v, want %v", addr, got, want)
		}
	}
}

// remoteAs reports another remote address for a real connection.
type remoteAs struct {
	net.Conn
	addr net.Addr
}

func (c remoteAs) RemoteAddr() net.Addr { return c.addr }

// TestAddrYou: our version's addr_recv, as the peer reads it on a real
// loopback socket, is the peer's address only when that is routable and
// the connection is direct, as in Bitcoin Core's PushNodeVersion.
func TestAddrYou(t *testing.T) {
	routableAddr := &net.TCPAddr{IP: net.ParseIP("8.8.8.8"), Port: 8333}
	zero := netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	for _, tt := range []struct {
		name string
		wrap func(net.Conn) net.Conn
		want netip.AddrPort
	}{
		{"loopback", func(c net.Conn) net.Conn { return c }, zero},
		{"routable", func(c net.Conn) net.Conn { return remoteAs{c, routableAddr} }, netip.MustParseAddrPort("8.8.8.8:8333")},
		{"private", func(c net.Conn) net.Conn {
			return remoteAs{c, &net.TCPAddr{IP: net.ParseIP("192.168.1.5"), Port: 8333}}
		}, zero},
		{"routable, through a proxy", func(c net.Conn) net.Conn { return proxiedConn{remoteAs{c, routableAddr}} }, zero},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan netip.AddrPort, 1)
			peer, err := handshaketest.NewPeer(handshaketest.Config{Handler: func(ctx context.Context, c *handshaketest.Conn) error {
				v, err := c.Accept()
				if err != nil {
					return err
				}
				ip, _ := netip.AddrFromSlice(v.AddrYou.IP)
				got <- netip.AddrPortFrom(ip.Unmap(), v.AddrYou.Port)
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			conn, err := net.Dial("tcp", peer.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := Handshake(ctx, tt.wrap(conn), Options{}); err != nil {
				t.Fatal(err)
			}
			if a := <-got; a != tt.want {
				t.Errorf("peer read addr_recv %v, want %v", a, tt.want)
			}
		})
	}
}
