package handshaketest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
)

// Hostile peers, driven by the hand-rolled client: each sends exactly the
// bytes its documentation promises.

func TestHostileBehaviors(t *testing.T) {
	t.Parallel()
	hs := HostileBehaviors()
	if len(hs) != 10 || hs[0] != VersionTooLarge || hs[len(hs)-1] != ClaimAfterHandshake {
		t.Errorf("HostileBehaviors() = %v", hs)
	}
	// An undefined value fails rather than serving something.
	if _, err := NewPeer(Config{Behavior: 99}); err == nil || !strings.Contains(err.Error(), "Behavior(99)") {
		t.Errorf("NewPeer(Behavior(99)) = %v", err)
	}
}

func TestVersionTooLarge(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: VersionTooLarge})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	f := cl.next() // checks magic and checksum
	if f.cmd != "version" || len(f.payload) != versionTooLargeSize {
		t.Fatalf("got %q with %d bytes, want a %d-byte version", f.cmd, len(f.payload), versionTooLargeSize)
	}
	if max := (&wire.MsgVersion{}).MaxPayloadLength(wire.ProtocolVersion); len(f.payload) <= int(max) {
		t.Errorf("payload %d bytes is within the version maximum %d", len(f.payload), max)
	}
	// A real version, padded.
	var v wire.MsgVersion
	if err := v.BtcDecode(bytes.NewBuffer(f.payload), wire.ProtocolVersion, wire.BaseEncoding); err != nil || v.UserAgent != "/Satoshi:27.1.0/" {
		t.Errorf("payload does not start with a version: %v, %+v", err, v)
	}
	cl.nothingMore()
}

func TestUserAgentLimits(t *testing.T) {
	t.Parallel()
	t.Run("256 bytes", func(t *testing.T) {
		t.Parallel()
		p := startPeer(t, Config{Behavior: MaxUserAgent})
		cl := dial(t, p.Addr())
		cl.sendVersion(70016)
		fs := cl.expect("version", "verack")
		v := decode[*wire.MsgVersion](t, fs[0], wire.MainNet) // wire accepts it
		if len(v.UserAgent) != wire.MaxUserAgentLen {
			t.Errorf("user agent of %d bytes, want %d", len(v.UserAgent), wire.MaxUserAgentLen)
		}
		cl.send(wire.NewMsgVerAck())
		pingPong(t, cl)
	})
	t.Run("257 bytes", func(t *testing.T) {
		t.Parallel()
		p := startPeer(t, Config{Behavior: UserAgentTooLong})
		cl := dial(t, p.Addr())
		cl.sendVersion(70016)
		fs := cl.expect("version", "verack")
		_, _, err := wire.ReadMessage(bytes.NewReader(fs[0].raw), wire.ProtocolVersion, wire.MainNet)
		if err == nil || !strings.Contains(err.Error(), "user agent") {
			t.Errorf("wire decodes the version: %v", err)
		}
		// The var-string length after the 80 fixed bytes: 0xfd, 257.
		if b := fs[0].payload[80:83]; b[0] != 0xfd || binary.LittleEndian.Uint16(b[1:]) != wire.MaxUserAgentLen+1 {
			t.Errorf("user agent length prefix %x", b)
		}
		if max := (&wire.MsgVersion{}).MaxPayloadLength(wire.ProtocolVersion); len(fs[0].payload) > int(max) {
			t.Errorf("payload %d bytes exceeds the version maximum %d: it should fail only on decoding", len(fs[0].payload), max)
		}
		cl.nothingMore()
	})
}

func TestDuplicateVersion(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: DuplicateVersion})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	fs := cl.expect("version", "version", "verack")
	decode[*wire.MsgVersion](t, fs[1], wire.MainNet)
	cl.send(wire.NewMsgVerAck())
	pingPong(t, cl)
}

func TestPingFlood(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: PingFlood})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	seen := map[uint64]bool{}
	for i := range 500 {
		f := cl.next()
		if f.cmd != "ping" {
			t.Fatalf("message %d: %q, want only pings", i, f.cmd)
		}
		nonce := decode[*wire.MsgPing](t, f, wire.MainNet).Nonce
		if seen[nonce] {
			t.Fatalf("message %d: nonce %x repeated", i, nonce)
		}
		seen[nonce] = true
	}
	// It keeps reading while it floods.
	cl.send(wire.NewMsgVerAck())
	receivedEquals(t, p, "version", "verack")
}

func TestByteFlood(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: ByteFlood})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	cl.expect("version")
	for i := range 20 {
		if f := cl.next(); f.cmd != hostileCommand || len(f.payload) != byteFloodSize {
			t.Fatalf("message %d: %q with %d bytes", i, f.cmd, len(f.payload))
		}
	}
}

