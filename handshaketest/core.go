package handshaketest

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"

	"github.com/btcsuite/btcd/wire/v2"
)

// The Core behaviour, as the release in Config.Core does it. Function
// names in comments are Bitcoin Core's (net_processing.cpp); CONFORMANCE.md
// cites them per release.

// Protocol thresholds of Bitcoin Core (node/protocol_version.h).
const (
	coreMinPeerVersion = 31800 // MIN_PEER_PROTO_VERSION
	sendCmpctVersion   = 70014 // SHORT_IDS_BLOCKS_VERSION
	finalAlertVersion  = 70012 // peers at or below it get the final alert
	featureVersion     = 70017 // BIP434's FEATURE_VERSION
	locatorVersion     = 70016 // CBlockLocator's DUMMY_VERSION
	cmdSendCmpct       = "sendcmpct"
	cmdSendTxRcncl     = "sendtxrcncl"
	cmdFeature         = "feature"
	cmdAlert           = "alert"
)

// finalAlertHex is the payload of the alert message Core sends, since
// 0.14, to peers old enough to have the retired alert system: the signed
// "URGENT: Alert key compromised, upgrade required" alert of maximum
// sequence that cancels every other (ProcessMessage's VERSION branch).
const finalAlertHex = "60010000000000000000000000ffffff7f00000000ffffff7ffeffff7f01ffffff7f" +
	"00000000ffffff7f00ffffff7f002f555247454e543a20416c657274206b657920636f" +
	"6d70726f6d697365642c2075706772616465207265717569726564004630440220653f" +
	"ebd6410f470f6bae11cad19c48413becb1ac2c17f908fd0fd53bdc3abd5202206d0e9c" +
	"96fe88d4a0f01ed9dedae2b6f9e00da94cad0fecaae66ecf689bf71b50"

// FinalAlert returns the payload of the alert message a Core peer of any
// release sends after its verack to a client at protocol version 70012
// or below.
func FinalAlert() []byte {
	b, _ := hex.DecodeString(finalAlertHex) // a constant: never fails
	return b
}

// sendCmpct is BIP 152's sendcmpct: announce=false (low-bandwidth mode)
// and a compact block version, 2 (segwit) or 1.
func sendCmpct(version uint64) []byte {
	return binary.LittleEndian.AppendUint64([]byte{0}, version)
}

// sendTxRcncl is BIP 330's sendtxrcncl: version 1 and a random salt.
func sendTxRcncl() []byte {
	b := binary.LittleEndian.AppendUint32(nil, 1)
	return binary.LittleEndian.AppendUint64(b, rand.Uint64())
}

// afterVerackMsgs says what afterVerack sends besides sendcmpct and ping.
type afterVerackMsgs struct {
	cmpctV1    bool                // also offer compact blocks version 1
	getHeaders *wire.MsgGetHeaders // ask for headers, when not nil
	feeFilter  int64               // the feefilter, sat/kvB
}

// afterVerack sends what Core sends once the client's verack arrived,
// each gated on the negotiated version as Core gates it: sendcmpct from
// ProcessMessage's VERACK branch, then from SendMessages a ping
// (MaybeSendPing, at once on a new connection), getheaders (its "Start
// block sync") and feefilter (MaybeSendFeefilter, whatever the client's
// relay flag).
func afterVerack(c *Conn, pver uint32, m afterVerackMsgs) error {
	if pver >= sendCmpctVersion {
		if err := c.WriteCommand(cmdSendCmpct, sendCmpct(2)); err != nil {
			return err
		}
		if m.cmpctV1 {
			if err := c.WriteCommand(cmdSendCmpct, sendCmpct(1)); err != nil {
				return err
			}
		}
	}
	if err := c.writeAt(wire.NewMsgPing(rand.Uint64()), pver); err != nil {
		return err
	}
	if m.getHeaders != nil {
		if err := c.writeAt(m.getHeaders, pver); err != nil {
			return err
		}
	}
	if pver >= wire.FeeFilterVersion {
		return c.writeAt(wire.NewMsgFeeFilter(m.feeFilter), pver)
	}
	return nil
}

// serveCore imitates a default Bitcoin Core node of release c.cfg.Core as
// an inbound node: ProcessMessage's VERSION branch (PushNodeVersion, then
// wtxidrelay, sendaddrv2, sendtxrcncl, features, verack, the final alert)
// and VERACK branch, and SendMessages.
func serveCore(ctx context.Context, c *Conn) error {
	rel := c.cfg.Core.traits()
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
	if pver <= finalAlertVersion {
		if err := c.WriteCommand(cmdAlert, FinalAlert()); err != nil {
			return err
		}
	}
	if err := coreAwaitVerack(c, rel, pver); err != nil {
		return err
	}
	m := afterVerackMsgs{cmpctV1: rel.cmpctV1, feeFilter: rel.minRelayFee}
	// A synced node asks every peer that can serve blocks for headers
	// (CanServeBlocks: NODE_NETWORK or NODE_NETWORK_LIMITED), starting from
	// its best header's parent. The peer has no chain: its locator names
	// the genesis block.
	if v.Services&(wire.SFNodeNetwork|wire.SFNodeNetworkLimited) != 0 {
		m.getHeaders = wire.NewMsgGetHeaders()
		m.getHeaders.ProtocolVersion = min(pver, locatorVersion)
		m.getHeaders.AddBlockLocatorHash(c.cfg.ChainParams.GenesisHash)
	}
	if err := afterVerack(c, pver, m); err != nil {
		return err
	}
	if rel.bip434 {
		return coreLive(c)
	}
	return live(c)
}

// coreAwaitVerack reads until the client's verack as Core does: messages
// Core's transport drops (bad checksum, invalid command, over v2 a
// message type it does not know) and those it does not support before
// verack are skipped. A release without BIP434 counts feature among the
// latter, over v2 too, where its one-byte type 37 is unknown to it and
// dropped; master checks it (checkFeature).
func coreAwaitVerack(c *Conn, rel coreTraits, pver uint32) error {
	for {
		cmd, payload, err := c.ReadMessage()
		if dropped(err) {
			continue
		}
		if err != nil {
			return err
		}
		switch {
		case cmd == wire.CmdVerAck:
			return nil
		case cmd == cmdFeature && rel.bip434:
			if err := checkFeature(pver, payload); err != nil {
				return err
			}
		}
	}
}

// coreLive is live for master: a feature message after verack ends the
// connection ("feature received after verack").
func coreLive(c *Conn) error {
	return liveUntil(c, func(cmd string) error {
		if cmd == cmdFeature {
			return fmt.Errorf("handshaketest: feature received after verack")
		}
		return nil
	})
}
