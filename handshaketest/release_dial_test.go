package handshaketest_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// The library's own handshake against the Core double of each release,
// over loopback: what a user of the library sees of each release.

// dialRelease is what handshake.DialConn observes of a release.
type dialRelease struct {
	rel       handshaketest.CoreRelease
	pver      uint32
	ua        string
	transport handshake.Transport // with TransportAuto
	after     []string            // after the handshake, up to feefilter
	fee       int64
}

func dialReleases() []dialRelease {
	const v1, v2 = handshake.TransportV1, handshake.TransportV2
	old := []string{"sendcmpct", "sendcmpct", "ping", "getheaders", "feefilter"}
	now := []string{"sendcmpct", "ping", "getheaders", "feefilter"}
	return []dialRelease{
		{handshaketest.Core0_20, 70015, "/Satoshi:0.20.1/", v1, old, 1000},
		{handshaketest.Core0_21, 70016, "/Satoshi:0.21.1/", v1, old, 1000},
		{handshaketest.Core22, 70016, "/Satoshi:22.0.0/", v1, now, 1000},
		{handshaketest.Core23, 70016, "/Satoshi:23.0.0/", v1, now, 1000},
		{handshaketest.Core24, 70016, "/Satoshi:24.0.1/", v1, now, 1000},
		{handshaketest.Core25, 70016, "/Satoshi:25.0.0/", v1, now, 1000},
		{handshaketest.Core26, 70016, "/Satoshi:26.0.0/", v1, now, 1000},
		{handshaketest.Core27, 70016, "/Satoshi:27.1.0/", v2, now, 1000},
		{handshaketest.Core28, 70016, "/Satoshi:28.1.0/", v2, now, 1000},
		{handshaketest.Core28_3, 70016, "/Satoshi:28.3.0/", v2, now, 100},
		{handshaketest.Core29, 70016, "/Satoshi:29.0.0/", v2, now, 1000},
		{handshaketest.Core29_1, 70016, "/Satoshi:29.1.0/", v2, now, 100},
		{handshaketest.Core30, 70016, "/Satoshi:30.0.0/", v2, now, 100},
		{handshaketest.CoreMaster, 70017, "/Satoshi:32.99.0/", v2, now, 100},
	}
}

func dialContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startRelease(t *testing.T, cfg handshaketest.Config) *handshaketest.Peer {
	t.Helper()
	p, err := handshaketest.NewPeer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// eachRelease runs test, in parallel, against a peer of each release.
func eachRelease(t *testing.T, test func(ctx context.Context, t *testing.T, w dialRelease, p *handshaketest.Peer)) {
	t.Parallel()
	for _, w := range dialReleases() {
		t.Run(w.rel.String(), func(t *testing.T) {
			t.Parallel()
			test(dialContext(t), t, w, startRelease(t, handshaketest.Config{Core: w.rel}))
		})
	}
}

// readUntil reads messages until one of command last, returning them all.
func readUntil(ctx context.Context, t *testing.T, c *handshake.Conn, last string) []wire.Message {
	t.Helper()
	var msgs []wire.Message
	for {
		m, err := c.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("after %v: %v", commands(msgs), err)
		}
		msgs = append(msgs, m)
		if m.Command() == last {
			return msgs
		}
	}
}

func commands(msgs []wire.Message) []string {
	var cmds []string
	for _, m := range msgs {
		cmds = append(cmds, m.Command())
	}
	return cmds
}

