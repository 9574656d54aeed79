package handshaketest

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// Behaviours imitating real nodes, driven by a hand-rolled client.

// checkVersion decodes a version frame and checks the announced identity.
func checkVersion(t *testing.T, f frame, pver int32, ua string, services wire.ServiceFlag) *wire.MsgVersion {
	t.Helper()
	v := decode[*wire.MsgVersion](t, f, wire.MainNet)
	if v.ProtocolVersion != pver || v.UserAgent != ua || v.Services != services {
		t.Errorf("version announces %d %q %v, want %d %q %v",
			v.ProtocolVersion, v.UserAgent, v.Services, pver, ua, services)
	}
	if v.Nonce == 0 || v.LastBlock != 0 || v.DisableRelayTx {
		t.Errorf("version nonce %x, height %d, no-relay %v", v.Nonce, v.LastBlock, v.DisableRelayTx)
	}
	return v
}

// checkAfterVerack checks Core's post-handshake messages (bcoin's after its
// sendheaders): sendcmpct, ping, feefilter of fee sat/kvB.
func checkAfterVerack(t *testing.T, fs []frame, fee int64) {
	t.Helper()
	if want := []byte{0, 2, 0, 0, 0, 0, 0, 0, 0}; !bytes.Equal(fs[0].payload, want) {
		t.Errorf("sendcmpct payload %x, want %x", fs[0].payload, want)
	}
	if len(fs[1].payload) != 8 {
		t.Errorf("ping payload %x, want an 8-byte nonce", fs[1].payload)
	}
	if ff := decode[*wire.MsgFeeFilter](t, fs[2], wire.MainNet); ff.MinFee != fee {
		t.Errorf("feefilter %d, want %d", ff.MinFee, fee)
	}
}

// pingPong checks that an established peer answers a ping.
func pingPong(t *testing.T, cl *client) {
	t.Helper()
	cl.send(wire.NewMsgPing(42))
	f := cl.expect(wire.CmdPong)[0]
	if got := binary.LittleEndian.Uint64(f.payload); got != 42 {
		t.Errorf("pong nonce %d", got)
	}
}

func TestCore(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	// No sendtxrcncl: Core sends it only with -txreconciliation (off by
	// default). NODE_P2P_V2: the default Core speaks v2.
	fs := cl.expect("version", "wtxidrelay", "sendaddrv2", "verack")
	v := checkVersion(t, fs[0], 70016, "/Satoshi:27.1.0/",
		wire.SFNodeNetwork|wire.SFNodeWitness|wire.SFNodeNetworkLimited|wire.SFNodeP2PV2)
	// Core names the client's address only when it is routable: never on
	// loopback.
	if !v.AddrYou.IP.IsUnspecified() || v.AddrYou.Port != 0 {
		t.Errorf("version addr_you %v:%d, want [::]:0 for a loopback client", v.AddrYou.IP, v.AddrYou.Port)
	}
	if len(fs[0].payload) != 86+len(v.UserAgent) { // 85 + user agent + relay flag
		t.Errorf("version payload is %d bytes", len(fs[0].payload))
	}
	for _, f := range []frame{fs[1], fs[2], fs[3]} {
		if len(f.payload) != 0 {
			t.Errorf("%s payload %x", f.cmd, f.payload)
		}
	}
	cl.send(wire.NewMsgWTxIdRelay())
	cl.send(wire.NewMsgSendAddrV2())
	cl.send(wire.NewMsgVerAck())
	// No sendheaders: the client announced no headers chain.
	checkAfterVerack(t, cl.expect("sendcmpct", "ping", "feefilter"), 1000)
	pingPong(t, cl)
	receivedEquals(t, p, "version", "wtxidrelay", "sendaddrv2", "verack", "ping")
	if p.Accepted() != 1 {
		t.Errorf("Accepted() = %d", p.Accepted())
	}
	nothingBeforeVerack(t, p, 70016, "version", "wtxidrelay", "sendaddrv2", "verack")
}

func TestCorePre70016Client(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: Core})
	cl := dial(t, p.Addr())
	cl.sendVersion(70015)
	cl.expect("version", "verack")
	cl.send(wire.NewMsgVerAck())
	checkAfterVerack(t, cl.expect("sendcmpct", "ping", "feefilter"), 1000)
	nothingBeforeVerack(t, p, 70015, "version", "verack")
}

// TestCoreTxReconciliation: sendtxrcncl only with -txreconciliation, and
// then only to a client that asked for transaction relay (Core's VERSION
// branch: m_txreconciliation and the peer's m_relay_txs).
func TestCoreTxReconciliation(t *testing.T) {
	t.Parallel()
	for _, relay := range []bool{true, false} {
		p := startPeer(t, Config{TxReconciliation: true, V1Only: true})
		cl := dial(t, p.Addr())
		v := cl.version(70016)
		v.DisableRelayTx = !relay
		cl.send(v)
		want := []string{"version", "wtxidrelay", "sendaddrv2", "verack"}
		if relay {
			want = []string{"version", "wtxidrelay", "sendaddrv2", "sendtxrcncl", "verack"}
		}
		fs := cl.expect(want...)
		if rc := fs[3].payload; relay && (len(rc) != 12 || binary.LittleEndian.Uint32(rc) != 1) {
			t.Errorf("sendtxrcncl payload %x, want version 1 and an 8-byte salt", rc)
		}
		// The version still advertises no NODE_P2P_V2: V1Only.
		if s := decode[*wire.MsgVersion](t, fs[0], wire.MainNet).Services; s&wire.SFNodeP2PV2 != 0 {
			t.Errorf("a v1-only Core advertises %v", s)
		}
	}
}

