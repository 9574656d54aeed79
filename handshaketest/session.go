package handshaketest

import (
	"context"
	"io"

	"github.com/btcsuite/btcd/wire/v2"
)

// Steps shared by the behaviours.

// greet reads the client's version and waits Config.Delay, as every
// answering behaviour starts. It also returns the raw version payload.
func greet(ctx context.Context, c *Conn) (*wire.MsgVersion, []byte, error) {
	v, raw, err := c.readVersion()
	if err != nil {
		return nil, nil, err
	}
	return v, raw, sleep(ctx, c.cfg.Delay)
}

// negotiated is the protocol version both sides speak: the lower of theirs
// and ours, as Core and btcd compute it.
func negotiated(c *Conn, theirs *wire.MsgVersion) uint32 {
	return min(uint32(max(theirs.ProtocolVersion, 0)), c.cfg.ProtocolVersion)
}

// writeAt encodes msg at pver, which decides optional fields such as the
// ping nonce, and writes it.
func (c *Conn) writeAt(msg wire.Message, pver uint32) error {
	payload, err := encode(msg, pver)
	if err != nil {
		return err
	}
	return c.WriteCommand(msg.Command(), payload)
}

// writeAll writes msgs in order, each in its own Write like a real node.
func (c *Conn) writeAll(pver uint32, msgs ...wire.Message) error {
	for _, m := range msgs {
		if err := c.writeAt(m, pver); err != nil {
			return err
		}
	}
	return nil
}

// awaitVerack reads until the client's verack, ignoring anything else as
// Core does before the handshake completes.
func awaitVerack(c *Conn) error {
	for {
		cmd, _, err := c.ReadMessage()
		if err != nil {
			return err
		}
		if cmd == wire.CmdVerAck {
			return nil
		}
	}
}

// live serves an established connection until the client leaves: pings
// get their pong, getaddr the configured addresses (Config.Addrs),
// everything else is recorded and ignored.
func live(c *Conn) error { return liveUntil(c, nil) }

// liveUntil is live that also ends the connection when check, if set,
// returns an error for a command read.
func liveUntil(c *Conn, check func(cmd string) error) error {
	for {
		cmd, payload, err := c.ReadMessage()
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(cmd); err != nil {
				return err
			}
		}
		switch cmd {
		case wire.CmdPing:
			err = c.WriteCommand(wire.CmdPong, payload)
		case wire.CmdGetAddr:
			err = c.WriteAddrs(c.cfg.Addrs)
		}
		if err != nil {
			return err
		}
	}
}

// drain holds the connection open without ever writing, recording the
// client's messages until it leaves. After a framing error message
// boundaries are lost, so the rest is swallowed raw.
func drain(c *Conn) error {
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			if hangup(err) {
				return err
			}
			_, err = io.Copy(io.Discard, c.nc)
			return err
		}
	}
}
