package bip324

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"testing"

	"github.com/btcsuite/btcd/v2transport"
	"github.com/btcsuite/btcd/wire/v2"
)

// btcdSide runs btcd's v2transport.Peer handshake on conn.
func btcdSide(conn net.Conn, role Role, garbageLen int, decoys []int) (*v2transport.Peer, error) {
	p := v2transport.NewPeer()
	p.UseReadWriter(conn)
	net := v2transport.BitcoinNet(mainnet)
	if role == Initiator {
		if err := p.InitiateV2Handshake(garbageLen); err != nil {
			return nil, err
		}
		return p, p.CompleteHandshake(true, decoys, net)
	}
	if err := p.RespondV2Handshake(garbageLen, net); err != nil {
		return nil, err
	}
	return p, p.CompleteHandshake(false, decoys, net)
}

func testVersionMsg(nonce uint64) *wire.MsgVersion {
	addr := wire.NewNetAddressIPPort(net.IPv4(127, 0, 0, 1), 8333, wire.SFNodeNetwork)
	m := wire.NewMsgVersion(addr, addr, nonce, 850_000)
	m.UserAgent = "/bip324-test:0.1/"
	return m
}

// TestInteropV2Transport runs each of our roles against btcd's
// v2transport.Peer over loopback TCP and exchanges version, verack and ping
// both ways. btcd gives up on a terminator after 4,095 bytes of garbage (it
// checks 4,110 received bytes, BIP324 allows 4,111), so the garbage we send
// it stays at 4,094 at most; what it sends us goes up to the maximum.
func TestInteropV2Transport(t *testing.T) {
	for _, tc := range []struct {
		ourRole              Role
		ourGarbage, btcdGbg  int
		ourDecoys, btcdDecoy []int
	}{
		{Initiator, NoGarbage, 0, nil, nil},
		{Initiator, 1, 4095, nil, nil},
		{Initiator, 4094, 1, []int{3, 0}, []int{0, 700}},
		{Responder, NoGarbage, 0, nil, nil},
		{Responder, 4094, 4095, nil, nil},
		{Responder, 17, 3000, []int{1}, []int{5, 0, 9}},
	} {
		name := fmt.Sprintf("our%s/garbage=%d,%d/decoys=%d,%d", tc.ourRole, tc.ourGarbage, tc.btcdGbg,
			len(tc.ourDecoys), len(tc.btcdDecoy))
		t.Run(name, func(t *testing.T) {
			a, b := tcpPair(t)
			setDeadline(t, a, b)
			type btcdRes struct {
				p   *v2transport.Peer
				err error
			}
			ch := make(chan btcdRes, 1)
			go func() {
				p, err := btcdSide(b, other(tc.ourRole), tc.btcdGbg, tc.btcdDecoy)
				ch <- btcdRes{p, err}
			}()
			c, err := Handshake(bufio.NewReader(a), a, tc.ourRole,
				Config{Magic: mainnet, GarbageLen: tc.ourGarbage, Decoys: tc.ourDecoys})
			if err != nil {
				a.Close()
				<-ch
				t.Fatal(err)
			}
			res := <-ch
			if res.err != nil {
				t.Fatalf("btcd: %v", res.err)
			}
			p := res.p

			// btcd -> us, the way btcd's peer package sends messages.
			go func() {
				for _, m := range []wire.Message{testVersionMsg(1), wire.NewMsgVerAck(), wire.NewMsgPing(77)} {
					var buf bytes.Buffer
					if _, err := wire.WriteV2MessageN(&buf, m, wire.ProtocolVersion, wire.LatestEncoding); err != nil {
						ch <- btcdRes{nil, err}
						return
					}
					if _, _, err := p.V2EncPacket(buf.Bytes(), nil, false); err != nil {
						ch <- btcdRes{nil, err}
						return
					}
				}
				ch <- btcdRes{}
			}()
			for _, want := range []string{"version", "verack", "ping"} {
				cmd, payload, err := c.ReadMessage(wire.MaxProtocolMessageLength)
				if err != nil || cmd != want {
					t.Fatalf("got %q, %v; want %s", cmd, err, want)
				}
				if cmd == "version" {
					var v wire.MsgVersion
					if err := v.BtcDecode(bytes.NewBuffer(payload), // MsgVersion.BtcDecode insists on a *bytes.Buffer
						wire.ProtocolVersion, wire.LatestEncoding); err != nil || v.Nonce != 1 {
						t.Fatalf("version: %v, nonce %d", err, v.Nonce)
					}
				}
			}
			if res := <-ch; res.err != nil {
				t.Fatal(res.err)
			}

			// us -> btcd.
			var vbuf bytes.Buffer
			if err := testVersionMsg(2).BtcEncode(&vbuf, wire.ProtocolVersion, wire.LatestEncoding); err != nil {
				t.Fatal(err)
			}
			go func() {
				ch <- btcdRes{nil, c.WriteMessages(
					Message{"version", vbuf.Bytes()},
					Message{"verack", nil},
					Message{"ping", []byte{1, 0, 0, 0, 0, 0, 0, 0}},
				)}
			}()
			for _, want := range []string{"version", "verack", "ping"} {
				pt, err := p.V2ReceivePacket(nil)
				if err != nil {
					t.Fatal(err)
				}
				msg, _, err := wire.ReadV2MessageN(pt, wire.ProtocolVersion, wire.LatestEncoding)
				if err != nil || msg.Command() != want {
					t.Fatalf("btcd decoded %v, %v; want %s", msg, err, want)
				}
				if v, ok := msg.(*wire.MsgVersion); ok && v.Nonce != 2 {
					t.Fatalf("nonce %d", v.Nonce)
				}
			}
			if res := <-ch; res.err != nil {
				t.Fatal(res.err)
			}
		})
	}
}

// TestInteropV2TransportMaxGarbage records btcd's behaviour when we send the
// maximum garbage BIP324 allows (4,095 bytes): we complete, btcd v1.1.0 does
// not find the terminator. Logged, not asserted, so a fixed btcd does not
// fail the suite.
func TestInteropV2TransportMaxGarbage(t *testing.T) {
	a, b := tcpPair(t)
	setDeadline(t, a, b)
	errc := make(chan error, 1)
	go func() {
		_, err := btcdSide(b, Responder, 0, nil)
		errc <- err
	}()
	_, err := Handshake(bufio.NewReader(a), a, Initiator, Config{Magic: mainnet, GarbageLen: MaxGarbageLen})
	if err != nil {
		t.Fatalf("our initiator: %v", err)
	}
	t.Logf("btcd v2transport responder with 4095 bytes of initiator garbage: %v", <-errc)
}
