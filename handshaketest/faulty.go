package handshaketest

import (
	"context"
	"encoding/binary"
	"math/rand/v2"

	"github.com/btcsuite/btcd/wire/v2"
)

// Misbehaving peers. All pose as Core and start by reading the client's
// version (greet).

const (
	garbageSize    = 1 << 10
	oversizedClaim = wire.MaxMessagePayload // 32 MiB
	oversizedDrip  = 8                      // payload bytes trickled after the header
	floodCommand   = "flood"
)

// versionFrame is this peer's version as a complete message.
func versionFrame(c *Conn) ([]byte, error) {
	payload, err := encode(c.Version(), c.cfg.ProtocolVersion)
	if err != nil {
		return nil, err
	}
	return Frame(c.cfg.net(), wire.CmdVersion, payload), nil
}

// drip writes b one byte at a time, pausing between bytes.
func drip(ctx context.Context, c *Conn, b []byte) error {
	for i := range b {
		if i > 0 {
			if err := sleep(ctx, c.cfg.DripInterval); err != nil {
				return err
			}
		}
		if err := c.WriteRaw(b[i : i+1]); err != nil {
			return err
		}
	}
	return nil
}

func serveSlowDrip(ctx context.Context, c *Conn) error {
	if _, _, err := greet(ctx, c); err != nil {
		return err
	}
	f, err := versionFrame(c)
	if err != nil {
		return err
	}
	if err := drip(ctx, c, f); err != nil {
		return err
	}
	if err := c.WriteMessage(wire.NewMsgVerAck()); err != nil {
		return err
	}
	return live(c)
}

func serveCloseAfterVersion(ctx context.Context, c *Conn) error {
	if _, _, err := greet(ctx, c); err != nil {
		return err
	}
	return c.WriteMessage(c.Version()) // serve closes the connection
}

func serveVerackBeforeVersion(ctx context.Context, c *Conn) error {
	if _, _, err := greet(ctx, c); err != nil {
		return err
	}
	pver := c.cfg.ProtocolVersion
	if err := c.writeAll(pver, wire.NewMsgVerAck(), c.Version(), wire.NewMsgVerAck()); err != nil {
		return err
	}
	return live(c)
}

// otherNet is the network whose magic WrongMagic uses.
func otherNet(n wire.BitcoinNet) wire.BitcoinNet {
	if n == wire.MainNet {
		return wire.TestNet3
	}
	return wire.MainNet
}

func serveWrongMagic(ctx context.Context, c *Conn) error {
	if _, _, err := greet(ctx, c); err != nil {
		return err
	}
	payload, err := encode(c.Version(), c.cfg.ProtocolVersion)
	if err != nil {
		return err
	}
	if err := c.WriteRaw(Frame(otherNet(c.cfg.net()), wire.CmdVersion, payload)); err != nil {
		return err
	}
	return drain(c)
}

func serveBadChecksum(ctx context.Context, c *Conn) error {
	if _, _, err := greet(ctx, c); err != nil {
		return err
	}
	f, err := versionFrame(c)
	if err != nil {
		return err
	}
	for i := 20; i < 24; i++ { // invert the checksum: wrong whatever the payload
		f[i] ^= 0xff
	}
	if err := c.WriteRaw(f); err != nil {
		return err
	}
	return drain(c)
}

func serveOversized(ctx context.Context, c *Conn) error {
	if _, _, err := greet(ctx, c); err != nil {
		return err
	}
	f, err := versionFrame(c)
	if err != nil {
		return err
	}
	hdr := f[:wire.MessageHeaderSize]
	binary.LittleEndian.PutUint32(hdr[16:20], oversizedClaim)
	if err := c.WriteRaw(hdr); err != nil {
		return err
	}
	// A few real payload bytes keep a naive reader waiting for the rest.
	if err := sleep(ctx, c.cfg.DripInterval); err != nil {
		return err
	}
	if err := drip(ctx, c, f[wire.MessageHeaderSize:wire.MessageHeaderSize+oversizedDrip]); err != nil {
		return err
	}
	return drain(c)
}

// garbage returns garbageSize pseudo-random bytes, the same for a given
// network, whose first four never spell its magic.
func garbage(n wire.BitcoinNet) []byte {
	r := rand.New(rand.NewPCG(0x6761726261676521, uint64(n)))
	b := make([]byte, garbageSize)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if wire.BitcoinNet(binary.LittleEndian.Uint32(b)) == n {
		b[0] ^= 0xff
	}
	return b
}

func serveGarbage(ctx context.Context, c *Conn) error {
	if _, _, err := greet(ctx, c); err != nil {
		return err
	}
	if err := c.WriteRaw(garbage(c.cfg.net())); err != nil {
		return err
	}
	return drain(c)
}

func serveSelfEcho(ctx context.Context, c *Conn) error {
	_, raw, err := greet(ctx, c)
	if err != nil {
		return err
	}
	if err := c.WriteCommand(wire.CmdVersion, raw); err != nil {
		return err
	}
	if err := c.WriteMessage(wire.NewMsgVerAck()); err != nil {
		return err
	}
	return live(c)
}

func serveUnknownFlood(ctx context.Context, c *Conn) error {
	if _, _, err := greet(ctx, c); err != nil {
		return err
	}
	if err := c.WriteMessage(c.Version()); err != nil {
		return err
	}
	// Keep reading so the client's messages are recorded and its writes
	// never block on us.
	done := make(chan error, 1)
	go func() { done <- drain(c) }()
	var err error
	for seq := uint64(0); err == nil && ctx.Err() == nil; seq++ {
		err = c.WriteCommand(floodCommand, binary.LittleEndian.AppendUint64(nil, seq))
	}
	c.nc.Close() // unblocks the reader
	<-done
	return err
}
