package handshaketest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"net"

	"github.com/btcsuite/btcd/wire/v2"
)

// Sizes the hostile peers use.
const (
	// ClaimSize is what ClaimAfterHandshake claims.
	ClaimSize = 3_999_000

	versionTooLargeSize  = 5000
	oversizedUnknownSize = 1 << 20
	byteFloodSize        = 16 << 10
	hostileCommand       = "blob" // unknown to every implementation
)

func serveVersionTooLarge(ctx context.Context, c *Conn) error {
	if _, _, err := greet(ctx, c); err != nil {
		return err
	}
	payload, err := encode(c.Version(), c.cfg.ProtocolVersion)
	if err != nil {
		return err
	}
	padded := make([]byte, versionTooLargeSize)
	copy(padded, payload)
	if err := c.WriteCommand(wire.CmdVersion, padded); err != nil {
		return err
	}
	return drain(c)
}

// versionWithUserAgent encodes c's version with a user agent of n bytes. It
// splices the user agent in by hand, since wire refuses to encode one longer
// than wire.MaxUserAgentLen.
func versionWithUserAgent(c *Conn, n int) ([]byte, error) {
	v := c.Version()
	v.UserAgent = ""
	payload, err := encode(v, c.cfg.ProtocolVersion)
	if err != nil {
		return nil, err
	}
	// With an empty user agent, its var-string is the single zero byte
	// after the fixed part: version, services, timestamp, two addresses,
	// nonce.
	const at = 4 + 8 + 8 + 26 + 26 + 8
	if len(payload) <= at || payload[at] != 0 {
		return nil, errors.New("handshaketest: unexpected version layout")
	}
	var b bytes.Buffer
	b.Write(payload[:at])
	if err := wire.WriteVarInt(&b, c.cfg.ProtocolVersion, uint64(n)); err != nil {
		return nil, err
	}
	for i := range n {
		b.WriteByte('a' + byte(i%26))
	}
	b.Write(payload[at+1:])
	return b.Bytes(), nil
}

func serveUserAgent(ctx context.Context, c *Conn, n int) error {
	if _, _, err := greet(ctx, c); err != nil {
		return err
	}
	payload, err := versionWithUserAgent(c, n)
	if err != nil {
		return err
	}
	if err := c.WriteCommand(wire.CmdVersion, payload); err != nil {
		return err
	}
	if err := c.WriteMessage(wire.NewMsgVerAck()); err != nil {
		return err
	}
	if n > wire.MaxUserAgentLen {
		return drain(c)
	}
	return live(c)
}

func serveDuplicateVersion(ctx context.Context, c *Conn) error {
	if _, _, err := greet(ctx, c); err != nil {
		return err
	}
	pver := c.cfg.ProtocolVersion
	if err := c.writeAll(pver, c.Version(), c.Version(), wire.NewMsgVerAck()); err != nil {
		return err
	}
	return live(c)
}

// flood writes the frames next returns, reusing one buffer, until a write
// fails or ctx ends, while reading in the background so that the client's
// writes never block on us. Writing without allocating keeps the fake peer
// out of the figures of tests that measure the client's allocations.
func flood(ctx context.Context, c *Conn, next func(seq uint64) []byte) error {
	done := make(chan error, 1)
	go func() { done <- drain(c) }()
	var err error
	for seq := uint64(0); err == nil && ctx.Err() == nil; seq++ {
		err = c.WriteRaw(next(seq))
	}
	c.nc.Close() // unblocks the reader
	<-done
	return err
}

// sealFrame fills in the header of a frame built by Frame whose payload was
// changed in place.
func sealFrame(f []byte) {
	payload := f[wire.MessageHeaderSize:]
	binary.LittleEndian.PutUint32(f[16:20], uint32(len(payload)))
	first := sha256.Sum256(payload)
	second := sha256.Sum256(first[:])
	copy(f[20:24], second[:4])
}

func servePingFlood(ctx context.Context, c *Conn) error {
	if _, _, err := greet(ctx, c); err != nil {
		return err
	}
	f := Frame(c.cfg.net(), wire.CmdPing, make([]byte, 8))
	return flood(ctx, c, func(seq uint64) []byte {
		binary.LittleEndian.PutUint64(f[wire.MessageHeaderSize:], seq^0x9e3779b97f4a7c15)
		sealFrame(f)
		return f
	})
}

func serveOversizedUnknown(ctx context.Context, c *Conn) error {
	if _, _, err := greet(ctx, c); err != nil {
		return err
	}
	hdr := Frame(c.cfg.net(), hostileCommand, nil)
	binary.LittleEndian.PutUint32(hdr[16:20], oversizedUnknownSize)
	if err := c.WriteRaw(hdr); err != nil {
		return err
	}
	if err := sleep(ctx, c.cfg.DripInterval); err != nil {
		return err
	}
	if err := drip(ctx, c, make([]byte, oversizedDrip)); err != nil {
		return err
	}
	return drain(c)
}

func serveClaimAfterHandshake(ctx context.Context, c *Conn) error {
	v, _, err := greet(ctx, c)
	if err != nil {
		return err
	}
	if err := c.writeAll(negotiated(c, v), c.Version(), wire.NewMsgVerAck()); err != nil {
		return err
	}
	if err := awaitVerack(c); err != nil {
		return err
	}
	if err := c.WriteClaim(hostileCommand, ClaimSize); err != nil {
		return err
	}
	if err := drip(ctx, c, make([]byte, oversizedDrip)); err != nil {
		return err
	}
	return drain(c)
}

func serveByteFlood(ctx context.Context, c *Conn) error {
	if _, _, err := greet(ctx, c); err != nil {
		return err
	}
	if err := c.WriteMessage(c.Version()); err != nil {
		return err
	}
	// The same well-formed message every time: the bytes are real, their
	// content does not matter.
	f := Frame(c.cfg.net(), hostileCommand, make([]byte, byteFloodSize))
	return flood(ctx, c, func(uint64) []byte { return f })
}

func serveResetMidVersion(ctx context.Context, c *Conn) error {
	if _, _, err := greet(ctx, c); err != nil {
		return err
	}
	f, err := versionFrame(c)
	if err != nil {
		return err
	}
	if err := c.WriteRaw(f[:len(f)/2]); err != nil {
		return err
	}
	if tc, ok := c.nc.(*net.TCPConn); ok {
		if err := tc.SetLinger(0); err != nil {
			return err
		}
	}
	return c.nc.Close()
}

func serveHalfClose(ctx context.Context, c *Conn) error {
	if _, _, err := greet(ctx, c); err != nil {
		return err
	}
	f, err := versionFrame(c)
	if err != nil {
		return err
	}
	if err := c.WriteRaw(f[:wire.MessageHeaderSize/2]); err != nil {
		return err
	}
	cw, ok := c.nc.(interface{ CloseWrite() error })
	if !ok {
		return c.nc.Close()
	}
	if err := cw.CloseWrite(); err != nil {
		return err
	}
	return drain(c)
}
