package bip324

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"testing"
	"testing/iotest"
	"time"

	"github.com/btcsuite/btcd/btcec/v2/ellswift"
)

// TestHandshakePair runs our initiator against our responder over net.Pipe
// and loopback TCP with the garbage lengths at the edges of what BIP324
// allows, then exchanges messages both ways.
func TestHandshakePair(t *testing.T) {
	transports := []struct {
		name string
		pair func(testing.TB) (net.Conn, net.Conn)
	}{{"pipe", pipePair}, {"tcp", tcpPair}}
	for _, tr := range transports {
		for _, g := range [][2]int{{NoGarbage, NoGarbage}, {1, 1}, {4094, 4095}, {4095, 4094}, {4095, 4095}, {0, 0}} {
			t.Run(fmt.Sprintf("%s/garbage=%d,%d", tr.name, g[0], g[1]), func(t *testing.T) {
				a, b := tr.pair(t)
				setDeadline(t, a, b)
				// net.Pipe is synchronous: each side must buffer the
				// other's whole first flight (see Handshake's doc).
				ini, resp, ierr, rerr := handshakePair(t, a, b, 8192,
					Config{Magic: mainnet, GarbageLen: g[0]},
					Config{Magic: mainnet, GarbageLen: g[1]})
				if ierr != nil || rerr != nil {
					t.Fatalf("initiator: %v, responder: %v", ierr, rerr)
				}
				checkEstablished(t, ini, resp)
				if g[0] != 0 && ini.BytesWritten() != int64(keyLen+max(g[0], 0)+termLen+packetExtra) {
					t.Fatalf("initiator wrote %d bytes", ini.BytesWritten())
				}
				exchange(t, ini, resp)
			})
		}
	}
}

// checkEstablished checks that both sides agree after a handshake.
func checkEstablished(t *testing.T, ini, resp *Conn) {
	t.Helper()
	if ini.SessionID() != resp.SessionID() {
		t.Fatal("session IDs differ")
	}
	if ini.BytesWritten() != resp.BytesRead() || resp.BytesWritten() != ini.BytesRead() {
		t.Fatalf("byte counts: initiator %d out %d in, responder %d out %d in",
			ini.BytesWritten(), ini.BytesRead(), resp.BytesWritten(), resp.BytesRead())
	}
}

