package handshake_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// TestPing measures a round trip to Bitcoin Core over both transports.
func TestPing(t *testing.T) {
	t.Parallel()
	for _, tr := range []handshake.Transport{handshake.TransportV1, handshake.TransportV2} {
		t.Run(tr.String(), func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, 10*time.Second)
			p := startPeer(t, handshaketest.Config{V2: true})
			c := dialConn(t, ctx, p.Addr(), handshake.Options{Transport: tr})
			rtt, err := c.Ping(ctx)
			if err != nil || rtt <= 0 {
				t.Fatalf("Ping: %v, %v", rtt, err)
			}
			if n := countOf(p.Received(), "ping"); n != 1 {
				t.Errorf("peer received %d pings, want 1", n)
			}
		})
	}
}

// pongLater is a peer that answers a ping with a pong of another nonce,
// a ping of its own and an inv, then after delay the right pong.
func pongLater(delay time.Duration) handshaketest.Config {
	return handshaketest.Config{Handler: func(ctx context.Context, c *handshaketest.Conn) error {
		if _, err := c.Accept(); err != nil {
			return err
		}
		for {
			cmd, payload, err := c.ReadMessage()
			if err != nil {
				return err
			}
			if cmd != wire.CmdPing {
				continue
			}
			other := binary.LittleEndian.AppendUint64(nil, binary.LittleEndian.Uint64(payload)+1)
			for _, m := range [][2]any{{wire.CmdPong, other}, {wire.CmdPing, other}, {wire.CmdInv, []byte{0}}} {
				if err := c.WriteCommand(m[0].(string), m[1].([]byte)); err != nil {
					return err
				}
			}
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return ctx.Err()
			}
			if err := c.WriteCommand(wire.CmdPong, payload); err != nil {
				return err
			}
		}
	}}
}

// TestPingWaitsForItsNonce: a pong of another nonce and other messages
// are passed over, the peer's own ping answered, and the round trip lasts
// until the pong that matches.
func TestPingWaitsForItsNonce(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 10*time.Second)
	const delay = 200 * time.Millisecond
	p := startPeer(t, pongLater(delay))
	c := dialConn(t, ctx, p.Addr(), handshake.Options{Transport: handshake.TransportV1})
	rtt, err := c.Ping(ctx)
	if err != nil || rtt < delay {
		t.Fatalf("Ping: %v, %v; want at least %v", rtt, err, delay)
	}
	// The peer's ping got its pong before ours came back.
	deadline := time.Now().Add(5 * time.Second)
	for countOf(p.Received(), "pong") != 1 && time.Now().Before(deadline) {
		if _, err := c.ReadMessage(testContext(t, 50*time.Millisecond)); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
	}
	if countOf(p.Received(), "pong") != 1 {
		t.Errorf("peer received %v, want one pong", p.Received())
	}
}

// TestPingErrors: a peer that never answers costs the context's limit, and
// a pre-BIP 31 peer is not pinged at all.
func TestPingErrors(t *testing.T) {
	t.Parallel()
	ctx := testContext(t, 10*time.Second)
	silent := startPeer(t, handshaketest.Config{Handler: func(ctx context.Context, c *handshaketest.Conn) error {
		if _, err := c.Accept(); err != nil {
			return err
		}
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return err
			}
		}
	}})
	c := dialConn(t, ctx, silent.Addr(), handshake.Options{Transport: handshake.TransportV1})
	pctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	var he *handshake.Error
	if _, err := c.Ping(pctx); !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &he) || he.Step != handshake.StepRead {
		t.Errorf("silent peer: %v, want the deadline at step read", err)
	}

	old := startPeer(t, handshaketest.Config{ProtocolVersion: wire.BIP0031Version})
	c = dialConn(t, ctx, old.Addr(), handshake.Options{Transport: handshake.TransportV1, MinPeerVersion: 209})
	if _, err := c.Ping(ctx); !errors.Is(err, handshake.ErrProtocolViolation) || !errors.As(err, &he) || he.Step != handshake.StepPing {
		t.Errorf("BIP 31 peer: %v, want ErrProtocolViolation at step ping", err)
	}
	c.Close()
	if slices.Contains(old.Received(), "ping") {
		t.Errorf("pre-BIP 31 peer received %v", old.Received())
	}
}

func countOf(cmds []string, cmd string) int {
	n := 0
	for _, c := range cmds {
		if c == cmd {
			n++
		}
	}
	return n
}

// Measure the round-trip time to a node after the handshake.
func ExampleConn_Ping() {
	p, err := handshaketest.NewPeer(handshaketest.Config{}) // a fake Bitcoin Core node on loopback
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := handshake.DialConn(ctx, p.Addr(), handshake.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	rtt, err := c.Ping(ctx)
	fmt.Println(err, rtt > 0)
	// Output: <nil> true
}
