package handshake_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// gossip returns n addresses: IPv4 ones, with every tenth IPv6 and every
// twentieth a Tor v3 service.
func gossip(n int) []wire.NetAddressV2 {
	out := make([]wire.NetAddressV2, n)
	for i := range out {
		raw := []byte{203, 0, byte(i >> 8), byte(i)}
		switch {
		case i%20 == 19:
			raw = make([]byte, 32)
			binary.BigEndian.PutUint32(raw, uint32(i))
		case i%10 == 9:
			ip := netip.MustParseAddr("2001:db8::").As16()
			ip[14], ip[15] = byte(i>>8), byte(i)
			raw = ip[:]
		}
		out[i] = *wire.NetAddressV2FromBytes(time.Unix(1700000000+int64(i), 0), wire.SFNodeNetwork, raw, 8333)
	}
	return out
}

func TestGetAddrs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		peer      handshaketest.Config
		opts      handshake.Options
		give      int
		want      int // addresses returned
		err       error
		v2Network bool // addrv2, so Tor v3 addresses are among them
	}{
		{name: "addrv2", give: 100, want: 100, v2Network: true},
		{name: "addrv2 over v2 transport", peer: handshaketest.Config{V2: true}, opts: handshake.Options{Transport: handshake.TransportV2}, give: 100, want: 100, v2Network: true},
		// At 70015 we send no sendaddrv2: addr, which cannot carry Tor v3.
		{name: "addr", opts: handshake.Options{ProtocolVersion: 70015}, give: 100, want: 95},
		// Core's 1,000 per message: full messages are followed by more.
		{name: "split answer", give: 2500, want: 2500, v2Network: true},
		{name: "flood past the cap", give: 6000, want: handshake.DefaultMaxAddrs, err: handshake.ErrLimitExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, 10*time.Second)
			tt.peer.Addrs = gossip(tt.give)
			p := startPeer(t, tt.peer)
			if tt.opts.Transport == 0 {
				tt.opts.Transport = handshake.TransportV1
			}
			c := dialConn(t, ctx, p.Addr(), tt.opts)
			start := time.Now()
			addrs, err := handshake.GetAddrs(ctx, c, handshake.AddrOptions{Quiet: 5 * time.Second})
			if !errors.Is(err, tt.err) || len(addrs) != tt.want {
				t.Fatalf("got %d addresses, %v; want %d, %v", len(addrs), err, tt.want, tt.err)
			}
			if d := time.Since(start); tt.err == nil && d > 3*time.Second {
				t.Errorf("took %v: the answer's end was not recognised", d)
			}
			a := addrs[0]
			if a.Network != handshake.NetIPv4 || a.Host != "203.0.0.0" || a.Port != 8333 ||
				a.Services != wire.SFNodeNetwork || a.Timestamp.Unix() != 1700000000 || a.String() != "203.0.0.0:8333" {
				t.Errorf("first address %+v", a)
			}
			if tt.v2Network {
				onion := gossip(20)[19]
				if a := addrs[19]; a.Network != handshake.NetTorV3 || a.Host != onion.Addr.String() {
					t.Errorf("onion %+v, want %s", a, onion.Addr)
				}
			}
			if a := addrs[9]; a.Network != handshake.NetIPv6 || a.Host != "2001:db8::9" {
				t.Errorf("ipv6 %+v", a)
			}
		})
	}
}

// TestGetAddrsStops: a peer that answers nothing, and one that gossips
// slowly without end, stop at Wait and at the caller's deadline without an
// error.
func TestGetAddrsStops(t *testing.T) {
	t.Parallel()
	t.Run("silent", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t, 10*time.Second)
		p := startPeer(t, handshaketest.Config{Behavior: handshaketest.Core})
		c := dialConn(t, ctx, p.Addr(), handshake.Options{Transport: handshake.TransportV1})
		start := time.Now()
		addrs, err := handshake.GetAddrs(ctx, c, handshake.AddrOptions{Wait: 300 * time.Millisecond})
		if err != nil || len(addrs) != 0 || time.Since(start) < 300*time.Millisecond {
			t.Errorf("got %v, %v after %v", addrs, err, time.Since(start))
		}
	})
	t.Run("trickle until the deadline", func(t *testing.T) {
		t.Parallel()
		one := gossip(1)
		p := startPeer(t, handshaketest.Config{Handler: func(ctx context.Context, c *handshaketest.Conn) error {
			if _, err := c.Accept(); err != nil {
				return err
			}
			for {
				if err := c.WriteMessage(wire.NewMsgPing(7)); err != nil {
					return err
				}
				if err := c.WriteAddrs(one); err != nil {
					return err
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(20 * time.Millisecond):
				}
			}
		}})
		ctx := testContext(t, 10*time.Second)
		c := dialConn(t, ctx, p.Addr(), handshake.Options{Transport: handshake.TransportV1})
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		addrs, err := handshake.GetAddrs(short, c, handshake.AddrOptions{})
		if err != nil || len(addrs) == 0 {
			t.Errorf("got %d addresses, %v", len(addrs), err)
		}
	})
}

