package handshake_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// The rows of CONFORMANCE.md: each case is a peer scripted on a real
// loopback socket, doing what the row describes, and the verdict Bitcoin
// Core reaches on the same bytes (net_processing.cpp ProcessMessage, net.cpp
// V1Transport / V2Transport, BIP434). Run one with
// go test -run 'TestConformance/<case>' .

// conformanceCase is one row.
type conformanceCase struct {
	name   string
	v2     bool                            // the peer speaks v2, and so do we
	opts   handshake.Options               // Transport and Timeout are set by the case's transport
	script func(*handshaketest.Conn) error // what the peer sends after reading our version
	status handshake.Status
	err    error    // nil: completes
	ignore []string // Result.Ignored, each "command: reason prefix"
	check  func(t *testing.T, res handshake.Result)
}

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, tt := range conformanceCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t)
		})
	}
}

func (tt conformanceCase) run(t *testing.T) {
	cfg := handshaketest.Config{V2: tt.v2, Handler: func(ctx context.Context, c *handshaketest.Conn) error {
		if _, err := c.ReadVersion(); err != nil {
			return err
		}
		if err := tt.script(c); err != nil {
			return err
		}
		// Hold the connection until the client leaves.
		_, err := io.Copy(io.Discard, c.Net())
		return err
	}}
	peer := startPeer(t, cfg)
	opts := tt.opts
	opts.Transport = handshake.TransportV1
	if tt.v2 {
		opts.Transport = handshake.TransportV2
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second // the cases that wait for it set less
	}
	res, err := handshake.Dial(testContext(t, 10*time.Second), peer.Addr(), opts)
	if res.Status != tt.status {
		t.Errorf("Status = %v (err %v), want %v", res.Status, err, tt.status)
	}
	switch {
	case tt.err == nil && err != nil:
		t.Errorf("err = %v, want none", err)
	case tt.err != nil && !errors.Is(err, tt.err):
		t.Errorf("err = %v, want %v", err, tt.err)
	}
	checkIgnored(t, res.Ignored, tt.ignore)
	if tt.check != nil {
		tt.check(t, res)
	}
}

// encodedVersion is c's version with mutate applied, encoded.
func encodedVersion(c *handshaketest.Conn, mutate func(*wire.MsgVersion)) []byte {
	v := c.Version()
	if mutate != nil {
		mutate(v)
	}
	var b bytes.Buffer
	v.BtcEncode(&b, wire.ProtocolVersion, wire.BaseEncoding) // valid fields: no error
	return b.Bytes()
}

// feature is a BIP434 payload: the ID and the data, each after a
// one-byte CompactSize length (all the cases here need).
func feature(id string, data []byte) []byte {
	b := append([]byte{byte(len(id))}, id...)
	return append(append(b, byte(len(data))), data...)
}

// send writes each command with an empty payload.
func send(c *handshaketest.Conn, cmds ...string) error {
	for _, cmd := range cmds {
		if err := c.WriteCommand(cmd, nil); err != nil {
			return err
		}
	}
	return nil
}

// at70017 is a version at BIP434's protocol version.
func at70017(v *wire.MsgVersion) { v.ProtocolVersion = 70017 }

