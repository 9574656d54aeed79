package handshaketest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/btcsuite/btcd/wire/v2"
)

// Behaviours imitating real implementations.

// Protocol thresholds of Bitcoin Core (node/protocol_version.h) and bcoin.
const (
	coreMinPeerVersion  = 31800 // MIN_PEER_PROTO_VERSION
	sendCmpctVersion    = 70014 // SHORT_IDS_BLOCKS_VERSION
	bcoinMinPeerVersion = 70001 // bcoin's common.MIN_VERSION
	coreFeeFilter       = 1000  // sat/kvB, Core's default minimum relay fee
	cmdSendCmpct        = "sendcmpct"
	cmdSendTxRcncl      = "sendtxrcncl"
	cmdFeature          = "feature"
	featureVersion      = 70017 // BIP434
)

// sendCmpct is BIP 152's sendcmpct: announce=false (low-bandwidth mode),
// version 2 (segwit compact blocks).
func sendCmpct() []byte {
	return binary.LittleEndian.AppendUint64([]byte{0}, 2)
}

// sendTxRcncl is BIP 330's sendtxrcncl: version 1 and a random salt.
func sendTxRcncl() []byte {
	b := binary.LittleEndian.AppendUint32(nil, 1)
	return binary.LittleEndian.AppendUint64(b, rand.Uint64())
}

// afterVerack sends what Core sends once the client's verack arrived,
// each gated on the negotiated version as Core gates it: sendcmpct from
// ProcessMessage's VERACK branch, then from SendMessages a ping
// (MaybeSendPing, at once on a new connection) and feefilter
// (MaybeSendFeefilter, whatever the client's relay flag).
func afterVerack(c *Conn, pver uint32) error {
	if pver >= sendCmpctVersion {
		if err := c.WriteCommand(cmdSendCmpct, sendCmpct()); err != nil {
			return err
		}
	}
	if err := c.writeAt(wire.NewMsgPing(rand.Uint64()), pver); err != nil {
		return err
	}
	if pver >= wire.FeeFilterVersion {
		return c.writeAt(wire.NewMsgFeeFilter(coreFeeFilter), pver)
	}
	return nil
}

// serveCore imitates a default Bitcoin Core node as an inbound node:
// net_processing.cpp, PeerManagerImpl::ProcessMessage's VERSION branch
// (PushNodeVersion, then wtxidrelay, sendaddrv2, sendtxrcncl, verack) and
// VERACK branch, and SendMessages.
func serveCore(ctx context.Context, c *Conn) error {
	v, _, err := greet(ctx, c)
	if err != nil {
		return err
	}
	if v.ProtocolVersion < coreMinPeerVersion {
		return nil // "peer using obsolete version": disconnected without a word
	}
	pver := negotiated(c, v)
	if err := c.WriteMessage(c.Version()); err != nil {
		return err
	}
	if pver >= wire.AddrV2Version { // WTXID_RELAY_VERSION is the same 70016
		if err := c.writeAll(pver, wire.NewMsgWTxIdRelay(), wire.NewMsgSendAddrV2()); err != nil {
			return err
		}
		// Only with -txreconciliation, to a peer that asked for relay.
		if c.cfg.TxReconciliation && !v.DisableRelayTx {
			if err := c.WriteCommand(cmdSendTxRcncl, sendTxRcncl()); err != nil {
				return err
			}
		}
	}
	if pver >= featureVersion {
		for _, f := range c.cfg.Features {
			if err := c.WriteCommand(cmdFeature, appendFeature(nil, f)); err != nil {
				return err
			}
		}
	}
	if err := c.writeAt(wire.NewMsgVerAck(), pver); err != nil {
		return err
	}
	if err := coreAwaitVerack(c, pver); err != nil {
		return err
	}
	if err := afterVerack(c, pver); err != nil {
		return err
	}
	return live(c)
}

// coreAwaitVerack reads until the client's verack as Core does: messages
// Core's transport drops (bad checksum, invalid command) and those it does
// not support before verack are skipped; a feature message from a client
// below 70017, or one that does not parse, ends the connection, as Core's
// BIP434 support does ("invalid feature payload").
func coreAwaitVerack(c *Conn, pver uint32) error {
	for {
		cmd, payload, err := c.ReadMessage()
		if dropped(err) {
			continue
		}
		if err != nil {
			return err
		}
		switch cmd {
		case wire.CmdVerAck:
			return nil
		case cmdFeature:
			if pver < featureVersion {
				return fmt.Errorf("handshaketest: feature received with incompatible version %d", pver)
			}
			if _, err := parseFeature(payload); err != nil {
				return err
			}
		}
	}
}

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
	if err := afterVerack(c, pver); err != nil {
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
