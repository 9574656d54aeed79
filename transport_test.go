package handshake_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

func TestTransports(t *testing.T) {
	t.Parallel()
	v2peer := startPeer(t, handshaketest.Config{V2: true})
	v1peer := startPeer(t, handshaketest.Config{V1Only: true})
	// A v1 node that speaks first: we see its magic where a v2 key
	// should be.
	v1speaker := startPeer(t, handshaketest.Config{Handler: func(ctx context.Context, c *handshaketest.Conn) error {
		if err := c.WriteMessage(c.Version()); err != nil {
			return err
		}
		if _, err := c.ReadVersion(); err != nil {
			return err
		}
		return c.WriteCommand("verack", nil)
	}})
	tests := []struct {
		name      string
		peer      *handshaketest.Peer
		transport handshake.Transport
		want      handshake.Transport // zero: the call fails with ErrV1Only
		fallback  bool
	}{
		{"auto speaks v2 to a v2 peer", v2peer, handshake.TransportAuto, handshake.TransportV2, false},
		{"v2 to a v2 peer", v2peer, handshake.TransportV2, handshake.TransportV2, false},
		{"v1 to a v2 peer", v2peer, handshake.TransportV1, handshake.TransportV1, false},
		{"auto falls back to v1", v1peer, handshake.TransportAuto, handshake.TransportV1, true},
		{"v2 to a v1-only peer", v1peer, handshake.TransportV2, 0, false},
		{"v1 to a v1 peer", v1peer, handshake.TransportV1, handshake.TransportV1, false},
		{"auto falls back from a peer answering in v1", v1speaker, handshake.TransportAuto, handshake.TransportV1, true},
		{"v2 to a peer answering in v1", v1speaker, handshake.TransportV2, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := handshake.Dial(testContext(t, 10*time.Second), tt.peer.Addr(), handshake.Options{Transport: tt.transport})
			if tt.want == 0 {
				var he *handshake.Error
				if !errors.Is(err, handshake.ErrV1Only) || !errors.As(err, &he) || he.Step != handshake.StepKeyExchange || res.Status != handshake.StatusFailed {
					t.Fatalf("err = %v, status %v; want ErrV1Only at the key exchange", err, res.Status)
				}
				return
			}
			if err != nil || res.Status != handshake.StatusOK {
				t.Fatalf("Dial = %v, %v", res.Status, err)
			}
			if res.Transport != tt.want {
				t.Errorf("Transport = %v, want %v", res.Transport, tt.want)
			}
			if (res.Fallback != "") != tt.fallback || tt.fallback && !strings.Contains(res.Fallback, "v1") {
				t.Errorf("Fallback = %q, want a reason: %v", res.Fallback, tt.fallback)
			}
			if v2 := tt.want == handshake.TransportV2; (len(res.SessionID) == 64) != v2 {
				t.Errorf("SessionID = %q on %v", res.SessionID, res.Transport)
			}
			if tt.want == handshake.TransportV2 && res.BytesSent < 64+24 {
				t.Errorf("BytesSent = %d, less than a key and a version", res.BytesSent)
			}
			if tt.peer != v1speaker && strings.Join(res.Negotiation, " ") != "wtxidrelay sendaddrv2" {
				t.Errorf("Negotiation over %v = %q", res.Transport, res.Negotiation)
			}
		})
	}
}

// TestV2SessionIDMatchesPeer checks that both ends derive the same session
// id, which is what lets an operator match a Result to Core's getpeerinfo.
func TestV2SessionIDMatchesPeer(t *testing.T) {
	t.Parallel()
	ids := make(chan string, 1)
	peer := startPeer(t, handshaketest.Config{V2: true, Handler: func(ctx context.Context, c *handshaketest.Conn) error {
		ids <- c.SessionID()
		_, err := c.Accept()
		return err
	}})
	res, err := handshake.Dial(testContext(t, 10*time.Second), peer.Addr(), handshake.Options{Transport: handshake.TransportV2})
	if err != nil {
		t.Fatal(err)
	}
	if got := <-ids; got != res.SessionID || got == "" {
		t.Errorf("peer's session id %q, ours %q", got, res.SessionID)
	}
}

// TestV2GarbageLengths: BIP324 allows up to 4,095 bytes of garbage before
// the terminator; all of it must be accepted, the limit included.
func TestV2GarbageLengths(t *testing.T) {
	t.Parallel()
	for _, n := range []int{handshaketest.NoGarbage, 1, 4094, 4095} {
		peer := startPeer(t, handshaketest.Config{V2: true, V2GarbageLen: n})
		res, err := handshake.Dial(testContext(t, 10*time.Second), peer.Addr(), handshake.Options{Transport: handshake.TransportV2})
		if err != nil || res.Transport != handshake.TransportV2 {
			t.Errorf("garbage %d: %v, %v", n, res.Transport, err)
		}
	}
}

// TestV2HostileResponders: a responder sending a key then garbage without
// end or without a valid terminator must fail within bounds.
func TestV2HostileResponders(t *testing.T) {
	t.Parallel()
	garbage := func(n int) func(context.Context, *handshaketest.Conn) error {
		return func(ctx context.Context, c *handshaketest.Conn) error {
			b := make([]byte, 64+n) // any 64 bytes are a valid ElligatorSwift key
			rand.Read(b)
			if err := c.WriteRaw(b); err != nil {
				return err
			}
			<-ctx.Done()
			return nil
		}
	}
	for _, tt := range []struct {
		name string
		h    func(context.Context, *handshaketest.Conn) error
		err  error
	}{
		// 4,096 bytes of garbage and a (wrong) terminator: past BIP324's
		// 4,095, so no terminator can be accepted.
		{"4096 bytes of garbage without terminator", garbage(4096 + 16), handshake.ErrProtocolViolation},
		{"5000 bytes of garbage", garbage(5000), handshake.ErrProtocolViolation},
		{"a key and silence", garbage(0), context.DeadlineExceeded},
	} {
		peer := startPeer(t, handshaketest.Config{Handler: tt.h})
		res, err := handshake.Dial(testContext(t, 10*time.Second), peer.Addr(), handshake.Options{Transport: handshake.TransportV2, Timeout: 2 * time.Second})
		var he *handshake.Error
		if !errors.Is(err, tt.err) || !errors.As(err, &he) || he.Step != handshake.StepKeyExchange {
			t.Errorf("%s: err = %v, want %v at the key exchange (%d bytes read)", tt.name, err, tt.err, res.BytesReceived)
		}
		if res.BytesReceived > 64+4095+16+readAhead {
			t.Errorf("%s: read %d bytes, past the BIP324 bound", tt.name, res.BytesReceived)
		}
	}
}

// readAhead is how far a buffered read may go past what the search needed.
const readAhead = 1024

// TestHandshakeV2OverPipe runs v2 over a connection the caller made.
func TestHandshakeV2OverPipe(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	defer client.Close()
	ctx := testContext(t, 10*time.Second)
	var wg sync.WaitGroup
	wg.Go(func() { handshaketest.Serve(ctx, server, handshaketest.Config{V2: true}) })
	res, err := handshake.Handshake(ctx, client, handshake.Options{Transport: handshake.TransportV2})
	client.Close()
	wg.Wait()
	if err != nil || res.Transport != handshake.TransportV2 {
		t.Fatalf("Handshake = %v, %v", res.Transport, err)
	}
}
