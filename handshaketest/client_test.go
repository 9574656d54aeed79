package handshaketest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
)

// A tiny hand-rolled client, independent of the package's own framing code,
// so the tests check the bytes a fake peer sends rather than trust them.

const (
	// testTimeout only bounds a failure: filling loopback socket buffers
	// under -race on a busy two-core machine has taken over 5 s.
	testTimeout = 20 * time.Second
	clientUA    = "/handshaketest-client:0.0.1/"
)

// testContext bounds a test.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// startPeer starts a peer closed when the test ends.
func startPeer(t *testing.T, cfg Config) *Peer {
	t.Helper()
	p, err := NewPeer(cfg)
	if err != nil {
		t.Fatalf("NewPeer: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

type client struct {
	t   *testing.T
	c   net.Conn
	net wire.BitcoinNet
}

// frame is one message as read off the wire.
type frame struct {
	cmd     string
	payload []byte
	raw     []byte // header and payload
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(testTimeout))
	return &client{t: t, c: c, net: wire.MainNet}
}

// version is the client's version message.
func (cl *client) version(pver int32) *wire.MsgVersion {
	me := wire.NetAddress{IP: net.IPv6zero}
	you := wire.NetAddress{IP: net.IPv6zero}
	v := wire.NewMsgVersion(&me, &you, 0x0123456789abcdef, 0)
	v.ProtocolVersion = pver
	v.UserAgent = clientUA
	return v
}

func (cl *client) send(msg wire.Message) {
	cl.t.Helper()
	if err := wire.WriteMessage(cl.c, msg, wire.ProtocolVersion, cl.net); err != nil {
		cl.t.Fatalf("send %s: %v", msg.Command(), err)
	}
}

func (cl *client) sendVersion(pver int32) {
	cl.t.Helper()
	cl.send(cl.version(pver))
}

// next reads one message, checking magic and checksum by hand.
func (cl *client) next() frame {
	cl.t.Helper()
	hdr := make([]byte, 24)
	if _, err := io.ReadFull(cl.c, hdr); err != nil {
		cl.t.Fatalf("reading header: %v", err)
	}
	if got := wire.BitcoinNet(binary.LittleEndian.Uint32(hdr)); got != cl.net {
		cl.t.Fatalf("magic %v, want %v", got, cl.net)
	}
	n := binary.LittleEndian.Uint32(hdr[16:20])
	if n > 1<<20 {
		cl.t.Fatalf("payload length %d", n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(cl.c, payload); err != nil {
		cl.t.Fatalf("reading payload: %v", err)
	}
	if sum := doubleSHA(payload); !bytes.Equal(sum[:4], hdr[20:24]) {
		cl.t.Fatalf("bad checksum in %x", hdr)
	}
	return frame{
		cmd:     string(bytes.TrimRight(hdr[4:16], "\x00")),
		payload: payload,
		raw:     append(hdr, payload...),
	}
}

// expect reads len(cmds) messages and checks their commands in order.
func (cl *client) expect(cmds ...string) []frame {
	cl.t.Helper()
	var got []frame
	var names []string
	for range cmds {
		f := cl.next()
		got = append(got, f)
		names = append(names, f.cmd)
	}
	if !slices.Equal(names, cmds) {
		cl.t.Fatalf("received %q, want %q", names, cmds)
	}
	return got
}

// blockedWriting waits until a goroutine running fn, a function of this
// package, is parked in a socket write: the socket buffers are full and the
// writer waits on the client. The stacks are the only witness of that;
// callers must not run in parallel with another test whose peer runs fn.
func blockedWriting(t *testing.T, fn string) {
	t.Helper()
	eventually(t, fn+" blocked in a write", func() bool {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for _, g := range bytes.Split(buf, []byte("\n\n")) {
			if bytes.Contains(g, []byte("[IO wait")) && bytes.Contains(g, []byte("poll.(*FD).Write")) &&
				bytes.Contains(g, []byte("handshaketest."+fn+"(")) {
				return true
			}
		}
		return false
	})
}

// nothingMore checks that the peer sends nothing more on this connection,
// without waiting for a guessed time: the client half-closes, so the peer
// reads everything sent so far and then the end of the stream, and
// whatever it wrote before leaving arrives before its own end of the
// stream. Nothing may. The connection is done with afterwards.
func (cl *client) nothingMore() {
	cl.t.Helper()
	if err := cl.c.(*net.TCPConn).CloseWrite(); err != nil {
		cl.t.Fatal(err)
	}
	b, err := io.ReadAll(cl.c)
	if len(b) != 0 {
		cl.t.Fatalf("expected nothing more, got %d bytes %x (%v)", len(b), b, err)
	}
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		cl.t.Fatalf("expected the peer to leave, got %v", err) // a deadline: it never did
	}
}

// nothingBeforeVerack checks on a connection of its own that the peer
// answers a version with want and then nothing until the client's verack.
func nothingBeforeVerack(t *testing.T, p *Peer, pver int32, want ...string) {
	t.Helper()
	cl := dial(t, p.Addr())
	cl.sendVersion(pver)
	cl.expect(want...)
	cl.nothingMore()
}

// closed checks that the peer closes the connection without sending more.
func (cl *client) closed() {
	cl.t.Helper()
	var b [1]byte
	n, err := cl.c.Read(b[:])
	if n != 0 || err == nil {
		cl.t.Fatalf("expected close, got %d bytes %x, err %v", n, b[:n], err)
	}
}

func doubleSHA(b []byte) [32]byte {
	first := sha256.Sum256(b)
	return sha256.Sum256(first[:])
}

// decode parses a frame with wire, the reference implementation.
func decode[M wire.Message](t *testing.T, f frame, net wire.BitcoinNet) M {
	t.Helper()
	_, msg, _, err := wire.ReadMessageN(bytes.NewReader(f.raw), wire.ProtocolVersion, net)
	if err != nil {
		t.Fatalf("wire cannot decode %s: %v", f.cmd, err)
	}
	m, ok := msg.(M)
	if !ok {
		t.Fatalf("decoded %T", msg)
	}
	return m
}

// eventually polls cond for up to the test timeout: the peer records a
// command in its own goroutine, just after the client's write returns.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// receivedEquals waits until p has received exactly want.
func receivedEquals(t *testing.T, p *Peer, want ...string) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		got := p.Received()
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Received() = %q, want %q", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