func conformanceCases() []conformanceCase {
	completed, failed, partial := handshake.StatusOK, handshake.StatusFailed, handshake.StatusPartiallyOK
	var cases []conformanceCase
	// Message order: the same on both transports.
	for _, v2 := range []bool{false, true} {
		tr := "v1/"
		if v2 {
			tr = "v2/"
		}
		cases = append(cases, []conformanceCase{
			{name: tr + "verack before version", v2: v2, status: completed,
				ignore: []string{"verack: before version"},
				script: func(c *handshaketest.Conn) error {
					if err := send(c, "verack"); err != nil {
						return err
					}
					if err := c.WriteMessage(c.Version()); err != nil {
						return err
					}
					return send(c, "verack")
				}},
			{name: tr + "feature and ping before version", v2: v2, status: completed,
				ignore: []string{"feature: before version", "ping: before version"},
				script: func(c *handshaketest.Conn) error {
					if err := c.WriteCommand("feature", feature("BIP434", nil)); err != nil {
						return err
					}
					if err := c.WriteCommand("ping", make([]byte, 8)); err != nil {
						return err
					}
					if err := c.WriteMessage(c.Version()); err != nil {
						return err
					}
					return send(c, "verack")
				}},
			{name: tr + "redundant version", v2: v2, status: completed,
				ignore: []string{"version: redundant version"},
				script: func(c *handshaketest.Conn) error {
					if err := c.WriteMessage(c.Version()); err != nil {
						return err
					}
					if err := c.WriteMessage(c.Version()); err != nil {
						return err
					}
					return send(c, "verack")
				}},
			{name: tr + "unsupported message before verack", v2: v2, status: completed,
				ignore: []string{"ping: unsupported before verack", "blob: unsupported before verack"},
				script: func(c *handshaketest.Conn) error {
					if err := c.WriteMessage(c.Version()); err != nil {
						return err
					}
					if err := c.WriteCommand("ping", make([]byte, 8)); err != nil {
						return err
					}
					return send(c, "blob", "sendcmpct", "sendheaders", "verack")
				},
				check: func(t *testing.T, res handshake.Result) {
					if want := []string{"ping", "blob", "sendcmpct", "sendheaders"}; !slices.Equal(res.Negotiation, want) {
						t.Errorf("Negotiation = %q, want %q", res.Negotiation, want)
					}
				}},
			{name: tr + "undecodable version, then a valid one", v2: v2, status: completed,
				ignore: []string{"version: undecodable version: user agent", "verack: before version"},
				script: func(c *handshaketest.Conn) error {
					bad := encodedVersion(c, func(v *wire.MsgVersion) { v.UserAgent = "/" })
					// A user agent of 300 bytes: past Core's 256. It
					// starts 7 bytes from the end (length, "/",
					// height, relay).
					at := len(bad) - 7
					bad = append(append(bad[:at:at], 0xfd, 0x2c, 0x01), append(bytes.Repeat([]byte{'a'}, 300), 0, 0, 0, 0, 1)...)
					if err := c.WriteCommand("version", bad); err != nil {
						return err
					}
					if err := send(c, "verack"); err != nil {
						return err
					}
					if err := c.WriteMessage(c.Version()); err != nil {
						return err
					}
					return send(c, "verack")
				}},
			{name: tr + "undecodable version only: wait for the time limit", v2: v2, status: failed, err: context.DeadlineExceeded,
				// Long enough for a v2 key exchange under -race on a busy machine.
				opts:   handshake.Options{Timeout: 2 * time.Second},
				ignore: []string{"version: undecodable version"},
				script: func(c *handshaketest.Conn) error {
					return c.WriteCommand("version", encodedVersion(c, nil)[:40])
				}},
			{name: tr + "version of 46 bytes", v2: v2, status: completed,
				script: func(c *handshaketest.Conn) error {
					if err := c.WriteCommand("version", encodedVersion(c, nil)[:46]); err != nil {
						return err
					}
					return send(c, "verack")
				},
				check: func(t *testing.T, res handshake.Result) {
					p := res.Peer
					if p.ProtocolVersion != 70016 || p.UserAgent != "" || p.StartHeight != -1 || !p.Relay || p.Nonce != 0 {
						t.Errorf("peer %+v: want Core's defaults for the missing fields", p)
					}
				}},
			{name: tr + "version with trailing bytes", v2: v2, status: completed,
				script: func(c *handshaketest.Conn) error {
					if err := c.WriteCommand("version", append(encodedVersion(c, nil), make([]byte, 1000)...)); err != nil {
						return err
					}
					return send(c, "verack")
				}},
			{name: tr + "negative timestamp", v2: v2, status: completed,
				script: func(c *handshaketest.Conn) error {
					if err := c.WriteMessage(versionWith(c, func(v *wire.MsgVersion) { v.Timestamp = time.Unix(-5, 0) })); err != nil {
						return err
					}
					return send(c, "verack")
				},
				check: func(t *testing.T, res handshake.Result) {
					if res.Peer.Timestamp.Unix() != 0 {
						t.Errorf("timestamp %v, want Core's clamp to 0", res.Peer.Timestamp)
					}
				}},
			{name: tr + "obsolete version with an undecodable user agent", v2: v2, status: partial, err: handshake.ErrPeerTooOld,
				script: func(c *handshaketest.Conn) error {
					p := encodedVersion(c, func(v *wire.MsgVersion) { v.ProtocolVersion = 31799; v.UserAgent = "" })
					p = append(p[:80], 0xfd) // truncated user agent length
					return c.WriteCommand("version", p)
				}},
			{name: tr + "wtxidrelay at a common version below 70016", v2: v2, status: completed,
				ignore: []string{"wtxidrelay: wtxidrelay at a common version below 70016"},
				script: func(c *handshaketest.Conn) error {
					if err := c.WriteMessage(versionWith(c, func(v *wire.MsgVersion) { v.ProtocolVersion = 70015 })); err != nil {
						return err
					}
					return send(c, "wtxidrelay", "verack")
				}},
			{name: tr + "features", v2: v2, status: completed,
				script: func(c *handshaketest.Conn) error {
					if err := c.WriteMessage(versionWith(c, at70017)); err != nil {
						return err
					}
					for _, f := range [][]byte{
						feature("BIP434", []byte{1, 2, 3}),
						feature(strings.Repeat("x", 80), bytes.Repeat([]byte{7}, 200)),
						feature("\x00\xff\x01\x7f", nil), // accepted: printable is a SHOULD
					} {
						if err := c.WriteCommand("feature", f); err != nil {
							return err
						}
					}
					return send(c, "verack")
				},
				check: func(t *testing.T, res handshake.Result) {
					want := []handshake.Feature{
						{ID: "BIP434", Data: []byte{1, 2, 3}},
						{ID: strings.Repeat("x", 80), Data: bytes.Repeat([]byte{7}, 200)},
						{ID: "\x00\xff\x01\x7f", Data: []byte{}},
					}
					if !slices.EqualFunc(res.Features, want, func(a, b handshake.Feature) bool {
						return a.ID == b.ID && bytes.Equal(a.Data, b.Data)
					}) {
						t.Errorf("Features = %q, want %q", res.Features, want)
					}
				}},
			{name: tr + "feature with 512 bytes of data", v2: v2, status: completed,
				script: func(c *handshaketest.Conn) error {
					if err := c.WriteMessage(versionWith(c, at70017)); err != nil {
						return err
					}
					p := append(append([]byte{4}, "abcd"...), 0xfd, 0x00, 0x02)
					if err := c.WriteCommand("feature", append(p, make([]byte, 512)...)); err != nil {
						return err
					}
					return send(c, "verack")
				},
				check: func(t *testing.T, res handshake.Result) {
					if len(res.Features) != 1 || len(res.Features[0].Data) != 512 {
						t.Errorf("Features = %v", res.Features)
					}
				}},
		}...)
		cases = append(cases, featureCases(tr, v2)...)
	}
	// Framing: v1 (V1Transport).
	cases = append(cases, []conformanceCase{
		{name: "v1/bad checksum", status: completed,
			ignore: []string{"version: bad checksum"},
			script: func(c *handshaketest.Conn) error {
				f := handshaketest.Frame(wire.MainNet, "version", encodedVersion(c, nil))
				f[20] ^= 0xff
				if err := c.WriteRaw(f); err != nil {
					return err
				}
				if err := c.WriteMessage(c.Version()); err != nil {
					return err
				}
				return send(c, "verack")
			}},
		{name: "v1/invalid command", status: completed,
			ignore: []string{"ver\x01ack: invalid command"},
			script: func(c *handshaketest.Conn) error {
				if err := c.WriteMessage(c.Version()); err != nil {
					return err
				}
				f := handshaketest.Frame(wire.MainNet, "ver\x01ack", make([]byte, 100))
				if err := c.WriteRaw(f); err != nil {
					return err
				}
				return send(c, "verack")
			}},
		{name: "v1/empty command", status: completed,
			ignore: []string{": unsupported before verack"},
			script: func(c *handshaketest.Conn) error {
				if err := c.WriteMessage(c.Version()); err != nil {
					return err
				}
				return send(c, "", "verack")
			}},
		{name: "v1/wrong magic", status: failed, err: handshake.ErrWrongNetwork,
			script: func(c *handshaketest.Conn) error {
				return c.WriteRaw(handshaketest.Frame(wire.TestNet3, "version", encodedVersion(c, nil)))
			}},
		{name: "v1/claim past 4,000,000 bytes", status: partial, err: handshake.ErrMessageTooLarge,
			opts: handshake.Options{MaxBytes: 8 << 20},
			script: func(c *handshaketest.Conn) error {
				if err := c.WriteMessage(c.Version()); err != nil {
					return err
				}
				return c.WriteClaim("blob", wire.MaxProtocolMessageLength+1)
			}},
	}...)
	// Framing: v2 (V2Transport).
	cases = append(cases, []conformanceCase{
		{name: "v2/undecodable message type", v2: true, status: completed,
			ignore: []string{": undecodable message type", ": undecodable message type"},
			script: func(c *handshaketest.Conn) error {
				if err := c.WriteMessage(c.Version()); err != nil {
					return err
				}
				if err := c.WritePacket(append([]byte{0, 'a', 0, 'b'}, make([]byte, 9)...)); err != nil {
					return err
				}
				if err := c.WritePacket(nil); err != nil { // empty contents
					return err
				}
				return send(c, "verack")
			}},
		{name: "v2/unknown one-byte message type", v2: true, status: completed,
			ignore: []string{"shortid-33: unknown message type ID", "shortid-200: unknown message type ID"},
			script: func(c *handshaketest.Conn) error {
				if err := c.WriteMessage(c.Version()); err != nil {
					return err
				}
				for _, id := range []byte{33, 200} {
					if err := c.WritePacket([]byte{id, 1, 2}); err != nil {
						return err
					}
				}
				return send(c, "verack")
			}},
		{name: "v2/feature as message type 37", v2: true, status: completed,
			script: func(c *handshaketest.Conn) error {
				if err := c.WriteMessage(versionWith(c, at70017)); err != nil {
					return err
				}
				if err := c.WritePacket(append([]byte{37}, feature("BIP434", []byte{9})...)); err != nil {
					return err
				}
				return send(c, "verack")
			},
			check: func(t *testing.T, res handshake.Result) {
				if len(res.Features) != 1 || res.Features[0].ID != "BIP434" || !bytes.Equal(res.Features[0].Data, []byte{9}) {
					t.Errorf("Features = %v", res.Features)
				}
			}},
	}...)
	return cases
}

