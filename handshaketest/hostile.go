package handshaketest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"github.com/btcsuite/btcd/wire/v2"
)

// Hostile is a peer that attacks a client's resource bounds and state
// machine, beyond the misbehaving Behaviors (Silent, SlowDrip,
// OversizedPayload, UnknownFlood, ...). It is used through a Config.Handler:
//
//	peer, err := handshaketest.NewPeer(handshaketest.PingFlood.Config())
//
// Like the misbehaving Behaviors, every Hostile peer poses as Bitcoin Core
// and starts by reading the client's version. Each documents what a client
// that follows Bitcoin Core's limits must conclude; none ever needs more
// than the client's deadline to be dealt with.
type Hostile int

const (
	// VersionTooLarge sends a version header that truthfully announces a
	// 5,000-byte payload, far past the 358 bytes the largest valid version
	// takes (wire.MsgVersion.MaxPayloadLength), sends all 5,000 bytes (a
	// real version padded with zeros) under a valid checksum, then holds
	// the connection. Bitcoin Core accepts it, ignoring the bytes after the
	// relay flag; a client must not buffer them to do so.
	VersionTooLarge Hostile = iota

	// MaxUserAgent completes a valid handshake (version, verack, then
	// answers pings) whose version carries a user agent of exactly
	// wire.MaxUserAgentLen (256) bytes: the longest a node accepts, so a
	// client must complete.
	MaxUserAgent

	// UserAgentTooLong sends a well-framed version whose user agent is
	// wire.MaxUserAgentLen+1 (257) bytes, then a verack, then holds the
	// connection. The payload stays under the version's size limit; only
	// decoding it shows the violation. Bitcoin Core drops such a version
	// (its exception handler in ProcessMessages), ignores the verack that
	// comes before any valid version, and waits for its time limit.
	UserAgentTooLong

	// DuplicateVersion sends its version twice, then a verack, then
	// answers pings. Bitcoin Core ignores the second version ("redundant
	// version message") and completes the handshake.
	DuplicateVersion

	// PingFlood sends pings without end, each with a fresh nonce, before
	// ever sending its version, until a write fails or the peer is closed.
	// It keeps reading meanwhile so that the client's writes never block.
	PingFlood

	// OversizedUnknown sends the header of a message of an unknown command
	// claiming a 1 MiB payload: within Bitcoin Core's 4 MB message limit,
	// but far past any sensible pre-handshake budget. It then trickles a
	// few payload bytes one per Config.DripInterval, and holds the
	// connection.
	OversizedUnknown

	// ByteFlood sends its version, then messages of an unknown command with
	// 16 KiB payloads without end, each well-formed and checksummed, until
	// a write fails or the peer is closed. Unlike the lying claims of
	// OversizedPayload and OversizedUnknown, every byte is real, so only
	// a byte budget stops it.
	ByteFlood

	// ResetMidVersion writes the first half of its version message, then
	// resets the connection: it sets SO_LINGER to 0 so that closing sends a
	// TCP RST instead of a FIN. Over a connection other than TCP it just
	// closes.
	ResetMidVersion

	// HalfClose writes the first half of its version header, then shuts
	// down its sending side (a FIN, through CloseWrite) while it keeps
	// reading: the client meets the end of the stream mid-header on a
	// connection that is still open. Over a connection without
	// CloseWrite it closes the connection instead.
	HalfClose

	// ClaimAfterHandshake completes a handshake as Core does (over v2 when
	// Config.V2 is set), then starts a message whose header (over v2, whose
	// packet length) claims ClaimSize bytes, within Bitcoin Core's
	// 4,000,000-byte limit, trickles a few of them one per
	// Config.DripInterval, and holds the connection. A client reading
	// after the handshake must not size a buffer from the claim.
	ClaimAfterHandshake

	numHostile // keep last: bounds validation
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

// String returns the constant's name, e.g. "PingFlood".
func (h Hostile) String() string {
	switch h {
	case VersionTooLarge:
		return "VersionTooLarge"
	case MaxUserAgent:
		return "MaxUserAgent"
	case UserAgentTooLong:
		return "UserAgentTooLong"
	case DuplicateVersion:
		return "DuplicateVersion"
	case PingFlood:
		return "PingFlood"
	case OversizedUnknown:
		return "OversizedUnknown"
	case ByteFlood:
		return "ByteFlood"
	case ResetMidVersion:
		return "ResetMidVersion"
	case HalfClose:
		return "HalfClose"
	case ClaimAfterHandshake:
		return "ClaimAfterHandshake"
	}
	return fmt.Sprintf("Hostile(%d)", int(h))
}

// HostileKinds returns every defined Hostile peer, in declaration order, so
// tests can range over them.
func HostileKinds() []Hostile {
	hs := make([]Hostile, numHostile)
	for i := range hs {
		hs[i] = Hostile(i)
	}
	return hs
}

// Handler returns h as a Config.Handler. The handler of an undefined
// Hostile value fails at once.
func (h Hostile) Handler() func(ctx context.Context, c *Conn) error {
	var serve func(context.Context, *Conn) error
	switch h {
	case VersionTooLarge:
		serve = serveVersionTooLarge
	case MaxUserAgent:
		serve = func(ctx context.Context, c *Conn) error { return serveUserAgent(ctx, c, wire.MaxUserAgentLen) }
	case UserAgentTooLong:
		serve = func(ctx context.Context, c *Conn) error { return serveUserAgent(ctx, c, wire.MaxUserAgentLen+1) }
	case DuplicateVersion:
		serve = serveDuplicateVersion
	case PingFlood:
		serve = servePingFlood
	case OversizedUnknown:
		serve = serveOversizedUnknown
	case ByteFlood:
		serve = serveByteFlood
	case ResetMidVersion:
		serve = serveResetMidVersion
	case HalfClose:
		serve = serveHalfClose
	case ClaimAfterHandshake:
		serve = serveClaimAfterHandshake
	default:
		return func(context.Context, *Conn) error {
			return fmt.Errorf("handshaketest: unknown %v", h)
		}
	}
	return serve
}

// Config returns a Config whose Handler is h: a mainnet peer posing as
// Core on DefaultAddr. Set other fields, such as Addr or DripInterval, on
// the result.
func (h Hostile) Config() Config {
	return Config{Handler: h.Handler()}
}

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
