package interop

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"net"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2/ellswift"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
)

// v2Floor returns the least any BIP324 initiator can do against BenchmarkV2's
// responder, so that Dial over v2 has a floor of the same shape (three
// flights, one more round trip than v1) rather than ECFloor + V1Floor
// alone: connect; write our ElligatorSwift key with no garbage; read the
// peer's key; ECDH and the BIP324 key derivation (stdlib HKDF-Extract, one
// HMAC keyed with the PRK for the six one-block expansions); write our
// terminator, the empty version packet and a pre-serialised version
// message in one write; find the peer's terminator within 4,111 bytes;
// decrypt its packets (length, then AEAD) reading only their types,
// answering its version with wtxidrelay, sendaddrv2 and verack in one write
// (as V1Floor does), and stop at its verack; close. All under a socket
// deadline. No decoys sent, no other networks' terminators, no bounds
// beyond the garbage's: what a real client adds on top of this is the
// price of its protections. Packets never reach 224 per direction here,
// so no cipher is ever rekeyed (the floor fails rather than go past that).
func v2Floor(b *testing.B, addr string) func() bool {
	params := &chaincfg.RegressionNetParams
	magic := uint32(params.Net)
	payload := func(m wire.Message) []byte {
		var buf bytes.Buffer
		if err := m.BtcEncode(&buf, wire.ProtocolVersion, wire.LatestEncoding); err != nil {
			b.Fatal(err)
		}
		return buf.Bytes()
	}
	// Contents of each message packet: 0, the 12-byte command, the payload.
	contents := func(cmd string, p []byte) []byte {
		var c [1 + wire.CommandSize]byte
		copy(c[1:], cmd)
		return append(c[:], p...)
	}
	version := contents("version", payload(wire.NewMsgVersion(
		wire.NewNetAddressIPPort(nil, 0, 0), wire.NewNetAddressIPPort(nil, 0, 0), 2, 0)))
	answer := [][]byte{
		contents("wtxidrelay", nil), contents("sendaddrv2", nil), contents("verack", nil),
	}
	var salt [28]byte
	copy(salt[:], "bitcoin_v2_shared_secret")
	binary.LittleEndian.PutUint32(salt[24:], magic)
	// Each label followed by HKDF-Expand's first block counter, 0x01.
	labels := [...][]byte{
		[]byte("initiator_L\x01"), []byte("initiator_P\x01"),
		[]byte("responder_L\x01"), []byte("responder_P\x01"), []byte("garbage_terminators\x01"),
	}

	d := floorDialer()
	return func() bool {
		c := dialFloor(b, &d, addr)
		defer c.Close()
		priv, ours, err := ellswift.EllswiftCreate()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write(ours[:]); err != nil {
			return false
		}
		// One buffer for everything the peer sends: its key, up to
		// 4,095 bytes of garbage and the terminator, then packets.
		r := &floorReader{c: c, buf: make([]byte, 4608), hold: -1}
		if !r.fill(64) {
			return false
		}
		theirs := [64]byte(r.buf[:64])
		r.pos = 64
		secret, err := ellswift.V2Ecdh(priv, theirs, ours, true)
		if err != nil {
			return false
		}
		prk, err := hkdf.Extract(sha256.New, secret[:], salt[:])
		if err != nil {
			b.Fatal(err)
		}
		mac := hmac.New(sha256.New, prk)
		var keys [len(labels)][32]byte
		for i, l := range labels {
			mac.Reset()
			mac.Write(l)
			mac.Sum(keys[i][:0])
		}
		send, err := newFloorCiphers(keys[0][:], keys[1][:])
		if err != nil {
			b.Fatal(err)
		}
		recv, err := newFloorCiphers(keys[2][:], keys[3][:])
		if err != nil {
			b.Fatal(err)
		}
		ourTerm, theirTerm := keys[4][:16], keys[4][16:]

		out := make([]byte, 0, 512)
		out = append(out, ourTerm...)
		out = send.seal(out, nil)     // the version packet: empty contents
		out = send.seal(out, version) // our version message
		if _, err := c.Write(out); err != nil {
			return false
		}

		// The peer's terminator, at most 4,095 bytes of garbage in.
		garbageStart := r.pos
		for {
			if i := bytes.Index(r.buf[garbageStart:r.end], theirTerm); i >= 0 {
				r.pos = garbageStart + i + 16
				break
			}
			if r.end-garbageStart >= 4095+16 || !r.fill(r.end-r.pos+1) {
				return false
			}
		}
		// The peer's garbage is its first packet's AAD: kept in the
		// buffer until then.
		garbageLen := r.pos - 16 - garbageStart
		r.hold = garbageStart
		for {
			if !r.fill(3) {
				return false
			}
			lenField := r.buf[r.pos : r.pos+3]
			recv.length.XORKeyStream(lenField, lenField)
			n := int(lenField[0]) | int(lenField[1])<<8 | int(lenField[2])<<16
			r.pos += 3
			if !r.fill(1 + n + 16) {
				return false
			}
			var aad []byte
			if r.hold >= 0 {
				aad, r.hold = r.buf[r.hold:r.hold+garbageLen], -1
			}
			pkt, err := recv.open(r.buf[r.pos:r.pos+1+n+16], aad)
			if err != nil {
				return false
			}
			r.pos += 1 + n + 16
			if pkt[0]&0x80 != 0 || len(pkt) < 1+1+wire.CommandSize || pkt[1] != 0 {
				continue // a decoy, the version packet or a short ID
			}
			switch string(bytes.TrimRight(pkt[2:2+wire.CommandSize], "\x00")) {
			case "version":
				out = out[:0]
				for _, m := range answer {
					out = send.seal(out, m)
				}
				if _, err := c.Write(out); err != nil {
					return false
				}
			case "verack":
				return true
			}
		}
	}
}

