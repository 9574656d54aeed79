package bip324

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ellswift"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	mainnet = 0xd9b4bef9
	testnet = 0x0709110b
)

type keyPair struct {
	priv *btcec.PrivateKey
	ell  [64]byte
}

func newKeyPair(t testing.TB) keyPair {
	t.Helper()
	priv, ell, err := ellswift.EllswiftCreate()
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{priv, ell}
}

func (k keyPair) gen() func() (*btcec.PrivateKey, [64]byte, error) {
	return func() (*btcec.PrivateKey, [64]byte, error) { return k.priv, k.ell, nil }
}

// script precomputes both sides of a handshake so that a test can play the
// peer byte by byte against our Handshake running on in-memory streams: our
// key is injected through Config.keygen, and peer is a Conn holding the
// peer's ciphers.
type script struct {
	ourRole   Role
	our, peer keyPair
	keys      sessionKeys
	peerConn  *Conn // the peer's ciphers and terminators
	ourMirror *Conn // our ciphers, to decrypt what our Handshake wrote
}

func other(r Role) Role {
	if r == Initiator {
		return Responder
	}
	return Initiator
}

func newScript(t testing.TB, ourRole Role, magic uint32) *script {
	t.Helper()
	s := &script{ourRole: ourRole, our: newKeyPair(t), peer: newKeyPair(t)}
	ini, resp := s.our, s.peer
	if ourRole == Responder {
		ini, resp = resp, ini
	}
	secret, err := ellswift.V2Ecdh(ini.priv, resp.ell, ini.ell, true)
	if err != nil {
		t.Fatal(err)
	}
	if s.keys, err = deriveKeys(secret[:], magic); err != nil {
		t.Fatal(err)
	}
	s.peerConn = connFromKeys(t, other(ourRole), s.keys)
	s.ourMirror = connFromKeys(t, ourRole, s.keys)
	return s
}

func connFromKeys(t testing.TB, role Role, k sessionKeys) *Conn {
	t.Helper()
	c := &Conn{role: role, maxDecoys: DefaultMaxDecoys}
	if err := c.initCiphers(&k); err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *script) cfg(magic uint32) Config {
	return Config{Magic: magic, GarbageLen: NoGarbage, keygen: s.our.gen()}
}

// packet encrypts one packet from the peer.
func (s *script) packet(t testing.TB, aad []byte, ignore bool, contents []byte) []byte {
	t.Helper()
	p, err := s.peerConn.appendPacket(nil, aad, ignore, nil, contents, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// lengthField encrypts just the length field of a packet from the peer
// claiming n bytes of contents.
func (s *script) lengthField(t testing.TB, n int) []byte {
	t.Helper()
	b := []byte{byte(n), byte(n >> 8), byte(n >> 16)}
	if err := s.peerConn.sendL.crypt(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// bytesAllocated returns the bytes the process allocated while f ran.
func bytesAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// flight builds what a well-behaved peer sends: key, garbage, terminator,
// version packet (AAD = garbage).
func (s *script) flight(t testing.TB, garbage []byte) []byte {
	t.Helper()
	b := append([]byte(nil), s.peer.ell[:]...)
	b = append(b, garbage...)
	b = append(b, s.peerConn.sendTerm[:]...)
	return append(b, s.packet(t, garbage, false, nil)...)
}

// run runs our Handshake against the scripted peer bytes, returning the Conn,
// what we wrote and the reader (to inspect what was left unread).
func (s *script) run(t testing.TB, peerBytes []byte, cfg Config) (*Conn, *bytes.Buffer, *bufio.Reader, error) {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(peerBytes))
	var w bytes.Buffer
	c, err := Handshake(r, &w, s.ourRole, cfg)
	return c, &w, r, err
}

// unread is how many bytes of the scripted stream Handshake left unread.
func unread(r *bufio.Reader) int {
	n, _ := io.Copy(io.Discard, r)
	return int(n)
}

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a := <-ch
	if a.err != nil {
		client.Close()
		t.Fatal(a.err)
	}
	t.Cleanup(func() { client.Close(); a.c.Close() })
	return client, a.c
}

func pipePair(t testing.TB) (net.Conn, net.Conn) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func setDeadline(t testing.TB, conns ...net.Conn) {
	t.Helper()
	d := time.Now().Add(10 * time.Second)
	for _, c := range conns {
		if err := c.SetDeadline(d); err != nil {
			t.Fatal(err)
		}
	}
}

type result struct {
	c   *Conn
	err error
}

// handshakePair runs our initiator on a and our responder on b concurrently.
func handshakePair(t testing.TB, a, b net.Conn, bufSize int, icfg, rcfg Config) (ini, resp *Conn, ierr, rerr error) {
	t.Helper()
	ch := make(chan result, 1)
	go func() {
		c, err := Handshake(bufio.NewReaderSize(b, bufSize), b, Responder, rcfg)
		if err != nil {
			b.Close() // unblock the initiator
		}
		ch <- result{c, err}
	}()
	ini, ierr = Handshake(bufio.NewReaderSize(a, bufSize), a, Initiator, icfg)
	if ierr != nil {
		a.Close()
	}
	r := <-ch
	return ini, r.c, ierr, r.err
}

func mustIs(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}
