package bip324

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/bitcoin-handshake/handshake/internal/p2p"
)

// v1Prefix is the first 16 bytes of a v1 version message for magic.
func v1Prefix(magic uint32) [16]byte {
	var p [16]byte
	binary.LittleEndian.PutUint32(p[:4], magic)
	copy(p[4:], "version\x00\x00\x00\x00\x00")
	return p
}

// detectV1 (responder) compares the initiator's first 16 bytes with the v1
// prefix, peeking only: on ErrV1Peer nothing has been consumed. A v2
// initiator sends at least 64 bytes before it waits, so waiting for 16 costs
// nothing (we answer only once we have its whole key anyway).
func (c *Conn) detectV1(magic uint32) error {
	prefix := v1Prefix(magic)
	p, err := c.r.Peek(len(prefix))
	if err != nil {
		return keyExchangeErr("reading the initiator's key", err)
	}
	switch {
	case bytes.Equal(p, prefix[:]):
		return fmt.Errorf("%w: initiator sent a v1 version message", ErrV1Peer)
	case bytes.Equal(p[4:], prefix[4:]):
		// BIP324 only compares with our network's prefix; this one
		// would otherwise fail much later, at the terminator search.
		return fmt.Errorf("%w: initiator sent a v1 version message for network magic %08x, want %08x",
			ErrV1Peer, binary.LittleEndian.Uint32(p[:4]), magic)
	}
	return nil
}

// isV1Command reports whether b is a v1 header command field: 1 to 12
// printable ASCII bytes, zero-padded.
func isV1Command(b []byte) bool {
	name, ok := p2p.Command(b, 0x7e)
	return ok && len(name) > 0
}
