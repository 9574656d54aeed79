package handshaketest

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

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

// checkAfterVerack checks Core's and bcoin's post-handshake messages.
func checkAfterVerack(t *testing.T, fs []frame) {
	t.Helper()
	if len(fs[0].payload) != 0 {
		t.Errorf("sendheaders payload %x", fs[0].payload)
	}
	if want := []byte{0, 2, 0, 0, 0, 0, 0, 0, 0}; !bytes.Equal(fs[1].payload, want) {
		t.Errorf("sendcmpct payload %x, want %x", fs[1].payload, want)
	}
	if len(fs[2].payload) != 8 {
		t.Errorf("ping payload %x, want an 8-byte nonce", fs[2].payload)
	}
	if ff := decode[*wire.MsgFeeFilter](t, fs[3], wire.MainNet); ff.MinFee != 1000 {
		t.Errorf("feefilter %d", ff.MinFee)
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
	fs := cl.expect("version", "wtxidrelay", "sendaddrv2", "sendtxrcncl", "verack")
	v := checkVersion(t, fs[0], 70016, "/Satoshi:27.1.0/",
		wire.SFNodeNetwork|wire.SFNodeWitness|wire.SFNodeNetworkLimited|wire.SFNodeP2PV2)
	if local := cl.c.LocalAddr().String(); v.AddrYou.Port != uint16(portOf(t, local)) {
		t.Errorf("version addr_you %v:%d, client is %s", v.AddrYou.IP, v.AddrYou.Port, local)
	}
	if len(fs[0].payload) != 86+len(v.UserAgent) { // 85 + user agent + relay flag
		t.Errorf("version payload is %d bytes", len(fs[0].payload))
	}
	for _, f := range []frame{fs[1], fs[2], fs[4]} {
		if len(f.payload) != 0 {
			t.Errorf("%s payload %x", f.cmd, f.payload)
		}
	}
	if rc := fs[3].payload; len(rc) != 12 || binary.LittleEndian.Uint32(rc) != 1 {
		t.Errorf("sendtxrcncl payload %x, want version 1 and an 8-byte salt", rc)
	}
	// Nothing more until the client's verack.
	cl.quiet(100 * time.Millisecond)
	cl.send(wire.NewMsgWTxIdRelay())
	cl.send(wire.NewMsgSendAddrV2())
	cl.send(wire.NewMsgVerAck())
	checkAfterVerack(t, cl.expect("sendheaders", "sendcmpct", "ping", "feefilter"))
	pingPong(t, cl)
	receivedEquals(t, p, "version", "wtxidrelay", "sendaddrv2", "verack", "ping")
	if p.Accepted() != 1 {
		t.Errorf("Accepted() = %d", p.Accepted())
	}
}

func TestCorePre70016Client(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: Core})
	cl := dial(t, p.Addr())
	cl.sendVersion(70015)
	cl.expect("version", "verack")
	cl.quiet(100 * time.Millisecond)
	cl.send(wire.NewMsgVerAck())
	checkAfterVerack(t, cl.expect("sendheaders", "sendcmpct", "ping", "feefilter"))
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
	if _, err := cl.c.Write(Frame(wire.MainNet, "sendcmpct", sendCmpct())); err != nil {
		t.Fatal(err)
	}
	cl.send(wire.NewMsgVerAck())
	cl.quiet(200 * time.Millisecond)
	pingPong(t, cl)
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
	cl.quiet(100 * time.Millisecond)
	cl.send(wire.NewMsgVerAck())
	checkAfterVerack(t, cl.expect("sendheaders", "sendcmpct", "ping", "feefilter"))
	pingPong(t, cl)
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
			cl.quiet(100 * time.Millisecond)
			pingPong(t, cl)
		})
	}
}

func TestConfigOverridesIdentity(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{
		Behavior:        Btcd,
		Net:             wire.TestNet3,
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
