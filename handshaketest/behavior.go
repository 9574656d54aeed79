package handshaketest

import (
	"fmt"

	"github.com/btcsuite/btcd/wire/v2"
)

// Behavior selects how a fake peer answers a client. Every behaviour except
// Silent first waits for the client's version message (as an inbound node
// does), then waits Config.Delay, then acts.
type Behavior int

const (
	// Core imitates a default Bitcoin Core node of the release in
	// Config.Core (27.1 unless set; see CoreRelease) as an inbound node,
	// over v2 or v1 (see Config.V2): on the client's version, its
	// version, then wtxidrelay and sendaddrv2 when the negotiated version
	// is at least 70016, sendtxrcncl only with Config.TxReconciliation and
	// a client asking for relay, BIP434 features only with Config.Features
	// and both sides at 70017, then verack, then to a client at 70012 or
	// below the final alert; after the client's verack, sendcmpct (70014;
	// before 22.0 for compact block versions 2 and 1), a ping, getheaders
	// to a client announcing NODE_NETWORK or NODE_NETWORK_LIMITED (as a
	// synced node asks every peer that can serve blocks), and feefilter
	// (70013) with the release's minimum relay fee. It never sends
	// sendheaders: Core sends it only to a peer that announced a headers
	// chain with more than the minimum work (MaybeSendSendHeaders). Before
	// the client's version it ignores everything, as Core does; clients
	// announcing a version below 31800 are disconnected without an
	// answer. A client's feature message is ignored by every release, as
	// an unsupported message before verack (over v2, type 37 is an
	// unknown type they drop); CoreMaster, with BIP434, ends the
	// connection on a feature that is malformed, sent at a common version
	// below 70017, or sent after verack.
	Core Behavior = iota

	// Btcd imitates btcd v0.26 as an inbound node (peer.negotiateInboundProtocol):
	// version, then sendaddrv2 (only when the negotiated version is at least
	// 70016), then verack, all before the client's verack. It never sends
	// wtxidrelay. Before the client's verack it skips commands wire/v2 does
	// not know (wtxidrelay, sendcmpct, ...) and disconnects on any other
	// known command. A first message other than version, or a client
	// version below 209, is answered with a reject and a disconnect.
	Btcd

	// Bcoin imitates a bcoin node at protocol 70015: version, verack, and
	// after the client's verack sendheaders, sendcmpct, ping, feefilter. It
	// sends neither wtxidrelay nor sendaddrv2. Clients announcing a version
	// below 70001 are disconnected.
	Bcoin

	// Old imitates a protocol 70001 node: version then verack, nothing else.
	Old

	// Silent accepts and reads whatever the client sends but never writes.
	// It holds the connection until the client closes or the peer is closed.
	Silent

	// SlowDrip writes its valid version one byte per Config.DripInterval,
	// then a verack, then behaves like Old.
	SlowDrip

	// CloseAfterVersion sends its version, then closes the connection.
	CloseAfterVersion

	// VerackBeforeVersion sends verack, then version, then verack. Bitcoin
	// Core ignores the first verack ("non-version message before version
	// handshake") and completes the handshake.
	VerackBeforeVersion

	// WrongMagic answers with a valid version framed with another network's
	// magic (testnet3 when Config.ChainParams is mainnet's, mainnet otherwise), then
	// holds the connection.
	WrongMagic

	// BadChecksum sends a version whose header checksum is wrong, then holds
	// the connection. Bitcoin Core drops the message and waits on for a
	// version until its time limit.
	BadChecksum

	// OversizedPayload sends a version header claiming a 32 MiB payload,
	// trickles a few payload bytes one per Config.DripInterval, then holds
	// the connection.
	OversizedPayload

	// Garbage sends 1 KiB of pseudo-random bytes that are not a message (the
	// same bytes every time), then holds the connection.
	Garbage

	// SelfEcho sends the client's own version back byte for byte (same
	// nonce), then a verack: what a client sees when it connects to itself.
	SelfEcho

	// TooOld completes a valid handshake (version, verack) announcing
	// protocol version 31799, one below Core's minimum.
	TooOld

	// UnknownFlood sends its version, then "flood" messages of an unknown
	// command without end, until a write fails or the peer is closed. It
	// never sends verack.
	UnknownFlood

	// The hostile behaviours attack a client's resource bounds and state
	// machine further. Like the misbehaving ones above, each poses as
	// Bitcoin Core, starts by reading the client's version, documents what
	// a client that follows Core's limits must conclude, and never needs
	// more than the client's deadline to be dealt with. HostileBehaviors
	// lists them.

	// VersionTooLarge sends a version header that truthfully announces a
	// 5,000-byte payload, far past the 358 bytes the largest valid version
	// takes (wire.MsgVersion.MaxPayloadLength), sends all 5,000 bytes (a
	// real version padded with zeros) under a valid checksum, then holds
	// the connection. Bitcoin Core accepts it, ignoring the bytes after the
	// relay flag; a client must not buffer them to do so.
	VersionTooLarge

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

	numBehaviors // keep last: bounds validation
)