// TestLibraryAgainstCoreReleases: handshake.DialConn, as a full node with
// a BIP434 feature to offer, against a default node of each release: the
// protocol version and user agent it reports, the transport it ends up on
// (v2 from 27.0, v1 after falling back before), the feature sent only to
// master and accepted there, and what follows the handshake: the compact
// block offers, the ping, the getheaders of a synced node and the
// release's feefilter.
func TestLibraryAgainstCoreReleases(t *testing.T) {
	eachRelease(t, func(ctx context.Context, t *testing.T, w dialRelease, p *handshaketest.Peer) {
		c, res, err := handshake.DialConn(ctx, p.Addr(), handshake.Options{
			Services: wire.SFNodeNetwork | wire.SFNodeWitness,
			Features: []handshake.Feature{{ID: "example/feature", Data: []byte{1}}},
		})
		if err != nil {
			t.Fatalf("DialConn: %v", err)
		}
		defer c.Close()
		if res.Status != handshake.StatusOK || res.Peer.ProtocolVersion != w.pver || res.Peer.UserAgent != w.ua ||
			res.Transport != w.transport || res.Peer.Services&wire.SFNodeP2PV2 != 0 != (w.transport == handshake.TransportV2) {
			t.Errorf("status %v, protocol %d, %q over %v, services %v; want OK, %d, %q over %v",
				res.Status, res.Peer.ProtocolVersion, res.Peer.UserAgent, res.Transport, res.Peer.Services, w.pver, w.ua, w.transport)
		}
		msgs := readUntil(ctx, t, c, "feefilter")
		if got := commands(msgs); !slices.Equal(got, w.after) {
			t.Errorf("after the handshake %v, want %v", got, w.after)
		}
		if ff, ok := msgs[len(msgs)-1].(*wire.MsgFeeFilter); !ok || ff.MinFee != w.fee {
			t.Errorf("feefilter %v, want %d sat/kvB", msgs[len(msgs)-1], w.fee)
		}
		// The peer still answers: our feature did not end the
		// connection. Only master, at 70017, was sent one.
		if err := c.WriteMessage(ctx, wire.NewMsgPing(7)); err != nil {
			t.Fatal(err)
		}
		if pong, ok := readUntil(ctx, t, c, "pong")[0].(*wire.MsgPong); !ok || pong.Nonce != 7 {
			t.Errorf("pong %v", pong)
		}
		sent := slices.Contains(p.Received(), "feature")
		if want := w.rel == handshaketest.CoreMaster; sent != want {
			t.Errorf("feature received %v, want %v (%v)", sent, want, p.Received())
		}
	})
}

// TestLibraryGetsFinalAlert: a client announcing protocol 70012 gets every
// release's final alert right after the handshake, as the library's
// *UnknownMessage; one at 70013 does not.
func TestLibraryGetsFinalAlert(t *testing.T) {
	eachRelease(t, func(ctx context.Context, t *testing.T, w dialRelease, p *handshaketest.Peer) {
		for pver, want := range map[uint32]string{70012: "alert", 70013: "ping"} {
			c, res, err := handshake.DialConn(ctx, p.Addr(), handshake.Options{ProtocolVersion: pver})
			if err != nil {
				t.Fatalf("DialConn at %d: %v", pver, err)
			}
			m, err := c.ReadMessage(ctx)
			c.Close()
			if err != nil || m.Command() != want || res.NegotiatedVersion != pver {
				t.Fatalf("at %d: first message %v (%v), negotiated %d; want %s", pver, m, err, res.NegotiatedVersion, want)
			}
			if u, ok := m.(*handshake.UnknownMessage); want == "alert" && (!ok || !bytes.Equal(u.Payload, handshaketest.FinalAlert())) {
				t.Errorf("alert %v", m)
			}
		}
	})
}

// TestLibraryV2OnlyAgainstReleases: asked for v2 only, the library gets
// it from 27.0 on, and before that meets what a v1-only Core does with a
// v2 key: it reads it as a v1 header with the wrong magic and hangs up.
func TestLibraryV2OnlyAgainstReleases(t *testing.T) {
	eachRelease(t, func(ctx context.Context, t *testing.T, w dialRelease, p *handshaketest.Peer) {
		res, err := handshake.Dial(ctx, p.Addr(), handshake.Options{Transport: handshake.TransportV2})
		if w.transport == handshake.TransportV2 {
			if err != nil || res.Transport != handshake.TransportV2 {
				t.Errorf("v2: %v over %v", err, res.Transport)
			}
			return
		}
		if !errors.Is(err, handshake.ErrV1Only) {
			t.Errorf("v2 to a v1-only release: %v, want ErrV1Only", err)
		}
	})
}