// versionWith is c's version with mutate applied.
func versionWith(c *handshaketest.Conn, mutate func(*wire.MsgVersion)) *wire.MsgVersion {
	v := c.Version()
	mutate(v)
	return v
}

// TestConformanceOurFeatures: our BIP434 features go out after the peer's
// version and before our verack, only to a peer announcing 70017 or more,
// over v1 and v2 (short ID 37).
func TestConformanceOurFeatures(t *testing.T) {
	t.Parallel()
	ours := []handshake.Feature{{ID: "BIP434", Data: []byte{1}}, {ID: "example.org/x", Data: nil}}
	for _, v2 := range []bool{false, true} {
		for _, pver := range []int32{70016, 70017} {
			got := make(chan []string, 1)
			payloads := make(chan [][]byte, 1)
			peer := startPeer(t, handshaketest.Config{V2: v2, Handler: func(ctx context.Context, c *handshaketest.Conn) error {
				if _, err := c.ReadVersion(); err != nil {
					return err
				}
				if err := c.WriteMessage(versionWith(c, func(v *wire.MsgVersion) { v.ProtocolVersion = pver })); err != nil {
					return err
				}
				var cmds []string
				var feats [][]byte
				for {
					cmd, payload, err := c.ReadMessage()
					if err != nil {
						return err
					}
					cmds = append(cmds, cmd)
					if cmd == "feature" {
						feats = append(feats, payload)
					}
					if cmd == "verack" {
						break
					}
				}
				got <- cmds
				payloads <- feats
				return send(c, "verack")
			}})
			tr := handshake.TransportV1
			if v2 {
				tr = handshake.TransportV2
			}
			if _, err := handshake.Dial(testContext(t, 10*time.Second), peer.Addr(), handshake.Options{Transport: tr, Features: ours}); err != nil {
				t.Fatal(err)
			}
			want := []string{"wtxidrelay", "sendaddrv2", "verack"}
			if pver >= 70017 {
				want = []string{"wtxidrelay", "sendaddrv2", "feature", "feature", "verack"}
			}
			if cmds := <-got; !slices.Equal(cmds, want) {
				t.Errorf("v2 %v, peer at %d: we sent %q, want %q", v2, pver, cmds, want)
			}
			feats := <-payloads
			if pver >= 70017 && (len(feats) != 2 || !bytes.Equal(feats[0], feature("BIP434", []byte{1})) ||
				!bytes.Equal(feats[1], feature("example.org/x", nil))) {
				t.Errorf("feature payloads %x", feats)
			}
		}
	}
}