// TestGetAddrsNetworks: I2P and CJDNS, which wire/v2 drops, are named; Tor
// v2 and unknown networks are skipped.
func TestGetAddrsNetworks(t *testing.T) {
	t.Parallel()
	entry := func(id byte, addr []byte, port uint16) []byte {
		b := binary.LittleEndian.AppendUint32(nil, 1700000000)
		b = append(b, 1, id, byte(len(addr))) // services NETWORK, id, size
		b = append(b, addr...)
		return binary.BigEndian.AppendUint16(b, port)
	}
	i2p := make([]byte, 32)
	cjdns := netip.MustParseAddr("fc00::1").As16()
	payload := append([]byte{4},
		entry(5, i2p, 0)...)
	payload = append(payload, entry(6, cjdns[:], 8333)...)
	payload = append(payload, entry(3, make([]byte, 10), 8333)...) // Tor v2
	payload = append(payload, entry(42, []byte{1, 2}, 8333)...)    // unknown
	p := startPeer(t, handshakeThen(handshaketest.Frame(wire.MainNet, wire.CmdAddrV2, payload)))
	ctx := testContext(t, 5*time.Second)
	c := dialConn(t, ctx, p.Addr(), handshake.Options{Transport: handshake.TransportV1})
	addrs, err := handshake.GetAddrs(ctx, c, handshake.AddrOptions{Quiet: 200 * time.Millisecond})
	if err != nil || len(addrs) != 2 {
		t.Fatalf("got %+v, %v", addrs, err)
	}
	if a := addrs[0]; a.Network != handshake.NetI2P || a.Host != "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b32.i2p" || a.Network.String() != "i2p" {
		t.Errorf("i2p %+v", a)
	}
	if a := addrs[1]; a.Network != handshake.NetCJDNS || a.String() != net.JoinHostPort("fc00::1", "8333") {
		t.Errorf("cjdns %+v", a)
	}
}

// TestGetAddrsLimit: a peer sending addr messages more often than Quiet
// cannot hold GetAddrs open, even with no deadline on ctx: empty ones do
// not extend Quiet, and one address at a time runs into Limit.
func TestGetAddrsLimit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		msg  []byte
	}{
		{"empty addr messages", []byte{0}}, // CompactSize 0
		{"one address at a time", oneAddr()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startPeer(t, handshaketest.Config{Handler: func(ctx context.Context, c *handshaketest.Conn) error {
				if _, err := c.ReadVersion(); err != nil {
					return err
				}
				if err := c.WriteMessage(c.Version()); err != nil {
					return err
				}
				if err := c.WriteMessage(wire.NewMsgVerAck()); err != nil {
					return err
				}
				for {
					if err := c.WriteCommand(wire.CmdAddr, tt.msg); err != nil {
						return err
					}
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(20 * time.Millisecond): // the peer's pace, not synchronisation
					}
				}
			}})
			c := dialConn(t, testContext(t, 10*time.Second), p.Addr(), handshake.Options{Transport: handshake.TransportV1, ProtocolVersion: 70015})
			done := make(chan error, 1)
			go func() {
				_, err := handshake.GetAddrs(context.Background(), c,
					handshake.AddrOptions{Wait: 200 * time.Millisecond, Quiet: 200 * time.Millisecond, Limit: time.Second})
				done <- err
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("GetAddrs: %v, want a normal end", err)
				}
			case <-time.After(8 * time.Second):
				c.Close() // unblocks the call, so that the goroutine ends
				<-done
				t.Fatal("GetAddrs ran past its Limit")
			}
		})
	}
}

// oneAddr is the payload of an addr message of one IPv4 address.
func oneAddr() []byte {
	var b bytes.Buffer
	m := wire.NewMsgAddr()
	m.AddAddress(wire.NewNetAddressIPPort(net.IPv4(203, 0, 113, 9), 8333, wire.SFNodeNetwork))
	if err := m.BtcEncode(&b, 70015, wire.BaseEncoding); err != nil {
		panic(err)
	}
	return b.Bytes()
}
