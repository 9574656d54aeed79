package bip324

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ellswift"
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

// hkdfInfo are BIP324's HKDF-Expand labels, in the order deriveKeys uses
// them, each followed by the counter byte of HKDF-Expand's first block.
var hkdfInfo = [...][]byte{
	[]byte("session_id\x01"),
	[]byte("initiator_L\x01"),
	[]byte("initiator_P\x01"),
	[]byte("responder_L\x01"),
	[]byte("responder_P\x01"),
	[]byte("garbage_terminators\x01"),
}

// deriveKeys runs HKDF-SHA256 over the ECDH secret with the salt
// "bitcoin_v2_shared_secret" + magic (little-endian) and the BIP324 labels.
func deriveKeys(secret []byte, magic uint32) (sessionKeys, error) {
	// What the HMACs read and write escapes, as they are interfaces: one
	// buffer holds the salt, the PRK and each output block.
	buf := new(hkdfBuf)
	defer clear(buf[:])
	prk := extract(buf, secret, magic)

	var k sessionKeys
	var terms [2 * termLen]byte
	// One HMAC keyed with the PRK serves all six labels.
	mac := hmac.New(sha256.New, prk)
	for i, out := range [...][]byte{
		k.sessionID[:], k.initiatorL[:], k.initiatorP[:], k.responderL[:], k.responderP[:], terms[:],
	} {
		expand(mac, out, hkdfInfo[i], buf)
	}
	copy(k.initiatorTerm[:], terms[:termLen])
	copy(k.responderTerm[:], terms[termLen:])
	return k, nil
}

// hkdfBuf is deriveKeys's scratch: the salt, the PRK, an output block.
type hkdfBuf [len(hkdfSaltPrefix) + 4 + 2*sha256.Size]byte

// extract is HKDF-Extract with BIP324's salt for magic; the PRK it returns
// is part of buf.
func extract(buf *hkdfBuf, secret []byte, magic uint32) []byte {
	salt := buf[:len(hkdfSaltPrefix)+4]
	copy(salt, hkdfSaltPrefix)
	binary.LittleEndian.PutUint32(salt[len(hkdfSaltPrefix):], magic)
	mac := hmac.New(sha256.New, salt)
	mac.Write(secret)
	return mac.Sum(buf[len(salt):len(salt)])
}

// expand is HKDF-Expand (RFC 5869) for an output of at most one hash
// length, all BIP324 asks for: T(1) = HMAC(PRK, info || 0x01), truncated;
// info carries the 0x01. mac is keyed with the PRK and reused across
// labels, where hkdf.Expand would key a new HMAC each time;
// TestExpandMatchesHKDF holds the two to the same bytes.
func expand(mac hash.Hash, out, info []byte, buf *hkdfBuf) {
	mac.Reset()
	mac.Write(info)
	copy(out, mac.Sum(buf[len(buf)-sha256.Size:len(buf)-sha256.Size]))
}

// terminator derives, for another network's magic, the garbage terminator
// the peer would send if it were on that network.
func (c *Conn) terminator(magic uint32) [termLen]byte {
	buf := new(hkdfBuf)
	defer clear(buf[:])
	prk := extract(buf, c.secret[:], magic)
	var terms [2 * termLen]byte
	expand(hmac.New(sha256.New, prk), terms[:], hkdfInfo[5], buf)
	if c.role == Initiator {
		return [termLen]byte(terms[termLen:]) // the responder's
	}
	return [termLen]byte(terms[:termLen])
}

// otherNetwork reports the magic of another network (Config.OtherMagics)
// whose garbage terminator got holds, deriving those terminators on first
// use: only a peer that is not on ours pays for it.
func (c *Conn) otherNetwork(got []byte) (uint32, bool) {
	if len(c.otherMagics) == 0 || len(got) < termLen {
		return 0, false
	}
	if c.otherTerms == nil {
		c.derived = true
		c.otherTerms = make([][termLen]byte, len(c.otherMagics))
		for i, m := range c.otherMagics {
			c.otherTerms[i] = c.terminator(m)
		}
	}
	for i, t := range c.otherTerms {
		if bytes.Contains(got, t[:]) {
			return c.otherMagics[i], true
		}
	}
	return 0, false
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
	if err := c.sendL.init(sendL[:], nil); err != nil {
		return err
	}
	if err := c.sendP.init(sendP[:]); err != nil {
		return err
	}
	if err := c.recvL.init(recvL[:], nil); err != nil {
		return err
	}
	if err := c.recvP.init(recvP[:]); err != nil {
		return err
	}
	clear(k.initiatorL[:])
	clear(k.initiatorP[:])
	clear(k.responderL[:])
	clear(k.responderP[:])
	return nil
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
