package bip324

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ellswift"
	"github.com/btcsuite/btcd/v2transport"
	"golang.org/x/crypto/hkdf"
)

// sessionKeys is everything BIP324's initialize_v2_transport derives from the
// ECDH secret.
type sessionKeys struct {
	sessionID     [32]byte
	initiatorL    [32]byte
	initiatorP    [32]byte
	responderL    [32]byte
	responderP    [32]byte
	initiatorTerm [termLen]byte
	responderTerm [termLen]byte
}

const hkdfSaltPrefix = "bitcoin_v2_shared_secret"

// hkdfInfo are BIP324's HKDF-Expand labels, in the order deriveKeys uses them.
var hkdfInfo = [...][]byte{
	[]byte("session_id"),
	[]byte("initiator_L"),
	[]byte("initiator_P"),
	[]byte("responder_L"),
	[]byte("responder_P"),
	[]byte("garbage_terminators"),
}

// deriveKeys runs HKDF-SHA256 over the ECDH secret with the salt
// "bitcoin_v2_shared_secret" + magic (little-endian) and the BIP324 labels.
func deriveKeys(secret []byte, magic uint32) (sessionKeys, error) {
	var salt [len(hkdfSaltPrefix) + 4]byte
	copy(salt[:], hkdfSaltPrefix)
	binary.LittleEndian.PutUint32(salt[len(hkdfSaltPrefix):], magic)
	prk := hkdf.Extract(sha256.New, secret, salt[:])
	defer clear(prk)

	var k sessionKeys
	var terms [2 * termLen]byte
	for i, out := range [...][]byte{
		k.sessionID[:], k.initiatorL[:], k.initiatorP[:], k.responderL[:], k.responderP[:], terms[:],
	} {
		if _, err := io.ReadFull(hkdf.Expand(sha256.New, prk, hkdfInfo[i]), out); err != nil {
			return sessionKeys{}, fmt.Errorf("bip324: HKDF-Expand %s: %w", hkdfInfo[i], err)
		}
	}
	copy(k.initiatorTerm[:], terms[:termLen])
	copy(k.responderTerm[:], terms[termLen:])
	return k, nil
}

// terminator derives, for another network's magic, the garbage terminator
// the peer would send if it were on that network.
func (c *Conn) terminator(magic uint32) ([termLen]byte, error) {
	var salt [len(hkdfSaltPrefix) + 4]byte
	copy(salt[:], hkdfSaltPrefix)
	binary.LittleEndian.PutUint32(salt[len(hkdfSaltPrefix):], magic)
	prk := hkdf.Extract(sha256.New, c.secret[:], salt[:])
	defer clear(prk)
	var terms [2 * termLen]byte
	if _, err := io.ReadFull(hkdf.Expand(sha256.New, prk, hkdfInfo[5]), terms[:]); err != nil {
		return [termLen]byte{}, fmt.Errorf("bip324: HKDF-Expand %s: %w", hkdfInfo[5], err)
	}
	if c.role == Initiator {
		return [termLen]byte(terms[termLen:]), nil // the responder's
	}
	return [termLen]byte(terms[:termLen]), nil
}

// otherNetwork reports the magic of another network (Config.OtherMagics)
// whose garbage terminator got holds, deriving those terminators on first
// use: only a peer that is not on ours pays for it.
func (c *Conn) otherNetwork(got []byte) (uint32, bool, error) {
	if len(c.otherMagics) == 0 || len(got) < termLen {
		return 0, false, nil
	}
	if c.otherTerms == nil {
		c.otherTerms = make([][termLen]byte, len(c.otherMagics))
		for i, m := range c.otherMagics {
			t, err := c.terminator(m)
			if err != nil {
				return 0, false, err
			}
			c.otherTerms[i] = t
		}
	}
	for i, t := range c.otherTerms {
		if bytes.Contains(got, t[:]) {
			return c.otherMagics[i], true, nil
		}
	}
	return 0, false, nil
}

// initCiphers sets up the packet ciphers and terminators for c.role and wipes
// the key material it was given.
func (c *Conn) initCiphers(k *sessionKeys) error {
	sendL, sendP, recvL, recvP := &k.initiatorL, &k.initiatorP, &k.responderL, &k.responderP
	c.sendTerm, c.recvTerm = k.initiatorTerm, k.responderTerm
	if c.role == Responder {
		sendL, sendP, recvL, recvP = recvL, recvP, sendL, sendP
		c.sendTerm, c.recvTerm = c.recvTerm, c.sendTerm
	}
	c.sessionID = k.sessionID
	// The v2transport ciphers keep the slices they are given: hand them
	// copies and wipe ours.
	var err error
	if c.sendL, err = v2transport.NewFSChaCha20(clone32(sendL)); err != nil {
		return err
	}
	if c.sendP, err = v2transport.NewFSChaCha20Poly1305(clone32(sendP)); err != nil {
		return err
	}
	if c.recvL, err = v2transport.NewFSChaCha20(clone32(recvL)); err != nil {
		return err
	}
	if c.recvP, err = v2transport.NewFSChaCha20Poly1305(clone32(recvP)); err != nil {
		return err
	}
	clear(k.initiatorL[:])
	clear(k.initiatorP[:])
	clear(k.responderL[:])
	clear(k.responderP[:])
	return nil
}

func clone32(k *[32]byte) []byte {
	b := make([]byte, 32)
	copy(b, k[:])
	return b
}

var errZeroKey = errors.New("bip324: entropy source produced a zero private key")

// keyFromReader is ellswift.EllswiftCreate with the private key read from
// rnd. The encoding's own randomness (u and the case) still comes from
// crypto/rand inside ellswift.XElligatorSwift.
func keyFromReader(rnd io.Reader) (*btcec.PrivateKey, [64]byte, error) {
	var b [32]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return nil, [64]byte{}, fmt.Errorf("reading entropy: %w", err)
	}
	priv, pub := btcec.PrivKeyFromBytes(b[:])
	clear(b[:])
	if priv.Key.IsZero() {
		return nil, [64]byte{}, errZeroKey
	}
	var p btcec.JacobianPoint
	pub.AsJacobian(&p) // affine: Z = 1
	x := p.X
	x.Normalize()
	u, t, err := ellswift.XElligatorSwift(&x)
	if err != nil {
		return nil, [64]byte{}, err
	}
	var enc [64]byte
	u.PutBytesUnchecked(enc[:32])
	t.PutBytesUnchecked(enc[32:])
	return priv, enc, nil
}
