package bip324

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"os"
	"strconv"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ellswift"
)

// vectorFiles are BIP324's packet encoding vectors (see the comments at the
// top of each file for provenance).
var vectorFiles = []string{
	"testdata/packet_encoding_test_vectors.csv",
	"testdata/packet_encoding_test_vectors_draft.csv",
}

// columnAliases maps the draft file's column names to the final ones.
var columnAliases = map[string]string{
	"in_content":     "in_contents",
	"mid_session_id": "out_session_id",
}

type vector map[string]string

func (v vector) hex(t *testing.T, col string) []byte {
	t.Helper()
	b, err := hex.DecodeString(v[col])
	if err != nil {
		t.Fatalf("column %s: %v", col, err)
	}
	return b
}

func (v vector) int(t *testing.T, col string) int {
	t.Helper()
	n, err := strconv.Atoi(v[col])
	if err != nil {
		t.Fatalf("column %s: %v", col, err)
	}
	return n
}

func (v vector) key64(t *testing.T, col string) (k [64]byte) {
	t.Helper()
	if copy(k[:], v.hex(t, col)) != 64 {
		t.Fatalf("column %s: not 64 bytes", col)
	}
	return k
}

func loadVectors(t *testing.T) map[string][]vector {
	t.Helper()
	all := map[string][]vector{}
	for _, name := range vectorFiles {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(f)
		r.Comment = '#'
		recs, err := r.ReadAll()
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		header := recs[0]
		for i, h := range header {
			if a, ok := columnAliases[h]; ok {
				header[i] = a
			}
		}
		for _, rec := range recs[1:] {
			v := vector{}
			for i, h := range header {
				v[h] = rec[i]
			}
			all[name] = append(all[name], v)
		}
		if len(all[name]) == 0 {
			t.Fatalf("%s: no vectors", name)
		}
	}
	return all
}

func (v vector) contents(t *testing.T) []byte {
	return bytes.Repeat(v.hex(t, "in_contents"), v.int(t, "in_multiply"))
}

func (v vector) checkCiphertext(t *testing.T, got []byte) {
	t.Helper()
	if want := v.hex(t, "out_ciphertext"); len(want) > 0 && !bytes.Equal(got, want) {
		t.Fatalf("ciphertext\n got %x\nwant %x", got, want)
	}
	if want := v.hex(t, "out_ciphertext_endswith"); len(want) > 0 && !bytes.HasSuffix(got, want) {
		t.Fatalf("ciphertext (%d bytes) does not end with %x", len(got), want)
	}
}

// TestPacketVectors checks the key exchange, key derivation and packet
// encryption against BIP324's vectors, then decrypts each ciphertext with the
// other side's ciphers, intact and tampered.
func TestPacketVectors(t *testing.T) {
	for file, vecs := range loadVectors(t) {
		for _, v := range vecs {
			t.Run(file+"/idx="+v["in_idx"], func(t *testing.T) {
				priv, pub := btcec.PrivKeyFromBytes(v.hex(t, "in_priv_ours"))
				ours, theirs := v.key64(t, "in_ellswift_ours"), v.key64(t, "in_ellswift_theirs")
				initiating := v["in_initiating"] == "1"

				if got := pub.SerializeCompressed()[1:]; !bytes.Equal(got, v.hex(t, "mid_x_ours")) {
					t.Fatalf("x(priv*G) = %x", got)
				}
				checkDecode(t, ours, v.hex(t, "mid_x_ours"))
				if _, ok := v["mid_x_theirs"]; ok {
					checkDecode(t, theirs, v.hex(t, "mid_x_theirs"))
				}
				xShared, err := ellswift.EllswiftECDHXOnly(theirs, priv)
				if err != nil || !bytes.Equal(xShared[:], v.hex(t, "mid_x_shared")) {
					t.Fatalf("x shared = %x, %v", xShared, err)
				}
				secret, err := ellswift.V2Ecdh(priv, theirs, ours, initiating)
				if err != nil || !bytes.Equal(secret[:], v.hex(t, "mid_shared_secret")) {
					t.Fatalf("shared secret = %x, %v", secret[:], err)
				}

				keys, err := deriveKeys(secret[:], mainnet)
				if err != nil {
					t.Fatal(err)
				}
				for col, got := range map[string][]byte{
					"mid_initiator_l": keys.initiatorL[:],
					"mid_initiator_p": keys.initiatorP[:],
					"mid_responder_l": keys.responderL[:],
					"mid_responder_p": keys.responderP[:],
					"out_session_id":  keys.sessionID[:],
				} {
					if !bytes.Equal(got, v.hex(t, col)) {
						t.Fatalf("%s = %x, want %s", col, got, v[col])
					}
				}

				role := Responder
				if initiating {
					role = Initiator
				}
				c := connFromKeys(t, role, keys)
				peer := connFromKeys(t, other(role), keys)
				if !bytes.Equal(c.sendTerm[:], v.hex(t, "mid_send_garbage_terminator")) ||
					!bytes.Equal(c.recvTerm[:], v.hex(t, "mid_recv_garbage_terminator")) {
					t.Fatalf("terminators %x %x", c.sendTerm, c.recvTerm)
				}
				if c.sessionID != peer.sessionID || peer.sendTerm != c.recvTerm {
					t.Fatal("the two sides disagree")
				}

				// Seek to packet in_idx, then encrypt the vector's packet.
				var stream []byte
				for range v.int(t, "in_idx") {
					if stream, err = c.appendPacket(stream, nil, false, nil, nil, 0); err != nil {
						t.Fatal(err)
					}
				}
				contents, aad, ignore := v.contents(t), v.hex(t, "in_aad"), v["in_ignore"] == "1"
				pkt, err := c.appendPacket(nil, aad, ignore, nil, contents, 0)
				if err != nil {
					t.Fatal(err)
				}
				v.checkCiphertext(t, pkt)

				// The peer decrypts it, and rejects tampered copies.
				for _, tc := range []struct {
					name    string
					flipAt  int // byte of the packet to flip, -1 none
					aad     []byte
					wantErr error
				}{
					{"intact", -1, aad, nil},
					{"flipped tag bit", len(pkt) - 1, aad, ErrBadTag},
					{"flipped header bit", lengthLen, aad, ErrBadTag},
					{"extra aad byte", -1, append(bytes.Clone(aad), 0), ErrBadTag},
				} {
					if tc.wantErr != nil && len(contents) > 1<<16 {
						continue // tampering the 4 MB vectors adds seconds under -race
					}
					peer := connFromKeys(t, other(role), keys)
					p := bytes.Clone(pkt)
					if tc.flipAt >= 0 {
						p[tc.flipAt] ^= 0x10
					}
					peer.r = bufio.NewReader(bytes.NewReader(append(bytes.Clone(stream), p...)))
					for range v.int(t, "in_idx") {
						if got, ign, err := peer.readPacket(nil, 0); err != nil || len(got) != 0 || ign {
							t.Fatalf("dummy packet: %x %v %v", got, ign, err)
						}
					}
					got, gotIgnore, err := peer.readPacket(tc.aad, MaxContentsLen)
					if tc.wantErr != nil {
						mustIs(t, err, tc.wantErr)
						continue
					}
					if err != nil || !bytes.Equal(got, contents) || gotIgnore != ignore {
						t.Fatalf("%s: decrypted %d bytes, ignore %v, %v", tc.name, len(got), gotIgnore, err)
					}
				}
			})
		}
	}
}

