package handshaketest

import (
	"crypto/sha256"
	"crypto/sha3"
	"encoding/base32"
	"encoding/binary"
	"strings"
)

// lowerBase32 is RFC 4648 base32 in lower case without padding, as onion
// and I2P names are written.
var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// OnionName returns a well-formed Tor v3 name, "<56 characters>.onion",
// for the i-th fake onion service: its key is derived from i, its checksum
// and version are right, and distinct i give distinct names.
func OnionName(i int) string {
	key := seedBytes("onion", i)
	h := sha3.New256()
	h.Write([]byte(".onion checksum"))
	h.Write(key[:])
	h.Write([]byte{3})
	sum := h.Sum(nil)
	b := append(append(key[:], sum[:2]...), 3)
	return lowerBase32.EncodeToString(b) + ".onion"
}

// OnionKey returns the 32-byte key of OnionName(i), as an addrv2 message
// carries it (BIP 155 network 4).
func OnionKey(i int) [32]byte { return seedBytes("onion", i) }

// I2PName returns a well-formed I2P name, "<52 characters>.b32.i2p", for
// the i-th fake I2P destination; distinct i give distinct names.
func I2PName(i int) string {
	h := I2PHash(i)
	return lowerBase32.EncodeToString(h[:]) + ".b32.i2p"
}

// I2PHash returns the 32-byte hash of I2PName(i), as an addrv2 message
// carries it (BIP 155 network 5).
func I2PHash(i int) [32]byte { return seedBytes("i2p", i) }

func seedBytes(kind string, i int) [32]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return sha256.Sum256(append([]byte("handshaketest "+kind+" "), b[:]...))
}

// validOnion reports whether name is a well-formed Tor v3 name, as Tor
// checks before it looks for the service.
func validOnion(name string) bool {
	label, ok := strings.CutSuffix(strings.ToLower(name), ".onion")
	if !ok || len(label) != 56 {
		return false
	}
	b, err := lowerBase32.DecodeString(label)
	if err != nil || len(b) != 35 || b[34] != 3 {
		return false
	}
	h := sha3.New256()
	h.Write([]byte(".onion checksum"))
	h.Write(b[:32])
	h.Write([]byte{3})
	sum := h.Sum(nil)
	return sum[0] == b[32] && sum[1] == b[33]
}
