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
	// The HMACs are interfaces, so what they write to escapes: one
	// buffer for the PRK and each output block.
	buf := new([2 * sha256.Size]byte)
	defer clear(buf[:])
	prk, sum := buf[:sha256.Size], buf[sha256.Size:]
	extract(prk, secret, magic)

	var k sessionKeys
	var terms [2 * termLen]byte
	// One HMAC keyed with the PRK serves all six labels.
	mac := hmac.New(sha256.New, prk)
	for i, out := range [...][]byte{
		k.sessionID[:], k.initiatorL[:], k.initiatorP[:], k.responderL[:], k.responderP[:], terms[:],
	} {
		expand(mac, out, hkdfInfo[i], sum)
	}
	copy(k.initiatorTerm[:], terms[:termLen])
	copy(k.responderTerm[:], terms[termLen:])
	return k, nil
}

// extract is HKDF-Extract with BIP324's salt for magic, into prk.
func extract(prk, secret []byte, magic uint32) {
	var salt [len(hkdfSaltPrefix) + 4]byte
	copy(salt[:], hkdfSaltPrefix)
	binary.LittleEndian.PutUint32(salt[len(hkdfSaltPrefix):], magic)
	mac := hmac.New(sha256.New, salt[:])
	mac.Write(secret)
	mac.Sum(prk[:0])
}

// expand is HKDF-Expand (RFC 5869) for an output of at most one hash
// length, all BIP324 asks for: T(1) = HMAC(PRK, info || 0x01), truncated.
// mac is keyed with the PRK and reused across labels, where hkdf.Expand
// would key a new HMAC each time; TestExpandMatchesHKDF holds the two to
// the same bytes. sum is scratch of a hash's length.
func expand(mac hash.Hash, out, info, sum []byte) {
	mac.Reset()
	mac.Write(info)
	mac.Write([]byte{1})
	copy(out, mac.Sum(sum[:0]))
}

// terminator derives, for another network's magic, the garbage terminator
// the peer would send if it were on that network.
func (c *Conn) terminator(magic uint32) [termLen]byte {
	buf := new([2 * sha256.Size]byte)
	defer clear(buf[:])
	prk, sum := buf[:sha256.Size], buf[sha256.Size:]
	extract(prk, c.secret[:], magic)
	var terms [2 * termLen]byte
	expand(hmac.New(sha256.New, prk), terms[:], hkdfInfo[5], sum)
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
