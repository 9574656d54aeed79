package handshaketest

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
)

// Serve, Conn and Frame, over net.Pipe.

// pipe serves cfg on one end of a net.Pipe and returns a client on the
// other, plus Serve's result once it returns.
func pipe(t *testing.T, cfg Config) (*client, <-chan error) {
	t.Helper()
	srv, cli := net.Pipe()
	cli.SetDeadline(time.Now().Add(testTimeout))
	ctx := testContext(t)
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- Serve(ctx, srv, cfg)
	}()
	t.Cleanup(func() { cli.Close(); <-finished }) // Serve must not outlive the test
	return &client{t: t, c: cli, net: wire.MainNet}, done
}

func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(testTimeout):
		t.Fatal("Serve did not return")
		return nil
	}
}

func TestFrameGolden(t *testing.T) {
	t.Parallel()
	// verack on mainnet, as every node sends it.
	want, _ := hex.DecodeString("f9beb4d976657261636b000000000000000000005df6e0e2")
	if got := Frame(wire.MainNet, "verack", nil); !bytes.Equal(got, want) {
		t.Errorf("Frame = %x, want %x", got, want)
	}
	var ref bytes.Buffer
	ping := wire.NewMsgPing(7)
	if err := wire.WriteMessage(&ref, ping, wire.ProtocolVersion, wire.TestNet3); err != nil {
		t.Fatal(err)
	}
	payload := binary.LittleEndian.AppendUint64(nil, 7)
	if got := Frame(wire.TestNet3, "ping", payload); !bytes.Equal(got, ref.Bytes()) {
		t.Errorf("Frame = %x, wire writes %x", got, ref.Bytes())
	}
	defer func() {
		if recover() == nil {
			t.Error("Frame accepted a 13-byte command")
		}
	}()
	Frame(wire.MainNet, "thirteenbytes", nil)
}

func TestServeCore(t *testing.T) {
	t.Parallel()
	cl, done := pipe(t, Config{})
	cl.sendVersion(70016)
	cl.expect("version", "wtxidrelay", "sendaddrv2", "verack")
	cl.send(wire.NewMsgVerAck())
	cl.expect("sendcmpct", "ping", "feefilter")
	cl.c.Close()
	if err := wait(t, done); err != nil {
		t.Errorf("Serve after client hang-up: %v", err)
	}
}

func TestServeBtcdInvalidHandshake(t *testing.T) {
	t.Parallel()
	cl, done := pipe(t, Config{Behavior: Btcd})
	cl.sendVersion(70016)
	cl.expect("version", "sendaddrv2", "verack")
	cl.send(wire.NewMsgGetAddr())
	if err := wait(t, done); !errors.Is(err, wire.ErrInvalidHandshake) {
		t.Errorf("Serve = %v, want ErrInvalidHandshake", err)
	}
}

func TestServeContextDone(t *testing.T) {
	t.Parallel()
	srv, cli := net.Pipe()
	defer cli.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, srv, Config{Behavior: Silent}) }()
	cancel()
	if err := wait(t, done); !errors.Is(err, context.Canceled) {
		t.Errorf("Serve = %v, want context.Canceled", err)
	}
	if _, err := srv.Read(make([]byte, 1)); err == nil {
		t.Error("Serve left the connection open")
	}
}

func TestServeBadConfig(t *testing.T) {
	t.Parallel()
	srv, cli := net.Pipe()
	defer cli.Close()
	if err := Serve(context.Background(), srv, Config{Behavior: 99}); err == nil {
		t.Error("Serve accepted an unknown behaviour")
	}
}

// TestHandlerScriptsPeer uses every Conn helper in a scripted peer.
func TestHandlerScriptsPeer(t *testing.T) {
	t.Parallel()
	cfg := Config{
		Behavior:    Bcoin, // identity only: Handler overrides the behaviour
		StartHeight: 7,
		Handler: func(ctx context.Context, c *Conn) error {
			theirs, err := c.ReadVersion() // skips the leading "hello"
			if err != nil {
				return err
			}
			if theirs.UserAgent != clientUA {
				return errors.New("wrong client version: " + theirs.UserAgent)
			}
			cmd, payload, err := c.ReadMessage() // unknown to wire
			if err != nil || cmd != "custom" || string(payload) != "xyz" {
				return errors.New("custom message not read")
			}
			v := c.Version()
			if v.UserAgent != "/bcoin:2.2.0/" || v.ProtocolVersion != 70015 || v.LastBlock != 7 {
				return errors.New("Version() ignores the Config")
			}
			if c.Net() == nil {
				return errors.New("no net.Conn")
			}
			if err := c.WriteMessage(v); err != nil {
				return err
			}
			if err := c.WriteCommand("sendtxrcncl", make([]byte, 12)); err != nil {
				return err
			}
			return c.WriteRaw(Frame(wire.MainNet, "verack", nil))
		},
	}
	cl, done := pipe(t, cfg)
	if _, err := cl.c.Write(Frame(wire.MainNet, "hello", nil)); err != nil {
		t.Fatal(err)
	}
	cl.sendVersion(70016)
	if _, err := cl.c.Write(Frame(wire.MainNet, "custom", []byte("xyz"))); err != nil {
		t.Fatal(err)
	}
	fs := cl.expect("version", "sendtxrcncl", "verack")
	if v := decode[*wire.MsgVersion](t, fs[0], wire.MainNet); v.LastBlock != 7 {
		t.Errorf("version height %d", v.LastBlock)
	}
	if err := wait(t, done); err != nil {
		t.Errorf("Serve = %v", err)
	}
}

