package bip324

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"testing"

	"github.com/btcsuite/btcd/v2transport"
	"golang.org/x/crypto/hkdf"
)

// TestExpandMatchesHKDF: deriveKeys and terminator, which key one HMAC
// per PRK and take one block of HKDF-Expand, give the bytes
// golang.org/x/crypto/hkdf gives for every label, on random secrets and
// every network's magic.
func TestExpandMatchesHKDF(t *testing.T) {
	reference := func(secret []byte, magic uint32, label int, n int) []byte {
		salt := binary.LittleEndian.AppendUint32([]byte(hkdfSaltPrefix), magic)
		out := make([]byte, n)
		info := hkdfInfo[label][:len(hkdfInfo[label])-1] // without the counter byte
		if _, err := io.ReadFull(hkdf.New(sha256.New, secret, salt, info), out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for range 20 {
		secret := make([]byte, 32)
		rand.Read(secret)
		for _, magic := range []uint32{0xd9b4bef9, 0x0709110b, 0x283f161c, 0x40cf030a, 0xdab5bffa, 0x12141c16} {
			k, err := deriveKeys(secret, magic)
			if err != nil {
				t.Fatal(err)
			}
			terms := append(k.initiatorTerm[:], k.responderTerm[:]...)
			for i, got := range [][]byte{k.sessionID[:], k.initiatorL[:], k.initiatorP[:], k.responderL[:], k.responderP[:], terms} {
				if want := reference(secret, magic, i, len(got)); !bytes.Equal(got, want) {
					t.Fatalf("magic %08x, %s: %x, want %x", magic, hkdfInfo[i], got, want)
				}
			}
			for _, role := range []Role{Initiator, Responder} {
				c := &Conn{role: role, secret: [32]byte(secret)}
				want := k.responderTerm // the peer's, as the initiator sees it
				if role == Responder {
					want = k.initiatorTerm
				}
				if got := c.terminator(magic); got != want {
					t.Fatalf("magic %08x, %v: terminator %x, want %x", magic, role, got, want)
				}
			}
		}
	}
}

// TestFSCiphersMatchV2Transport: our FSChaCha20 and FSChaCha20Poly1305,
// which write into the caller's buffers, give btcd v2transport's bytes
// for 1,000 packets and length fields (four rekeyings) of varied sizes,
// and decrypt what they encrypt.
func TestFSCiphersMatchV2Transport(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	var ours, back fsAEAD
	var oursL fsChaCha20
	if err := ours.init(key); err != nil {
		t.Fatal(err)
	}
	if err := back.init(key); err != nil {
		t.Fatal(err)
	}
	if err := oursL.init(key, nil); err != nil {
		t.Fatal(err)
	}
	theirs, err := v2transport.NewFSChaCha20Poly1305(bytes.Clone(key))
	if err != nil {
		t.Fatal(err)
	}
	theirsL, err := v2transport.NewFSChaCha20(bytes.Clone(key))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		pt := make([]byte, i%70)
		rand.Read(pt)
		aad := pt[:min(len(pt), i%3)]
		want, err := theirs.Encrypt(aad, pt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ours.seal(nil, aad, pt)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("packet %d: sealed %x (%v), want %x", i, got, err, want)
		}
		if opened, err := back.open(nil, aad, got); err != nil || !bytes.Equal(opened, pt) {
			t.Fatalf("packet %d: opened %x (%v), want %x", i, opened, err, pt)
		}
		l := pt[:min(len(pt), 3)]
		wantL, err := theirsL.Crypt(l)
		if err != nil {
			t.Fatal(err)
		}
		if oursL.crypt(l); !bytes.Equal(l, wantL) {
			t.Fatalf("length %d: %x, want %x", i, l, wantL)
		}
	}
}
