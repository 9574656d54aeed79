package handshaketest

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/wire/v2"
)

// Behaviours imitating real implementations.

// bcoin's common.MIN_VERSION: older clients are disconnected.
const bcoinMinPeerVersion = 70001

// serveBcoin imitates a bcoin node: it waits for the client's version
// ("we're shy"), answers version and verack, and after the client's verack
// announces its preferences. It predates wtxidrelay and addrv2.
func serveBcoin(ctx context.Context, c *Conn) error {
	v, _, err := greet(ctx, c)
	if err != nil {
		return err
	}
	if v.ProtocolVersion < bcoinMinPeerVersion {
		return nil
	}
	pver := negotiated(c, v)
	if err := c.writeAll(pver, c.Version(), wire.NewMsgVerAck()); err != nil {
		return err
	}
	if err := awaitVerack(c); err != nil {
		return err
	}
	// bcoin announces its preferences as Core once did, sendheaders
	// included.
	if pver >= wire.SendHeadersVersion {
		if err := c.writeAt(wire.NewMsgSendHeaders(), pver); err != nil {
			return err
		}
	}
	// bcoin's feefilter is its minimum relay fee, 1000 sat/kvB.
	if err := afterVerack(c, pver, afterVerackMsgs{feeFilter: 1000}); err != nil {
		return err
	}
	return live(c)
}

// serveMinimal is an old node (Old, TooOld): version and verack, nothing
// else unless pinged.
func serveMinimal(ctx context.Context, c *Conn) error {
	if _, _, err := greet(ctx, c); err != nil {
		return err
	}
	if err := c.writeAll(c.cfg.ProtocolVersion, c.Version(), wire.NewMsgVerAck()); err != nil {
		return err
	}
	return live(c)
}

// serveBtcd imitates btcd v0.26.2 as an inbound node: peer/peer.go's
// negotiateInboundProtocol (line 2286), readRemoteVersionMsg (2032) and
// waitToFinishNegotiation (2237).
func serveBtcd(ctx context.Context, c *Conn) error {
	cmd, payload, err := c.ReadMessage()
	if err != nil {
		return err
	}
	if cmd != wire.CmdVersion {
		if !knownToWire(cmd) {
			// wire.ReadMessage fails with ErrUnknownMessage before
			// btcd gets to write a reject.
			return fmt.Errorf("btcd: first message %q: %w", cmd, wire.ErrUnknownMessage)
		}
		// peer.go:2045-2050 builds the reject from a nil *MsgVersion,
		// whose Command() is still "version".
		reason := "a version message must precede all others"
		_ = c.WriteMessage(wire.NewMsgReject(wire.CmdVersion, wire.RejectMalformed, reason))
		return fmt.Errorf("btcd: first message %q: %s", cmd, reason)
	}
	var v wire.MsgVersion
	if err := v.BtcDecode(bytes.NewBuffer(payload), wire.ProtocolVersion, wire.BaseEncoding); err != nil {
		return fmt.Errorf("btcd: decoding version: %w", err)
	}
	if uint32(max(v.ProtocolVersion, 0)) < wire.MultipleAddressVersion { // peer.go:2115
		reason := fmt.Sprintf("protocol version must be %d or greater", wire.MultipleAddressVersion)
		_ = c.WriteMessage(wire.NewMsgReject(wire.CmdVersion, wire.RejectObsolete, reason))
		return errors.New("btcd: " + reason)
	}
	if err := sleep(ctx, c.cfg.Delay); err != nil {
		return err
	}
	pver := negotiated(c, &v) // peer.go:2063
	if err := c.WriteMessage(c.Version()); err != nil {
		return err
	}
	if pver >= wire.AddrV2Version { // writeSendAddrV2Msg, peer.go:2223
		if err := c.writeAt(wire.NewMsgSendAddrV2(), pver); err != nil {
			return err
		}
	}
	// btcd sends its verack without waiting for the client's (peer.go:2341).
	if err := c.writeAt(wire.NewMsgVerAck(), pver); err != nil {
		return err
	}
	for {
		cmd, _, err := c.ReadMessage()
		if err != nil {
			return err
		}
		switch {
		case cmd == wire.CmdVerAck:
			// Handshake done. btcd's next unsolicited message is a
			// ping after pingInterval (2 minutes).
			return live(c)
		case cmd == wire.CmdSendAddrV2, !knownToWire(cmd):
			// wtxidrelay, sendcmpct, sendtxrcncl... are unknown to
			// wire/v2 and skipped (peer.go:2244).
		default:
			return fmt.Errorf("btcd: %q before verack: %w", cmd, wire.ErrInvalidHandshake)
		}
	}
}

// knownToWire reports whether wire/v2, and so btcd, has a type for cmd:
// wire rejects unknown commands before looking at the payload.
func knownToWire(cmd string) bool {
	frame := Frame(wire.MainNet, cmd, nil)
	_, _, err := wire.ReadMessage(bytes.NewReader(frame), wire.ProtocolVersion, wire.MainNet)
	return !errors.Is(err, wire.ErrUnknownMessage)
}