// floorCiphers are one direction's BIP324 ciphers for fewer than 224
// packets: the length cipher's keystream runs on across packets, and the
// AEAD's nonce is the packet count (no rekeying before packet 224).
type floorCiphers struct {
	length *chacha20.Cipher
	aead   interface {
		Seal(dst, nonce, plaintext, aad []byte) []byte
		Open(dst, nonce, ciphertext, aad []byte) ([]byte, error)
	}
	n     uint32
	nonce [12]byte
}

func newFloorCiphers(l, p []byte) (*floorCiphers, error) {
	var nonce [12]byte
	length, err := chacha20.NewUnauthenticatedCipher(l, nonce[:])
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(p)
	if err != nil {
		return nil, err
	}
	return &floorCiphers{length: length, aead: aead}, nil
}

// next returns the nonce of the next packet.
func (f *floorCiphers) next() []byte {
	if f.n >= 224 {
		panic("v2Floor: a cipher would need rekeying")
	}
	binary.LittleEndian.PutUint32(f.nonce[:4], f.n)
	f.n++
	return f.nonce[:]
}

// seal appends to out the packet carrying contents (header byte 0).
func (f *floorCiphers) seal(out, contents []byte) []byte {
	n := len(contents)
	at := len(out)
	out = append(out, byte(n), byte(n>>8), byte(n>>16))
	f.length.XORKeyStream(out[at:], out[at:])
	out = append(out, 0)
	out = append(out, contents...)
	plain := out[at+3:]
	return f.aead.Seal(out[:at+3], f.next(), plain, nil)
}

// open decrypts a packet (header, contents, tag) in place.
func (f *floorCiphers) open(pkt, aad []byte) ([]byte, error) {
	return f.aead.Open(pkt[:0], f.next(), pkt, aad)
}

// floorReader reads the peer's bytes into one buffer: buf[pos:end] is read
// and not yet consumed, and buf[hold:pos] kept too unless hold is -1.
type floorReader struct {
	c              net.Conn
	buf            []byte
	pos, end, hold int
}

// fill reads until at least n unconsumed bytes are there, moving what it
// keeps to the front first if n would not fit behind.
func (r *floorReader) fill(n int) bool {
	if r.pos+n > len(r.buf) {
		from := r.pos
		if r.hold >= 0 {
			from = r.hold
			r.hold = 0
		}
		if r.pos-from+n > len(r.buf) {
			return false // more than the buffer holds
		}
		r.end = copy(r.buf, r.buf[from:r.end])
		r.pos -= from
	}
	for r.end-r.pos < n {
		m, err := r.c.Read(r.buf[r.end:])
		r.end += m
		if err != nil && r.end-r.pos < n {
			return false
		}
	}
	return true
}