func checkDecode(t *testing.T, enc [64]byte, wantX []byte) {
	t.Helper()
	var u, tt btcec.FieldVal
	u.SetByteSlice(enc[:32])
	tt.SetByteSlice(enc[32:])
	u.Normalize() // reduce mod p, as EllswiftECDHXOnly does
	tt.Normalize()
	x, err := ellswift.XSwiftEC(&u, &tt)
	if err != nil {
		t.Fatal(err)
	}
	if got := x.Bytes(); !bytes.Equal(got[:], wantX) {
		t.Fatalf("ellswift decode %x = %x, want %x", enc, got[:], wantX)
	}
}

// TestHandshakeVectorKeys drives Handshake itself with each vector's key
// injected (Config.keygen) against a peer sending the vector's other key: the
// session ID, the terminator we send and the packets we encrypt afterwards
// must match the vector.
func TestHandshakeVectorKeys(t *testing.T) {
	for file, vecs := range loadVectors(t) {
		for _, v := range vecs {
			t.Run(file+"/idx="+v["in_idx"], func(t *testing.T) {
				priv, _ := btcec.PrivKeyFromBytes(v.hex(t, "in_priv_ours"))
				ours, theirs := v.key64(t, "in_ellswift_ours"), v.key64(t, "in_ellswift_theirs")
				role := Responder
				if v["in_initiating"] == "1" {
					role = Initiator
				}
				secret, err := ellswift.V2Ecdh(priv, theirs, ours, role == Initiator)
				if err != nil {
					t.Fatal(err)
				}
				keys, err := deriveKeys(secret[:], mainnet)
				if err != nil {
					t.Fatal(err)
				}
				peer := connFromKeys(t, other(role), keys)
				in := append(theirs[:], peer.sendTerm[:]...)
				if in, err = peer.appendPacket(in, nil, false, nil, nil, 0); err != nil {
					t.Fatal(err)
				}

				var out bytes.Buffer
				cfg := Config{Magic: mainnet, GarbageLen: NoGarbage, keygen: keyPair{priv, ours}.gen()}
				c, err := Handshake(bufio.NewReader(bytes.NewReader(in)), &out, role, cfg)
				if err != nil {
					t.Fatal(err)
				}
				if got := c.SessionID(); !bytes.Equal(got[:], v.hex(t, "out_session_id")) {
					t.Fatalf("session id %x", got)
				}
				w := out.Bytes()
				if !bytes.Equal(w[:keyLen], ours[:]) {
					t.Fatal("first 64 bytes written are not our key")
				}
				if !bytes.Equal(w[keyLen:keyLen+termLen], v.hex(t, "mid_send_garbage_terminator")) {
					t.Fatalf("sent terminator %x", w[keyLen:keyLen+termLen])
				}
				peer.r = bufio.NewReader(bytes.NewReader(w[keyLen+termLen:]))
				if got, ign, err := peer.readPacket(nil, 0); err != nil || len(got) != 0 || ign {
					t.Fatalf("our version packet: %x %v %v", got, ign, err)
				}
				if c.BytesRead() != int64(len(in)) || c.BytesWritten() != int64(len(w)) {
					t.Fatalf("byte counts %d/%d, want %d/%d", c.BytesRead(), c.BytesWritten(), len(in), len(w))
				}

				// The version packet was packet 0; continue to in_idx.
				idx := v.int(t, "in_idx")
				if idx == 0 {
					return
				}
				for range idx - 1 {
					if _, err := c.appendPacket(nil, nil, false, nil, nil, 0); err != nil {
						t.Fatal(err)
					}
				}
				pkt, err := c.appendPacket(nil, v.hex(t, "in_aad"), v["in_ignore"] == "1", nil, v.contents(t), 0)
				if err != nil {
					t.Fatal(err)
				}
				v.checkCiphertext(t, pkt)
			})
		}
	}
}
