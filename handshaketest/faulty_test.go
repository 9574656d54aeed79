package handshaketest

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// Misbehaving peers, driven by a hand-rolled client.

// readRaw reads exactly n bytes.
func (cl *client) readRaw(n int) []byte {
	cl.t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(cl.c, b); err != nil {
		cl.t.Fatalf("reading %d bytes: %v", n, err)
	}
	return b
}

// rawVersion reads a version message whose header may be bad, returning
// header and payload, and checks the payload is a valid version.
func (cl *client) rawVersion() (hdr, payload []byte) {
	cl.t.Helper()
	hdr = cl.readRaw(24)
	if cmd := string(bytes.TrimRight(hdr[4:16], "\x00")); cmd != "version" {
		cl.t.Fatalf("command %q", cmd)
	}
	payload = cl.readRaw(int(binary.LittleEndian.Uint32(hdr[16:20])))
	var v wire.MsgVersion
	if err := v.BtcDecode(bytes.NewBuffer(payload), wire.ProtocolVersion, wire.BaseEncoding); err != nil {
		cl.t.Fatalf("payload is not a version: %v", err)
	}
	return hdr, payload
}

func TestSilent(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: Silent})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	cl.send(wire.NewMsgVerAck())
	cl.nothingMore()
	receivedEquals(t, p, "version", "verack")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	cl.closed()
}

func TestSlowDrip(t *testing.T) {
	t.Parallel()
	const interval = 2 * time.Millisecond
	p := startPeer(t, Config{Behavior: SlowDrip, DripInterval: interval})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	start := time.Now()
	f := cl.next()
	if took, min := time.Since(start), time.Duration(len(f.raw)-1)*interval; took < min {
		t.Errorf("%d-byte version took %v, want at least %v", len(f.raw), took, min)
	}
	if f.cmd != "version" {
		t.Fatalf("dripped %q", f.cmd)
	}
	decode[*wire.MsgVersion](t, f, wire.MainNet)
	cl.expect("verack")
	cl.send(wire.NewMsgVerAck())
	pingPong(t, cl)
}

func TestCloseAfterVersion(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: CloseAfterVersion})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	// A v1-only peer: no NODE_P2P_V2.
	checkVersion(t, cl.expect("version")[0], 70016, "/Satoshi:27.1.0/",
		wire.SFNodeNetwork|wire.SFNodeWitness|wire.SFNodeNetworkLimited)
	cl.closed()
}

func TestVerackBeforeVersion(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: VerackBeforeVersion})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	cl.expect("verack", "version", "verack")
}

func TestWrongMagic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		params *chaincfg.Params
		sent   wire.BitcoinNet
	}{
		{&chaincfg.MainNetParams, wire.TestNet3},
		{&chaincfg.TestNet3Params, wire.MainNet},
		{&chaincfg.SigNetParams, wire.MainNet},
	}
	for _, tt := range tests {
		t.Run(tt.params.Name, func(t *testing.T) {
			t.Parallel()
			p := startPeer(t, Config{Behavior: WrongMagic, ChainParams: tt.params})
			cl := dial(t, p.Addr())
			cl.net = tt.params.Net
			cl.sendVersion(70016)
			cl.net = tt.sent // the frame is otherwise valid
			decode[*wire.MsgVersion](t, cl.expect("version")[0], tt.sent)
			cl.nothingMore()
		})
	}
}

func TestBadChecksum(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: BadChecksum})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	hdr, payload := cl.rawVersion()
	if got := binary.LittleEndian.Uint32(hdr); got != uint32(wire.MainNet) {
		t.Errorf("magic %x", got)
	}
	if sum := doubleSHA(payload); bytes.Equal(sum[:4], hdr[20:24]) {
		t.Errorf("checksum %x is correct", hdr[20:24])
	}
	cl.nothingMore()
}

func TestOversizedPayload(t *testing.T) {
	t.Parallel()
	const interval = 20 * time.Millisecond
	p := startPeer(t, Config{Behavior: OversizedPayload, DripInterval: interval})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	hdr := cl.readRaw(24)
	start := time.Now()
	want := Frame(wire.MainNet, "version", nil)[:20]
	binary.LittleEndian.PutUint32(want[16:], 32<<20)
	if !bytes.Equal(hdr[:20], want) {
		t.Errorf("header %x, want %x...", hdr, want)
	}
	trickle := cl.readRaw(8)
	if took := time.Since(start); took < 7*interval { // 8 pauses, less our read latency
		t.Errorf("8 bytes in %v, want one per %v", took, interval)
	}
	if pver := int32(binary.LittleEndian.Uint32(trickle)); pver != 70016 {
		t.Errorf("trickled bytes %x do not start a version payload", trickle)
	}
	cl.nothingMore()
}

func TestGarbage(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: Garbage})
	var got [2][]byte
	for i := range got {
		cl := dial(t, p.Addr())
		cl.sendVersion(70016)
		got[i] = cl.readRaw(1024)
		cl.nothingMore()
	}
	if binary.LittleEndian.Uint32(got[0]) == uint32(wire.MainNet) {
		t.Errorf("garbage starts with the magic")
	}
	if !bytes.Equal(got[0], got[1]) {
		t.Errorf("garbage differs between connections")
	}
	if bytes.Count(got[0], []byte{0}) > 32 {
		t.Errorf("garbage is not random: %x", got[0][:64])
	}
}

func TestSelfEcho(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: SelfEcho})
	cl := dial(t, p.Addr())
	var sent bytes.Buffer
	if err := wire.WriteMessage(&sent, cl.version(70016), wire.ProtocolVersion, wire.MainNet); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.c.Write(sent.Bytes()); err != nil {
		t.Fatal(err)
	}
	fs := cl.expect("version", "verack")
	if !bytes.Equal(fs[0].raw, sent.Bytes()) {
		t.Errorf("echo %x, sent %x", fs[0].raw, sent.Bytes())
	}
}

func TestUnknownFlood(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: UnknownFlood})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	cl.expect("version")
	cl.send(wire.NewMsgVerAck())
	for i := range uint64(500) {
		f := cl.next()
		if f.cmd != "flood" || len(f.payload) != 8 || binary.LittleEndian.Uint64(f.payload) != i {
			t.Fatalf("message %d: %q %x", i, f.cmd, f.payload)
		}
	}
	receivedEquals(t, p, "version", "verack")
}

// TestCloseUnblocksFlood closes the peer while the flood is blocked writing
// to a client that stopped reading. It is not parallel, so that the only
// flood whose write blockedWriting can see is this test's.
func TestCloseUnblocksFlood(t *testing.T) {
	p := startPeer(t, Config{Behavior: UnknownFlood})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	cl.expect("version")
	blockedWriting(t, "serveUnknownFlood")
	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Close blocked")
	}
}
