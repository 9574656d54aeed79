package interop

import (
	"context"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
)

// TestBtcdConn keeps a connection to the real btcd node open after the
// handshake, over v1 and, with --v2transport, v2: a ping gets its pong, and
// getaddr on a fresh regtest node, which knows no addresses and answers
// nothing, ends at the quiet period without an error.
func TestBtcdConn(t *testing.T) {
	t.Parallel()
	for _, v := range []struct {
		name string
		cfg  btcdConfig
		tr   handshake.Transport
	}{
		{"v1", btcdConfig{}, handshake.TransportV1},
		{"v2", btcdConfig{V2Transport: true}, handshake.TransportV2},
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			node := startBtcd(t, v.cfg)
			ctx := testContext(t)
			c, r, err := handshake.DialConn(ctx, node.Addr, handshake.Options{
				ChainParams: &chaincfg.RegressionNetParams,
				Transport:   v.tr,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if r.Transport != v.tr || r.Status != handshake.StatusOK {
				t.Fatalf("result %+v", r)
			}
			const nonce = 0xfeed
			if err := c.WriteMessage(ctx, wire.NewMsgPing(nonce)); err != nil {
				t.Fatal(err)
			}
			for {
				msg, err := c.ReadMessage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if p, ok := msg.(*wire.MsgPong); ok {
					if p.Nonce != nonce {
						t.Fatalf("pong %x", p.Nonce)
					}
					break
				}
			}
			start := time.Now()
			actx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			addrs, err := handshake.GetAddrs(actx, c, handshake.AddrOptions{Wait: time.Second})
			if err != nil {
				t.Fatalf("getaddr: %d addresses, %v", len(addrs), err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("getaddr took %v", d)
			}
		})
	}
}