// TestConformanceOurVersion: we announce 70017, BIP434's version, by default.
func TestConformanceOurVersion(t *testing.T) {
	t.Parallel()
	got := make(chan int32, 1)
	peer := startPeer(t, handshaketest.Config{Handler: func(ctx context.Context, c *handshaketest.Conn) error {
		v, err := c.ReadVersion()
		if err != nil {
			return err
		}
		got <- v.ProtocolVersion
		return nil
	}})
	handshake.Dial(testContext(t, 10*time.Second), peer.Addr(), handshake.Options{Transport: handshake.TransportV1})
	if v := <-got; v != 70017 || handshake.DefaultProtocolVersion != 70017 {
		t.Errorf("we announced %d (DefaultProtocolVersion %d), want 70017", v, handshake.DefaultProtocolVersion)
	}
}

// TestConformanceIgnoredCount: ignored messages count against MaxMessages
// and MaxBytes, as the messages they are.
func TestConformanceIgnoredCount(t *testing.T) {
	t.Parallel()
	peer := startPeer(t, handshaketest.Config{Handler: func(ctx context.Context, c *handshaketest.Conn) error {
		if _, err := c.ReadVersion(); err != nil {
			return err
		}
		for range 10 {
			if err := c.WriteCommand("ping", binary.LittleEndian.AppendUint64(nil, 1)); err != nil {
				return err
			}
		}
		_, err := io.Copy(io.Discard, c.Net())
		return err
	}})
	res, err := handshake.Dial(testContext(t, 10*time.Second), peer.Addr(), handshake.Options{Transport: handshake.TransportV1, MaxMessages: 5})
	if !errors.Is(err, handshake.ErrLimitExceeded) || len(res.Ignored) != 5 {
		t.Errorf("err %v with %d ignored, want ErrLimitExceeded after 5", err, len(res.Ignored))
	}
}