// exchange sends messages both ways, concurrently (net.Pipe needs a reader
// for every write).
func exchange(t *testing.T, x, y *Conn) {
	t.Helper()
	msgs := []Message{
		{"version", bytes.Repeat([]byte{7}, 102)},
		{"wtxidrelay", nil},
		{"sendaddrv2", nil},
		{"verack", nil},
		{"ping", []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{"sendcmpct", []byte{0, 2, 0, 0, 0, 0, 0, 0, 0}},
		{"block", bytes.Repeat([]byte{9}, 70_000)}, // larger than the bufio buffer
		{"longcommand1", []byte("x")},
	}
	for _, dir := range [][2]*Conn{{x, y}, {y, x}} {
		errc := make(chan error, 1)
		go func() {
			if err := dir[0].WriteMessages(msgs[:4]...); err != nil {
				errc <- err
				return
			}
			for _, m := range msgs[4:] {
				if err := dir[0].WriteMessage(m.Cmd, m.Payload); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
		for _, m := range msgs {
			cmd, payload, err := dir[1].ReadMessage(0)
			if err != nil {
				t.Fatalf("reading %s: %v", m.Cmd, err)
			}
			if cmd != m.Cmd || !bytes.Equal(payload, m.Payload) {
				t.Fatalf("got %s (%d bytes), want %s (%d bytes)", cmd, len(payload), m.Cmd, len(m.Payload))
			}
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// TestDecoys sends decoys before the version packet in both directions, the
// first one carrying the garbage AAD.
func TestDecoys(t *testing.T) {
	a, b := tcpPair(t)
	setDeadline(t, a, b)
	ini, resp, ierr, rerr := handshakePair(t, a, b, 4096,
		Config{Magic: mainnet, GarbageLen: 100, Decoys: []int{0, 5000, 3}},
		Config{Magic: mainnet, GarbageLen: 7, Decoys: []int{1}})
	if ierr != nil || rerr != nil {
		t.Fatalf("initiator: %v, responder: %v", ierr, rerr)
	}
	checkEstablished(t, ini, resp)
	exchange(t, ini, resp)
}

// TestScriptedPeer plays hand-made peer bytes against both roles.
func TestScriptedPeer(t *testing.T) {
	for _, role := range []Role{Initiator, Responder} {
		t.Run(role.String(), func(t *testing.T) {
			for _, g := range []int{0, 1, 4094, 4095} {
				s := newScript(t, role, mainnet)
				garbage := randBytes(t, g)
				in := s.flight(t, garbage)
				c, _, r, err := s.run(t, append(in, "after"...), s.cfg(mainnet))
				if err != nil {
					t.Fatalf("garbage %d: %v", g, err)
				}
				if c.BytesRead() != int64(len(in)) || unread(r) != len("after") {
					t.Fatalf("garbage %d: read %d bytes of %d", g, c.BytesRead(), len(in))
				}
			}

			t.Run("garbage 4096 with terminator", func(t *testing.T) {
				s := newScript(t, role, mainnet)
				in := s.flight(t, randBytes(t, 4096))
				_, _, r, err := s.run(t, in, s.cfg(mainnet))
				mustIs(t, err, ErrGarbageTooLong)
				if got := len(in) - unread(r); got < keyLen+MaxGarbageLen+1 || got > keyLen+maxGarbageSearch {
					t.Fatalf("consumed %d bytes", got)
				}
			})
			t.Run("endless garbage", func(t *testing.T) {
				s := newScript(t, role, mainnet)
				in := append(s.peer.ell[:], randBytes(t, 1<<20)...)
				_, _, r, err := s.run(t, in, s.cfg(mainnet))
				mustIs(t, err, ErrGarbageTooLong)
				if got := len(in) - unread(r); got < keyLen+MaxGarbageLen+1 || got > keyLen+maxGarbageSearch {
					t.Fatalf("consumed %d bytes", got)
				}
			})
			t.Run("wrong terminator then close", func(t *testing.T) {
				s := newScript(t, role, mainnet)
				in := append(s.peer.ell[:], randBytes(t, 10+termLen)...)
				_, _, _, err := s.run(t, append(in, s.packet(t, nil, false, nil)...), s.cfg(mainnet))
				mustIs(t, err, io.ErrUnexpectedEOF)
				if errors.Is(err, ErrPeerClosed) {
					t.Fatal("a close after the key is not ErrPeerClosed")
				}
			})
			t.Run("wrong network magic", func(t *testing.T) {
				// The peer derives its keys with another magic: its
				// terminator is not ours.
				s := newScript(t, role, testnet)
				_, _, _, err := s.run(t, s.flight(t, nil), s.cfg(mainnet))
				mustIs(t, err, io.ErrUnexpectedEOF)
			})
			t.Run("terminator inside the garbage", func(t *testing.T) {
				// The first occurrence of the terminator ends the garbage:
				// the packet then starts inside the rest and fails.
				s := newScript(t, role, mainnet)
				garbage := append(randBytes(t, 20), s.peerConn.sendTerm[:]...)
				garbage = append(garbage, randBytes(t, 40)...)
				_, _, _, err := s.run(t, s.flight(t, garbage), s.cfg(mainnet))
				if !errors.Is(err, ErrBadTag) && !errors.Is(err, ErrPacketTooLarge) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("got %v", err)
				}
			})
			t.Run("garbage not authenticated", func(t *testing.T) {
				s := newScript(t, role, mainnet)
				in := append(s.peer.ell[:], randBytes(t, 30)...)
				in = append(in, s.peerConn.sendTerm[:]...)
				in = append(in, s.packet(t, []byte("other garbage"), false, nil)...)
				_, _, _, err := s.run(t, in, s.cfg(mainnet))
				mustIs(t, err, ErrBadTag)
			})
			t.Run("flipped ciphertext bit", func(t *testing.T) {
				s := newScript(t, role, mainnet)
				in := s.flight(t, []byte("garbage"))
				in[len(in)-5] ^= 1
				_, _, _, err := s.run(t, in, s.cfg(mainnet))
				mustIs(t, err, ErrBadTag)
			})
			t.Run("decoys before version", func(t *testing.T) {
				s := newScript(t, role, mainnet)
				garbage := randBytes(t, 50)
				in := append(s.peer.ell[:], garbage...)
				in = append(in, s.peerConn.sendTerm[:]...)
				in = append(in, s.packet(t, garbage, true, randBytes(t, 300))...)
				in = append(in, s.packet(t, nil, true, nil)...)
				in = append(in, s.packet(t, nil, false, []byte("future version data"))...)
				c, _, _, err := s.run(t, in, s.cfg(mainnet))
				if err != nil {
					t.Fatal(err)
				}
				if c.BytesRead() != int64(len(in)) {
					t.Fatalf("read %d of %d bytes", c.BytesRead(), len(in))
				}
			})
			t.Run("decoy without garbage AAD", func(t *testing.T) {
				s := newScript(t, role, mainnet)
				garbage := randBytes(t, 50)
				in := append(s.peer.ell[:], garbage...)
				in = append(in, s.peerConn.sendTerm[:]...)
				in = append(in, s.packet(t, nil, true, nil)...)
				in = append(in, s.packet(t, garbage, false, nil)...)
				_, _, _, err := s.run(t, in, s.cfg(mainnet))
				mustIs(t, err, ErrBadTag)
			})
			t.Run("endless decoys", func(t *testing.T) {
				s := newScript(t, role, mainnet)
				in := append(s.peer.ell[:], s.peerConn.sendTerm[:]...)
				for range DefaultMaxDecoys + 1 {
					in = append(in, s.packet(t, nil, true, nil)...)
				}
				_, _, _, err := s.run(t, in, s.cfg(mainnet))
				mustIs(t, err, ErrTooManyDecoys)

				cfg := s.cfg(mainnet)
				cfg.MaxDecoys = -1
				s = newScript(t, role, mainnet)
				in = append(s.peer.ell[:], s.peerConn.sendTerm[:]...)
				in = append(in, s.packet(t, nil, true, nil)...)
				cfg.keygen = s.our.gen()
				_, _, _, err = s.run(t, in, cfg)
				mustIs(t, err, ErrTooManyDecoys)
			})
			t.Run("decoy larger than the budget", func(t *testing.T) {
				s := newScript(t, role, mainnet)
				in := append(s.peer.ell[:], s.peerConn.sendTerm[:]...)
				in = append(in, s.packet(t, nil, true, make([]byte, 10_000))...)
				in = append(in, s.packet(t, nil, true, make([]byte, 10_000))...)
				_, _, _, err := s.run(t, in, s.cfg(mainnet))
				mustIs(t, err, ErrPacketTooLarge)
			})
			t.Run("huge version packet length, no body", func(t *testing.T) {
				s := newScript(t, role, mainnet)
				in := append(s.peer.ell[:], s.peerConn.sendTerm[:]...)
				in = append(in, s.lengthField(t, MaxContentsLen)...) // and no body
				_, _, _, err := s.run(t, in, s.cfg(mainnet))
				mustIs(t, err, ErrPacketTooLarge)
			})
		})
	}
}

// TestV1Detection covers a v1 peer on either side.
func TestV1Detection(t *testing.T) {
	v1 := v1Prefix(mainnet)
	v1Version := append(v1[:], make([]byte, 8+102)...) // length, checksum, payload

	t.Run("responder sees v1 version", func(t *testing.T) {
		r := bufio.NewReader(bytes.NewReader(v1Version))
		var w bytes.Buffer
		_, err := Handshake(r, &w, Responder, Config{Magic: mainnet})
		mustIs(t, err, ErrV1Peer)
		if left := unread(r); w.Len() != 0 || left != len(v1Version) {
			t.Fatalf("wrote %d bytes; left %d of %d bytes unread", w.Len(), left, len(v1Version))
		}
	})
	t.Run("responder sees v1 prefix only, over a pipe", func(t *testing.T) {
		// The initiator sends exactly the 16 prefix bytes and waits: the
		// responder must decide without more.
		a, b := pipePair(t)
		setDeadline(t, a, b)
		go a.Write(v1[:])
		r := bufio.NewReader(b)
		_, err := Handshake(r, b, Responder, Config{Magic: mainnet})
		mustIs(t, err, ErrV1Peer)
		if got, _ := r.Peek(16); !bytes.Equal(got, v1[:]) {
			t.Fatal("prefix consumed")
		}
	})
	t.Run("responder sees other network's v1 version", func(t *testing.T) {
		other := v1Prefix(testnet)
		in := append(other[:], make([]byte, 200)...)
		r := bufio.NewReader(bytes.NewReader(in))
		var w bytes.Buffer
		_, err := Handshake(r, &w, Responder, Config{Magic: mainnet})
		mustIs(t, err, ErrV1Peer)
		if left := unread(r); w.Len() != 0 || left != len(in) {
			t.Fatalf("wrote %d bytes; left %d of %d bytes unread", w.Len(), left, len(in))
		}
	})
	t.Run("responder, initiator key shares a prefix with v1", func(t *testing.T) {
		s := newScript(t, Responder, mainnet)
		s.peer.ell = [64]byte{}
		copy(s.peer.ell[:], v1[:15])
		s.peer.ell[15] = 1 // differs only at byte 15
		s = rekey(t, s)
		if _, _, _, err := s.run(t, s.flight(t, nil), s.cfg(mainnet)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("initiator gets a v1 version back", func(t *testing.T) {
		r := bufio.NewReader(bytes.NewReader(v1Version))
		_, err := Handshake(r, io.Discard, Initiator, Config{Magic: mainnet})
		mustIs(t, err, ErrV1Peer)
	})
	t.Run("initiator gets magic then close", func(t *testing.T) {
		r := bufio.NewReader(bytes.NewReader(v1[:6]))
		_, err := Handshake(r, io.Discard, Initiator, Config{Magic: mainnet})
		mustIs(t, err, ErrV1Peer)
	})
	t.Run("initiator, responder key starts with the magic", func(t *testing.T) {
		// 1 in 2^32 v2 keys starts with the magic; without a v1
		// command after it, it is a key.
		s := newScript(t, Initiator, mainnet)
		binary.LittleEndian.PutUint32(s.peer.ell[:4], mainnet)
		s.peer.ell[4] = 0xff
		s = rekey(t, s)
		if _, _, _, err := s.run(t, s.flight(t, nil), s.cfg(mainnet)); err != nil {
			t.Fatal(err)
		}
	})
}

// rekey recomputes a script's keys after its peer encoding was edited (any 64
// bytes decode to a point).
func rekey(t *testing.T, s *script) *script {
	t.Helper()
	secret, err := ellswift.V2Ecdh(s.our.priv, s.peer.ell, s.our.ell, s.ourRole == Initiator)
	if err != nil {
		t.Fatal(err)
	}
	if s.keys, err = deriveKeys(secret[:], mainnet); err != nil {
		t.Fatal(err)
	}
	s.peerConn = connFromKeys(t, other(s.ourRole), s.keys)
	s.ourMirror = connFromKeys(t, s.ourRole, s.keys)
	return s
}

// TestPeerClosed covers peers that hang up during the key exchange.
func TestPeerClosed(t *testing.T) {
	t.Run("initiator, v1 responder hangs up after reading our key", func(t *testing.T) {
		a, b := tcpPair(t)
		setDeadline(t, a, b)
		done := make(chan struct{})
		go func() {
			defer close(done)
			// A v1 node reads a 24-byte header, sees the wrong magic
			// and disconnects.
			var hdr [24]byte
			io.ReadFull(b, hdr[:])
			b.Close()
		}()
		_, err := Handshake(bufio.NewReader(a), a, Initiator, Config{Magic: mainnet, GarbageLen: 3000})
		<-done
		mustIs(t, err, ErrPeerClosed)
	})
	t.Run("initiator, immediate EOF", func(t *testing.T) {
		_, err := Handshake(bufio.NewReader(bytes.NewReader(nil)), io.Discard, Initiator, Config{Magic: mainnet})
		mustIs(t, err, ErrPeerClosed)
		mustIs(t, err, io.EOF)
	})
	t.Run("initiator, half a key", func(t *testing.T) {
		_, err := Handshake(bufio.NewReader(bytes.NewReader(make([]byte, 30))), io.Discard, Initiator, Config{Magic: mainnet})
		mustIs(t, err, ErrPeerClosed)
	})
	t.Run("responder, initiator closes at once", func(t *testing.T) {
		a, b := pipePair(t)
		a.Close()
		_, err := Handshake(bufio.NewReader(b), b, Responder, Config{Magic: mainnet})
		mustIs(t, err, ErrPeerClosed)
	})
	t.Run("responder, half a key", func(t *testing.T) {
		_, err := Handshake(bufio.NewReader(bytes.NewReader(make([]byte, 30))), io.Discard, Responder, Config{Magic: mainnet})
		mustIs(t, err, ErrPeerClosed)
	})
}

func TestInvalidConfig(t *testing.T) {
	r := bufio.NewReader(bytes.NewReader(nil))
	for _, tc := range []struct {
		role Role
		cfg  Config
	}{
		{0, Config{}},
		{Initiator, Config{GarbageLen: 4096}},
		{Initiator, Config{GarbageLen: -2}},
		{Responder, Config{Decoys: []int{-1}}},
		{Initiator, Config{Decoys: []int{MaxContentsLen + 1}}},
	} {
		_, err := Handshake(r, io.Discard, tc.role, tc.cfg)
		mustIs(t, err, ErrInvalidConfig)
	}
}

// TestHandshakeAllocBound checks that what a hostile peer sends cannot make
// Handshake allocate much: endless garbage, and a version packet claiming 16
// MiB.
func TestHandshakeAllocBound(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   func(s *script) []byte
	}{
		{"endless garbage", func(s *script) []byte {
			return append(s.peer.ell[:], randBytes(t, 1<<20)...)
		}},
		{"16 MiB version packet", func(s *script) []byte {
			in := append(s.peer.ell[:], s.peerConn.sendTerm[:]...)
			in = append(in, s.lengthField(t, MaxContentsLen)...)
			return append(in, randBytes(t, 1000)...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScript(t, Initiator, mainnet)
			in := tc.in(s)
			r := bufio.NewReader(bytes.NewReader(in))
			allocated := bytesAllocated(func() {
				_, err := Handshake(r, io.Discard, Initiator, s.cfg(mainnet))
				if err == nil {
					t.Error("handshake succeeded")
				}
			})
			if allocated > 64<<10 {
				t.Fatalf("Handshake allocated %d bytes", allocated)
			}
			t.Logf("allocated %d bytes", allocated)
		})
	}
}

// hostileResponder plays a hand-made responder on conn: it reads our
// initiator's 64-byte key (the initiator must send no garbage), sends its own
// key, then what build returns, in pieces of random sizes up to maxPiece.
// It keeps reading until conn is closed and never closes it itself.
func hostileResponder(t *testing.T, conn net.Conn, maxPiece int, build func(peer *Conn) []byte) {
	t.Helper()
	k := newKeyPair(t)
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		var theirs [64]byte
		if _, err := io.ReadFull(conn, theirs[:]); err != nil {
			return
		}
		drained := make(chan struct{})
		go func() { io.Copy(io.Discard, conn); close(drained) }()
		defer func() { <-drained }()
		secret, err := ellswift.V2Ecdh(k.priv, theirs, k.ell, false)
		if err != nil {
			return
		}
		keys, _ := deriveKeys(secret[:], mainnet)
		peer := &Conn{role: Responder}
		if peer.initCiphers(&keys) != nil {
			return
		}
		out := append(k.ell[:], build(peer)...)
		for len(out) > 0 {
			n := min(len(out), 1+mrand.IntN(maxPiece))
			if _, err := conn.Write(out[:n]); err != nil {
				return
			}
			out = out[n:]
		}
	}()
}

// TestHostileResponder runs our initiator over real connections against
// responders that send their bytes in small pieces (net.Pipe hands each
// write to a separate read, so the terminator straddles reads) and against
// one that sends 4,096 bytes of garbage and then waits.
func TestHostileResponder(t *testing.T) {
	for _, tr := range []struct {
		name string
		pair func(testing.TB) (net.Conn, net.Conn)
	}{{"pipe", pipePair}, {"tcp", tcpPair}} {
		for _, g := range []int{0, 1, 15, 16, 17, 4094, 4095} {
			t.Run(fmt.Sprintf("%s/pieces/garbage=%d", tr.name, g), func(t *testing.T) {
				a, b := tr.pair(t)
				setDeadline(t, a, b)
				hostileResponder(t, b, 40, func(peer *Conn) []byte {
					garbage := randBytes(t, g)
					out := append(bytes.Clone(garbage), peer.sendTerm[:]...)
					out, _ = peer.appendPacket(out, garbage, true, nil, nil, 10)
					out, _ = peer.appendPacket(out, nil, false, nil, nil, 0)
					out, _ = peer.appendPacket(out, nil, false, []byte{18}, make([]byte, 8), 0)
					return out
				})
				c, err := Handshake(bufio.NewReaderSize(a, 16), a, Initiator, Config{Magic: mainnet})
				if err != nil {
					t.Fatal(err)
				}
				if cmd, _, err := c.ReadMessage(0); err != nil || cmd != "ping" {
					t.Fatalf("%q %v", cmd, err)
				}
			})
		}
		t.Run(tr.name+"/4096 bytes of garbage, then silence", func(t *testing.T) {
			a, b := tr.pair(t)
			setDeadline(t, a, b)
			hostileResponder(t, b, 1000, func(peer *Conn) []byte {
				garbage := randBytes(t, MaxGarbageLen+1)
				// End with a byte the terminator does not contain, so
				// that no terminator can start within 4,095 bytes.
				fill := byte(0)
				for bytes.IndexByte(peer.sendTerm[:], fill) >= 0 {
					fill++
				}
				for i := len(garbage) - termLen; i < len(garbage); i++ {
					garbage[i] = fill
				}
				return garbage
			})
			start := time.Now()
			_, err := Handshake(bufio.NewReader(a), a, Initiator, Config{Magic: mainnet})
			mustIs(t, err, ErrGarbageTooLong)
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %v: waited for more garbage", d)
			}
		})
	}
}

// TestGarbageSearchChunking feeds the peer's bytes one and a few at a time
// so that every split of the terminator across reads occurs.
func TestGarbageSearchChunking(t *testing.T) {
	for _, wrap := range []func(io.Reader) io.Reader{iotest.OneByteReader, iotest.HalfReader} {
		for _, g := range []int{0, 1, 15, 16, 17, 31, 4080, 4095} {
			s := newScript(t, Initiator, mainnet)
			in := s.flight(t, randBytes(t, g))
			r := bufio.NewReaderSize(wrap(bytes.NewReader(append(in, 1, 2, 3))), 16)
			c, err := Handshake(r, io.Discard, Initiator, s.cfg(mainnet))
			if err != nil {
				t.Fatalf("garbage %d: %v", g, err)
			}
			if c.BytesRead() != int64(len(in)) {
				t.Fatalf("garbage %d: read %d of %d", g, c.BytesRead(), len(in))
			}
		}
	}
}

// TestConfigRand: with Config.Rand set, the garbage length, the garbage and
// the private key come from it.
func TestConfigRand(t *testing.T) {
	seed := [32]byte{1, 2, 3}
	var first [2]byte
	mrand.NewChaCha8(seed).Read(first[:])
	wantGarbage := int(binary.LittleEndian.Uint16(first[:]) & 0x0fff)

	a, b := tcpPair(t)
	setDeadline(t, a, b)
	ini, resp, ierr, rerr := handshakePair(t, a, b, 4096,
		Config{Magic: mainnet, GarbageLen: 0, Rand: mrand.NewChaCha8(seed)},
		Config{Magic: mainnet, GarbageLen: 0, Rand: mrand.NewChaCha8([32]byte{9})})
	if ierr != nil || rerr != nil {
		t.Fatalf("initiator: %v, responder: %v", ierr, rerr)
	}
	checkEstablished(t, ini, resp)
	if got := ini.BytesWritten() - keyLen - termLen - packetExtra; got != int64(wantGarbage) {
		t.Fatalf("sent %d bytes of garbage, want %d", got, wantGarbage)
	}

	_, err := Handshake(bufio.NewReader(bytes.NewReader(nil)), io.Discard, Initiator,
		Config{Magic: mainnet, Rand: bytes.NewReader(make([]byte, 64))})
	mustIs(t, err, errZeroKey)
}

// TestWrongNetwork: a responder of another network derives another garbage
// terminator; with that network among OtherMagics the initiator says so at
// once instead of searching on to the deadline. Without it, the search
// goes on: the peer waits for us and nothing more arrives.
func TestWrongNetwork(t *testing.T) {
	const testnet3 = 0x0709110b
	for _, garbage := range []int{0, 4095} {
		t.Run(fmt.Sprint("garbage=", garbage), func(t *testing.T) {
			a, b := tcpPair(t)
			setDeadline(t, a, b)
			_, _, ierr, _ := handshakePair(t, a, b, 8192,
				Config{Magic: mainnet, OtherMagics: []uint32{0xdab5bffa, testnet3}},
				Config{Magic: testnet3, GarbageLen: garbage})
			var we *WrongNetworkError
			if !errors.As(ierr, &we) || we.Magic != testnet3 || !errors.Is(ierr, ErrWrongNetwork) {
				t.Fatalf("got %v, want a WrongNetworkError for %08x", ierr, testnet3)
			}
		})
	}
	t.Run("not among OtherMagics", func(t *testing.T) {
		a, b := tcpPair(t)
		a.SetDeadline(time.Now().Add(300 * time.Millisecond))
		b.SetDeadline(time.Now().Add(300 * time.Millisecond))
		_, _, ierr, _ := handshakePair(t, a, b, 8192,
			Config{Magic: mainnet, OtherMagics: []uint32{0xdab5bffa}},
			Config{Magic: testnet3, GarbageLen: 10})
		if ierr == nil || errors.Is(ierr, ErrWrongNetwork) {
			t.Fatalf("got %v, want the search to go on to the deadline", ierr)
		}
	})
}

// TestV1VersionOfOtherNetwork: a responder answering our key with a v1
// version of another network is on that network.
func TestV1VersionOfOtherNetwork(t *testing.T) {
	s := newScript(t, Initiator, mainnet)
	hdr := append(binary.LittleEndian.AppendUint32(nil, 0x0709110b), "version\x00\x00\x00\x00\x00"...)
	_, _, _, err := s.run(t, append(hdr, make([]byte, 100)...), s.cfg(mainnet))
	var we *WrongNetworkError
	if !errors.As(err, &we) || we.Magic != 0x0709110b {
		t.Fatalf("got %v, want a WrongNetworkError", err)
	}
}

// TestOtherNetworksDerivedOnlyWhenNeeded: a responder of our network whose
// first flight arrives whole, in a reader that holds the key and the whole
// garbage search (as the handshake package's over a socket), costs the
// initiator no derivation of other networks' terminators; a reader too
// small for the flight must look for them before it reads on.
func TestOtherNetworksDerivedOnlyWhenNeeded(t *testing.T) {
	for _, tt := range []struct {
		bufSize, garbage int
		derive           bool
	}{
		{4608, NoGarbage, false}, {4608, 2048, false}, {4608, MaxGarbageLen, false},
		{1024, MaxGarbageLen, true},
	} {
		a, b := tcpPair(t)
		setDeadline(t, a, b)
		ini, _, ierr, rerr := handshakePair(t, a, b, tt.bufSize,
			Config{Magic: mainnet, OtherMagics: []uint32{0x0709110b, 0xdab5bffa}},
			Config{Magic: mainnet, GarbageLen: tt.garbage})
		if ierr != nil || rerr != nil {
			t.Fatalf("buffer %d, garbage %d: %v, %v", tt.bufSize, tt.garbage, ierr, rerr)
		}
		if ini.derived != tt.derive {
			t.Errorf("buffer %d, garbage %d: derived other networks' terminators %v, want %v",
				tt.bufSize, tt.garbage, ini.derived, tt.derive)
		}
	}
}

// TestInitiate: Initiate, which reads the responder's key straight from the
// connection and only then makes its reader, completes the handshake
// (same session on both ends, application messages through Conn.Reader)
// for garbage of every length, pays no derivation of other networks'
// terminators for a flight that arrived whole, and still tells a v1 answer.
func TestInitiate(t *testing.T) {
	for _, garbage := range []int{NoGarbage, 1, 2048, MaxGarbageLen} {
		a, b := tcpPair(t)
		setDeadline(t, a, b)
		ch := make(chan result, 1)
		go func() {
			c, err := Handshake(bufio.NewReader(b), b, Responder, Config{Magic: mainnet, GarbageLen: garbage})
			if err == nil {
				err = c.WriteMessage("ping", []byte("12345678"))
			}
			ch <- result{c, err}
		}()
		ini, err := Initiate(a, a, 4608, Config{Magic: mainnet, OtherMagics: []uint32{0x0709110b}})
		r := <-ch
		if err != nil || r.err != nil {
			t.Fatalf("garbage %d: %v, %v", garbage, err, r.err)
		}
		if ini.SessionID() != r.c.SessionID() || ini.Reader().Size() != 4608 || ini.derived {
			t.Errorf("garbage %d: session %x and %x, reader of %d, derived %v",
				garbage, ini.SessionID(), r.c.SessionID(), ini.Reader().Size(), ini.derived)
		}
		if cmd, payload, err := ini.ReadMessage(0); err != nil || cmd != "ping" || string(payload) != "12345678" {
			t.Errorf("garbage %d: read %q %q %v", garbage, cmd, payload, err)
		}
	}

	a, b := tcpPair(t)
	setDeadline(t, a, b)
	go func() {
		io.ReadFull(b, make([]byte, 64))
		b.Write(append(binary.LittleEndian.AppendUint32(nil, mainnet), "version\x00\x00\x00\x00\x00"...))
		b.Write(make([]byte, 100))
	}()
	_, err := Initiate(a, a, 4608, Config{Magic: mainnet})
	mustIs(t, err, ErrV1Peer)
}