// String returns the constant's name, e.g. "Core".
func (b Behavior) String() string {
	switch b {
	case Core:
		return "Core"
	case Btcd:
		return "Btcd"
	case Bcoin:
		return "Bcoin"
	case Old:
		return "Old"
	case Silent:
		return "Silent"
	case SlowDrip:
		return "SlowDrip"
	case CloseAfterVersion:
		return "CloseAfterVersion"
	case VerackBeforeVersion:
		return "VerackBeforeVersion"
	case WrongMagic:
		return "WrongMagic"
	case BadChecksum:
		return "BadChecksum"
	case OversizedPayload:
		return "OversizedPayload"
	case Garbage:
		return "Garbage"
	case SelfEcho:
		return "SelfEcho"
	case TooOld:
		return "TooOld"
	case UnknownFlood:
		return "UnknownFlood"
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
	return fmt.Sprintf("Behavior(%d)", int(b))
}

// Behaviors returns every defined behaviour, in declaration order, so tests
// can range over them.
func Behaviors() []Behavior {
	bs := make([]Behavior, numBehaviors)
	for i := range bs {
		bs[i] = Behavior(i)
	}
	return bs
}

// HostileBehaviors returns the hostile behaviours, VersionTooLarge to
// ClaimAfterHandshake, in declaration order.
func HostileBehaviors() []Behavior {
	var bs []Behavior
	for b := VersionTooLarge; b < numBehaviors; b++ {
		bs = append(bs, b)
	}
	return bs
}

// profile is the identity a behaviour announces in its version message.
type profile struct {
	protocolVersion uint32
	userAgent       string
	services        wire.ServiceFlag
}

// profile returns the identity b announces by default. Misbehaving peers
// pose as Core.
func (b Behavior) profile() profile {
	switch b {
	case Btcd:
		// btcd's defaultServices (server.go) minus P2PV2, which it
		// keeps only with v2 transport enabled (added by withDefaults).
		return profile{70016, "/btcd:0.26.2/", wire.SFNodeNetwork | wire.SFNodeBloom |
			wire.SFNodeWitness | wire.SFNodeCF | wire.SFNodeNetworkLimited}
	case Bcoin:
		return profile{70015, "/bcoin:2.2.0/", wire.SFNodeNetwork | wire.SFNodeWitness}
	case Old:
		return profile{70001, "/Satoshi:0.8.6/", wire.SFNodeNetwork}
	case TooOld:
		return profile{31799, "/Satoshi:0.3.18/", wire.SFNodeNetwork}
	default:
		return DefaultCoreRelease.profile()
	}
}

// profile returns the identity release r announces. P2PV2 is added by
// Config.withDefaults when the peer accepts v2.
func (r CoreRelease) profile() profile {
	return profile{r.ProtocolVersion(), r.UserAgent(), wire.SFNodeNetwork |
		wire.SFNodeWitness | wire.SFNodeNetworkLimited}
}