// TestConformanceV2WrongNetwork: a v2 peer of another network is known by
// its garbage terminator, derived with that network's magic, and reported
// as ErrWrongNetwork at once, where Core's own responder would search on to
// its limit; the default TransportAuto does not fall back to v1 then.
func TestConformanceV2WrongNetwork(t *testing.T) {
	t.Parallel()
	peer := startPeer(t, handshaketest.Config{ChainParams: &chaincfg.TestNet3Params})
	for _, tr := range []handshake.Transport{handshake.TransportV2, handshake.TransportAuto} {
		start := time.Now()
		res, err := handshake.Dial(testContext(t, 10*time.Second), peer.Addr(), handshake.Options{Transport: tr})
		var he *handshake.Error
		if !errors.Is(err, handshake.ErrWrongNetwork) || !errors.As(err, &he) || he.Step != handshake.StepKeyExchange ||
			!strings.Contains(err.Error(), "testnet3") || res.Fallback != "" {
			t.Errorf("%v: %v (fallback %q), want ErrWrongNetwork naming testnet3 at the key exchange", tr, err, res.Fallback)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%v: took %v", tr, d)
		}
	}
}

// TestOptionsFeatures: our features must be what BIP434 allows, and we
// must announce 70017 to send any.
func TestOptionsFeatures(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts handshake.Options
		ok   bool
	}{
		{"4- and 80-byte IDs, 512 bytes of data", handshake.Options{Features: []handshake.Feature{
			{ID: "abcd"}, {ID: strings.Repeat("x", 80), Data: make([]byte, 512)}}}, true},
		{"3-byte ID", handshake.Options{Features: []handshake.Feature{{ID: "abc"}}}, false},
		{"81-byte ID", handshake.Options{Features: []handshake.Feature{{ID: strings.Repeat("x", 81)}}}, false},
		{"513 bytes of data", handshake.Options{Features: []handshake.Feature{{ID: "abcd", Data: make([]byte, 513)}}}, false},
		{"announcing 70016", handshake.Options{ProtocolVersion: 70016, Features: []handshake.Feature{{ID: "abcd"}}}, false},
	} {
		// A Dialer that fails: options are judged before any dial.
		tt.opts.Dialer = &deadlineDialer{}
		_, err := handshake.Dial(context.Background(), "203.0.113.7", tt.opts)
		var he *handshake.Error
		if invalid := errors.Is(err, handshake.ErrInvalidOptions) && errors.As(err, &he) && he.Step == handshake.StepOptions; invalid == tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