func TestOversizedUnknown(t *testing.T) {
	t.Parallel()
	const interval = 2 * time.Millisecond
	cfg := Config{Behavior: OversizedUnknown}
	cfg.DripInterval = interval
	p := startPeer(t, cfg)
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	hdr := cl.readRaw(wire.MessageHeaderSize)
	if cmd := string(bytes.TrimRight(hdr[4:16], "\x00")); cmd != hostileCommand {
		t.Errorf("command %q", cmd)
	}
	if n := binary.LittleEndian.Uint32(hdr[16:20]); n != oversizedUnknownSize || n > wire.MaxProtocolMessageLength {
		t.Errorf("claims %d bytes, want %d, under wire's %d", n, oversizedUnknownSize, wire.MaxProtocolMessageLength)
	}
	start := time.Now()
	cl.readRaw(oversizedDrip)
	if took := time.Since(start); took < oversizedDrip*interval {
		t.Errorf("%d bytes in %v: not trickled", oversizedDrip, took)
	}
	cl.nothingMore()
}

func TestClaimAfterHandshake(t *testing.T) {
	t.Parallel()
	const interval = 2 * time.Millisecond
	cfg := Config{Behavior: ClaimAfterHandshake}
	cfg.DripInterval = interval
	p := startPeer(t, cfg)
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	cl.expect("version", "verack")
	cl.send(wire.NewMsgVerAck())
	hdr := cl.readRaw(wire.MessageHeaderSize)
	if cmd := string(bytes.TrimRight(hdr[4:16], "\x00")); cmd != hostileCommand {
		t.Errorf("command %q", cmd)
	}
	if n := binary.LittleEndian.Uint32(hdr[16:20]); n != ClaimSize || n > wire.MaxProtocolMessageLength {
		t.Errorf("claims %d bytes, want %d, under wire's %d", n, ClaimSize, wire.MaxProtocolMessageLength)
	}
	start := time.Now()
	cl.readRaw(oversizedDrip)
	if took := time.Since(start); took < (oversizedDrip-1)*interval {
		t.Errorf("%d bytes in %v: not trickled", oversizedDrip, took)
	}
	cl.nothingMore()
}

// readAll reads until the connection fails, returning what arrived.
func (cl *client) readAll() ([]byte, error) {
	var got []byte
	buf := make([]byte, 512)
	for {
		n, err := cl.c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return got, err
		}
	}
}

func TestResetMidVersion(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: ResetMidVersion})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	got, err := cl.readAll()
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read error %v, want a reset", err)
	}
	// What arrived before the reset, if the client read it in time, is the
	// start of a version.
	if len(got) >= 16 && string(bytes.TrimRight(got[4:16], "\x00")) != "version" {
		t.Errorf("received %x", got)
	}
}

func TestHalfClose(t *testing.T) {
	t.Parallel()
	p := startPeer(t, Config{Behavior: HalfClose})
	cl := dial(t, p.Addr())
	cl.sendVersion(70016)
	got, err := cl.readAll()
	if err != io.EOF || len(got) != wire.MessageHeaderSize/2 {
		t.Fatalf("read %x then %v, want half a header then EOF", got, err)
	}
	if wire.BitcoinNet(binary.LittleEndian.Uint32(got)) != wire.MainNet {
		t.Errorf("half header %x", got)
	}
	// Only the peer's sending side is shut: it still reads.
	cl.send(wire.NewMsgVerAck())
	receivedEquals(t, p, "version", "verack")
}

// TestHostileOverPipe serves every Hostile peer over net.Pipe, which has
// neither SO_LINGER nor CloseWrite: each must still serve and return once
// the client leaves.
func TestHostileOverPipe(t *testing.T) {
	t.Parallel()
	for _, h := range HostileBehaviors() {
		t.Run(h.String(), func(t *testing.T) {
			t.Parallel()
			cfg := Config{Behavior: h}
			cfg.DripInterval = time.Millisecond
			cl, done := pipe(t, cfg)
			cl.sendVersion(70016)
			// Every hostile peer sends at least half a header (HalfClose
			// no more); the writer may then stay blocked on the pipe
			// until the client leaves.
			var half [wire.MessageHeaderSize / 2]byte
			if _, err := io.ReadFull(cl.c, half[:]); err != nil {
				t.Errorf("half a header: %v", err)
			}
			cl.c.Close()
			if err := wait(t, done); err != nil {
				t.Errorf("Serve = %v after the client left", err)
			}
		})
	}
}

// TestHostileCloseMidFlood closes the floods' peers while they are blocked
// writing to a client that stopped reading: Close must not hang.
//
// It is not parallel, so that the only flood whose write blockedWriting can
// see is this test's.
func TestHostileCloseMidFlood(t *testing.T) {
	for _, h := range []Behavior{PingFlood, ByteFlood} {
		p, err := NewPeer(Config{Behavior: h})
		if err != nil {
			t.Fatal(err)
		}
		cl := dial(t, p.Addr())
		cl.sendVersion(70016)
		cl.next()
		blockedWriting(t, "serve"+h.String())
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		done := make(chan error, 1)
		go func() { done <- p.Close() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%v: Close: %v", h, err)
			}
		case <-ctx.Done():
			t.Fatalf("%v: Close blocked", h)
		}
		cancel()
	}
}