// TestAccept checks that Accept reads past what precedes the client's
// version, answers with exactly a version and a verack, returns the
// client's version, and fails when the client leaves first.
func TestAccept(t *testing.T) {
	t.Parallel()
	got := make(chan *wire.MsgVersion, 1)
	cl, done := pipe(t, Config{StartHeight: 9, Handler: func(ctx context.Context, c *Conn) error {
		v, err := c.Accept()
		got <- v
		return err
	}})
	if _, err := cl.c.Write(Frame(wire.MainNet, "hello", nil)); err != nil {
		t.Fatal(err)
	}
	cl.sendVersion(70016)
	fs := cl.expect("version", "verack")
	if v := decode[*wire.MsgVersion](t, fs[0], wire.MainNet); v.LastBlock != 9 {
		t.Errorf("version height %d, want the Config's 9", v.LastBlock)
	}
	if len(fs[1].payload) != 0 {
		t.Errorf("verack payload %x", fs[1].payload)
	}
	if v := <-got; v == nil || v.UserAgent != clientUA || v.ProtocolVersion != 70016 {
		t.Errorf("Accept returned %+v, want the client's version", v)
	}
	if err := wait(t, done); err != nil {
		t.Errorf("Serve = %v", err)
	}
	cl.closed()

	failed := make(chan error, 1)
	cl, done = pipe(t, Config{Handler: func(ctx context.Context, c *Conn) error {
		v, err := c.Accept()
		if v != nil {
			err = errors.New("Accept returned a version without reading one")
		}
		failed <- err
		return nil
	}})
	cl.c.Close()
	wait(t, done)
	if err := <-failed; err == nil || err.Error() == "Accept returned a version without reading one" {
		t.Errorf("Accept of a client that left: %v, want its read error", err)
	}
}

// TestReadMessageRejects feeds ReadMessage malformed headers.
func TestReadMessageRejects(t *testing.T) {
	t.Parallel()
	valid := Frame(wire.MainNet, "version", []byte("payload"))
	mutate := func(f func(b []byte)) []byte {
		b := bytes.Clone(valid)
		f(b)
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"wrong magic", Frame(wire.TestNet3, "version", nil), ErrBadMagic},
		{"bad checksum", mutate(func(b []byte) { b[23] ^= 1 }), ErrBadChecksum},
		{"payload over 4,000,000", mutate(func(b []byte) {
			binary.LittleEndian.PutUint32(b[16:], MaxPayload+1)
		}), ErrPayloadTooLarge},
		{"bytes after NUL", mutate(func(b []byte) { b[4+7+1] = 'x' }), ErrBadCommand},
		{"control character", mutate(func(b []byte) { b[5] = '\n' }), ErrBadCommand},
		{"non-ASCII command", mutate(func(b []byte) { b[4] = 0x80 }), ErrBadCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cl, done := pipe(t, Config{Handler: func(ctx context.Context, c *Conn) error {
				_, _, err := c.ReadMessage()
				return err
			}})
			go cl.c.Write(tt.in) // Serve may stop reading midway
			if err := wait(t, done); !errors.Is(err, tt.want) {
				t.Errorf("ReadMessage error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestReadMessageAcceptsMaxPayload reads a message of exactly MaxPayload.
func TestReadMessageAcceptsMaxPayload(t *testing.T) {
	t.Parallel()
	cl, done := pipe(t, Config{Handler: func(ctx context.Context, c *Conn) error {
		cmd, payload, err := c.ReadMessage()
		if err == nil && (cmd != "block" || len(payload) != MaxPayload) {
			err = errors.New("wrong message")
		}
		return err
	}})
	if _, err := cl.c.Write(Frame(wire.MainNet, "block", make([]byte, MaxPayload))); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, done); err != nil {
		t.Error(err)
	}
}
