package bip324

import (
	"crypto/cipher"
	"encoding/binary"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
)

// BIP324's forward-secure ciphers over golang.org/x/crypto's ChaCha20 and
// ChaCha20-Poly1305, as btcd's v2transport implements them, but writing
// into the caller's buffers: v2transport returns a fresh slice per packet
// and per length field, which was a third of a v2 handshake's
// allocations. TestFSCiphersMatchV2Transport holds the two to the same
// bytes across rekeyings.

// rekeyInterval is how many packets (or length fields) one key serves.
const rekeyInterval = 224

// fsChaCha20 is FSChaCha20, the length-field cipher: one ChaCha20
// keystream across calls, rekeyed from its own keystream every
// rekeyInterval calls.
type fsChaCha20 struct {
	c   chacha20.Cipher
	ctr uint64
}

// init keys the cipher; nonce is nil for the first key, else the
// rekeying's.
func (f *fsChaCha20) init(key, nonce []byte) error {
	var first [12]byte
	if nonce == nil {
		nonce = first[:]
	}
	c, err := chacha20.NewUnauthenticatedCipher(key, nonce)
	if err != nil {
		return err
	}
	f.c = *c // a copy, so that the cipher is no allocation of its own
	return nil
}

// crypt encrypts or decrypts b in place.
func (f *fsChaCha20) crypt(b []byte) error {
	f.c.XORKeyStream(b, b)
	f.ctr++
	if f.ctr%rekeyInterval != 0 {
		return nil
	}
	var key [32]byte
	f.c.XORKeyStream(key[:], key[:])
	var nonce [12]byte
	binary.LittleEndian.PutUint64(nonce[4:], f.ctr/rekeyInterval)
	err := f.init(key[:], nonce[:])
	clear(key[:])
	return err
}

// fsAEAD is FSChaCha20Poly1305, the packet cipher: the nonce counts
// packets within a key and keys, and every rekeyInterval packets the key
// is replaced by an encryption of zeros under a nonce of its own.
type fsAEAD struct {
	aead  cipher.AEAD
	ctr   uint64
	nonce [12]byte // here rather than on the stack: the AEAD is an interface
	rekey [48]byte
}

func (f *fsAEAD) init(key []byte) error {
	a, err := chacha20poly1305.New(key)
	f.aead = a
	return err
}

func (f *fsAEAD) setNonce() []byte {
	binary.LittleEndian.PutUint32(f.nonce[0:4], uint32(f.ctr%rekeyInterval))
	binary.LittleEndian.PutUint64(f.nonce[4:12], f.ctr/rekeyInterval)
	return f.nonce[:]
}

// seal appends the encryption of plaintext to dst.
func (f *fsAEAD) seal(dst, aad, plaintext []byte) ([]byte, error) {
	dst = f.aead.Seal(dst, f.setNonce(), plaintext, aad)
	return dst, f.advance()
}

// open appends the decryption of ciphertext to dst. A packet that fails
// authentication does not advance the cipher; the stream is dead anyway.
func (f *fsAEAD) open(dst, aad, ciphertext []byte) ([]byte, error) {
	dst, err := f.aead.Open(dst, f.setNonce(), ciphertext, aad)
	if err != nil {
		return nil, err
	}
	return dst, f.advance()
}

func (f *fsAEAD) advance() error {
	f.ctr++
	if f.ctr%rekeyInterval != 0 {
		return nil
	}
	// The rekeying nonce: 0xffffffff, then the number of keys used
	// before this one.
	binary.LittleEndian.PutUint32(f.nonce[0:4], 0xffffffff)
	binary.LittleEndian.PutUint64(f.nonce[4:12], f.ctr/rekeyInterval-1)
	var zeros [32]byte
	key := f.aead.Seal(f.rekey[:0], f.nonce[:], zeros[:], nil)[:32]
	err := f.init(key)
	clear(f.rekey[:])
	return err
}