// TestCoreFeatures: Core master sends its BIP434 features only to a
// client at 70017 or more, and ends the connection on a client's malformed
// feature or one from a client below 70017 (TestCoreReleaseFeature has the
// releases, which ignore them all).
func TestCoreFeatures(t *testing.T) {
	t.Parallel()
	feats := []Feature{{ID: "BIP434", Data: []byte{1, 2}}, {ID: "test-feature-2"}}
	for _, tt := range []struct {
		name   string
		pver   int32
		send   []byte // a feature payload the client sends, or nil
		want   []string
		closes bool
	}{
		{"70017 client", 70017, nil, []string{"version", "wtxidrelay", "sendaddrv2", "feature", "feature", "verack"}, false},
		{"70016 client", 70016, nil, []string{"version", "wtxidrelay", "sendaddrv2", "verack"}, false},
		{"valid feature", 70017, appendFeature(nil, Feature{ID: "abcd"}), nil, false},
		{"ID of 3 bytes", 70017, []byte{3, 'a', 'b', 'c', 0}, nil, true},
		{"trailing byte", 70017, append(appendFeature(nil, Feature{ID: "abcd"}), 0), nil, true},
		{"from a 70016 client", 70016, appendFeature(nil, Feature{ID: "abcd"}), nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Core: CoreMaster, V1Only: true}
			if tt.send == nil {
				cfg.Features = feats
			}
			p := startPeer(t, cfg)
			cl := dial(t, p.Addr())
			cl.sendVersion(tt.pver)
			if tt.want != nil {
				fs := cl.expect(tt.want...)
				if tt.pver >= 70017 && (!bytes.Equal(fs[3].payload, append([]byte{6}, "BIP434\x02\x01\x02"...)) ||
					!bytes.Equal(fs[4].payload, append([]byte{14}, "test-feature-2\x00"...))) {
					t.Errorf("feature payloads %x, %x", fs[3].payload, fs[4].payload)
				}
				return
			}
			cl.expect("version", "wtxidrelay", "sendaddrv2", "verack")
			cl.send(&rawMsg{"feature", tt.send})
			cl.send(wire.NewMsgVerAck())
			if tt.closes {
				cl.closed()
				return
			}
			checkAfterVerack(t, cl.expect("sendcmpct", "ping", "feefilter"), 100)
		})
	}
}

func TestCoreDropsObsoleteClient(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{})
	cl := dial(t, p.Addr())
	cl.sendVersion(31799)
	cl.closed()
}

func TestCoreDelay(t *testing.T) {
	t.Parallel()
	const delay = 200 * time.Millisecond
	p := startPeer(t, Config{Delay: delay})
	cl := dial(t, p.Addr())
	start := time.Now()
	cl.sendVersion(70016)
	cl.expect("version")
	if took := time.Since(start); took < delay {
		t.Errorf("version after %v, want at least %v", took, delay)
	}
}

func TestBtcd(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: Btcd})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	// btcd's verack comes before ours: we have not sent it yet.
	fs := cl.expect("version", "sendaddrv2", "verack")
	checkVersion(t, fs[0], 70016, "/btcd:0.26.2/", wire.SFNodeNetwork|wire.SFNodeBloom|
		wire.SFNodeWitness|wire.SFNodeCF|wire.SFNodeNetworkLimited)
	// Unknown to wire/v2 (wtxidrelay, sendcmpct) is skipped, sendaddrv2
	// is accepted, and after verack btcd sends nothing unprompted.
	cl.send(wire.NewMsgWTxIdRelay())
	cl.send(wire.NewMsgSendAddrV2())
	if _, err := cl.c.Write(Frame(wire.MainNet, "sendcmpct", sendCmpct(2))); err != nil {
		t.Fatal(err)
	}
	cl.send(wire.NewMsgVerAck())
	pingPong(t, cl) // the pong comes next: nothing unprompted before it
	receivedEquals(t, p, "version", "wtxidrelay", "sendaddrv2", "sendcmpct", "verack", "ping")
}

func TestBtcdPre70016Client(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: Btcd})
	cl := dial(t, p.Addr())
	cl.sendVersion(70015)
	cl.expect("version", "verack")
	cl.send(wire.NewMsgVerAck())
	pingPong(t, cl)
}

func TestBtcdRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		first  func(cl *client)
		code   wire.RejectCode
		reason string
	}{
		{"non-version first", func(cl *client) { cl.send(wire.NewMsgPing(1)) },
			wire.RejectMalformed, "a version message must precede all others"},
		{"version below 209", func(cl *client) { cl.sendVersion(208) },
			wire.RejectObsolete, "protocol version must be 209 or greater"},
	}
	p := startPeer(t, Config{Behavior: Btcd})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cl := dial(t, p.Addr())
			tt.first(cl)
			rej := decode[*wire.MsgReject](t, cl.expect("reject")[0], wire.MainNet)
			if rej.Cmd != "version" || rej.Code != tt.code || rej.Reason != tt.reason {
				t.Errorf("reject %q %v %q", rej.Cmd, rej.Code, rej.Reason)
			}
			cl.closed()
		})
	}
}

func TestBtcdDisconnectsOnKnownMessageBeforeVerack(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: Btcd})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	cl.expect("version", "sendaddrv2", "verack")
	cl.send(wire.NewMsgSendHeaders()) // known to wire, so not skipped
	cl.closed()
}

func TestBcoin(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: Bcoin})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	fs := cl.expect("version", "verack")
	checkVersion(t, fs[0], 70015, "/bcoin:2.2.0/", wire.SFNodeNetwork|wire.SFNodeWitness)
	cl.send(wire.NewMsgVerAck())
	fs = cl.expect("sendheaders", "sendcmpct", "ping", "feefilter")
	if len(fs[0].payload) != 0 {
		t.Errorf("sendheaders payload %x", fs[0].payload)
	}
	checkAfterVerack(t, fs[1:], 1000)
	pingPong(t, cl)
	nothingBeforeVerack(t, p, 70016, "version", "verack")
}

func TestOldAndTooOld(t *testing.T) {
	t.Parallel()
	tests := []struct {
		b     Behavior
		pver  int32
		ua    string
		relay int // bytes of relay flag: absent before 70001
	}{
		{Old, 70001, "/Satoshi:0.8.6/", 1},
		{TooOld, 31799, "/Satoshi:0.3.18/", 0},
	}
	for _, tt := range tests {
		t.Run(tt.b.String(), func(t *testing.T) {
			t.Parallel()
			p := startPeer(t, Config{Behavior: tt.b})
			cl := dial(t, p.Addr())
			cl.sendVersion(70016)
			fs := cl.expect("version", "verack")
			checkVersion(t, fs[0], tt.pver, tt.ua, wire.SFNodeNetwork)
			if want := 85 + len(tt.ua) + tt.relay; len(fs[0].payload) != want {
				t.Errorf("version payload %d bytes, want %d", len(fs[0].payload), want)
			}
			cl.send(wire.NewMsgVerAck())
			pingPong(t, cl) // the pong comes next: nothing unprompted before it
		})
	}
}

func TestConfigOverridesIdentity(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{
		Behavior:        Btcd,
		ChainParams:     &chaincfg.TestNet3Params,
		ProtocolVersion: 70015,
		UserAgent:       "/custom:1.0/",
		Services:        wire.SFNodeNetworkLimited,
		StartHeight:     840000,
	})
	cl := dial(t, p.Addr())
	cl.net = wire.TestNet3
	cl.sendVersion(70016)
	fs := cl.expect("version", "verack") // negotiated 70015: no sendaddrv2
	v := decode[*wire.MsgVersion](t, fs[0], wire.TestNet3)
	if v.ProtocolVersion != 70015 || v.UserAgent != "/custom:1.0/" ||
		v.Services != wire.SFNodeNetworkLimited || v.LastBlock != 840000 {
		t.Errorf("version %+v", v)
	}
}

// rawMsg is a message of any command with a raw payload.
type rawMsg struct {
	cmd     string
	payload []byte
}

func (m *rawMsg) BtcDecode(io.Reader, uint32, wire.MessageEncoding) error { return nil }
func (m *rawMsg) BtcEncode(w io.Writer, _ uint32, _ wire.MessageEncoding) error {
	_, err := w.Write(m.payload)
	return err
}
func (m *rawMsg) Command() string                { return m.cmd }
func (m *rawMsg) MaxPayloadLength(uint32) uint32 { return 1 << 20 }

// TestCoreIgnoresWhatCoreIgnores: before the client's version, the Core
// fake reads past what Core ignores or drops (a ping, a message with a bad
// checksum or an invalid command, a version that does not decode) and
// answers the first valid version.
func TestCoreIgnoresWhatCoreIgnores(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{V1Only: true})
	cl := dial(t, p.Addr())
	cl.send(wire.NewMsgPing(1))
	bad := Frame(wire.MainNet, "ping", make([]byte, 8))
	bad[20] ^= 0xff
	longUA := cl.version(70016)
	longUA.UserAgent = strings.Repeat("a", 300)
	var b bytes.Buffer
	longUA.BtcEncode(&b, 70016, wire.BaseEncoding)
	for _, raw := range [][]byte{bad, Frame(wire.MainNet, "p\x01ng", nil), Frame(wire.MainNet, "version", b.Bytes())} {
		if _, err := cl.c.Write(raw); err != nil {
			t.Fatal(err)
		}
	}
	// The version's answer comes next: none of the junk was answered.
	cl.sendVersion(70016)
	cl.expect("version", "wtxidrelay", "sendaddrv2", "verack")
}
