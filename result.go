package handshake

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
)

// Status classifies how far a handshake got. Each constant is named after
// the label it prints, the labels users of the original tool know.
type Status int

const (
	// StatusFailed ("FAILED"): no version message arrived from the peer.
	StatusFailed Status = iota
	// StatusPartiallyOK ("PARTIALLY OK"): the peer's version arrived but
	// the handshake did not complete.
	StatusPartiallyOK
	// StatusOK ("OK"): both sides exchanged version and verack.
	StatusOK
)

// String returns "OK", "PARTIALLY OK" or "FAILED".
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "OK"
	case StatusPartiallyOK:
		return "PARTIALLY OK"
	default:
		return "FAILED"
	}
}

// Transport is a P2P transport protocol.
type Transport int

const (
	// TransportAuto tries v2 and falls back to v1 (see Options.Transport).
	TransportAuto Transport = iota
	// TransportV1 is the original unencrypted transport.
	TransportV1
	// TransportV2 is BIP324's encrypted transport; a peer that speaks only
	// v1 fails with ErrV1Only.
	TransportV2
)

func (t Transport) String() string {
	switch t {
	case TransportAuto:
		return "auto"
	case TransportV1:
		return "v1"
	case TransportV2:
		return "v2"
	}
	return fmt.Sprintf("Transport(%d)", int(t))
}

// ParseTransport parses "auto", "v1" or "v2", for command-line flags.
func ParseTransport(s string) (Transport, error) {
	for t := TransportAuto; t <= TransportV2; t++ {
		if t.String() == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("handshake: unknown transport %q (want auto, v1 or v2)", s)
}

// NetAddress is an address a peer reported in its version message.
type NetAddress struct {
	Addr     netip.AddrPort   `json:"addr"`
	Services wire.ServiceFlag `json:"services"`
}

// PeerVersion holds the fields of the peer's version message. UserAgent is
// the peer's bytes as sent, up to 256 of them: untrusted, possibly invalid
// UTF-8 or terminal control sequences, to be escaped before display.
type PeerVersion struct {
	// ProtocolVersion is the version the peer announced: uint32 like
	// every protocol version in this package, the four bytes as sent. A
	// value above 1<<31-1, negative to Bitcoin Core, fails the handshake
	// with ErrPeerTooOld.
	ProtocolVersion uint32           `json:"protocol_version"`
	Services        wire.ServiceFlag `json:"services"`
	UserAgent       string           `json:"user_agent"`
	StartHeight     int32            `json:"start_height"`
	Relay           bool             `json:"relay"`
	Nonce           uint64           `json:"nonce"`
	Timestamp       time.Time        `json:"timestamp"`
	// AddrRecv is how the peer sees us; AddrFrom is what it says of itself
	// (usually unroutable).
	AddrRecv NetAddress `json:"addr_recv"`
	AddrFrom NetAddress `json:"addr_from"`
}

// Timings are measured from the start of the call. A stage not reached is zero.
type Timings struct {
	Connect     time.Duration // connection established (Dial only)
	PeerVersion time.Duration // the peer's version received
	PeerVerack  time.Duration // the peer's verack received
	Total       time.Duration // the call returned
}

// Feature is a BIP434 feature message: an identifier and its data.
//
// Both come from the peer unchecked beyond BIP434's lengths (ID 4 to 80
// bytes, Data at most 512): treat them as untrusted bytes, and escape ID
// before showing it on a terminal.
type Feature struct {
	ID   string
	Data []byte
}

// Ignored is a message the handshake skipped as Bitcoin Core would. Command
// is the peer's, untrusted and possibly unprintable (an invalid command is
// kept as sent, its NUL padding removed; empty for a v2 message type that
// does not decode). Reason is ours, one of: "before version", "redundant
// version", "bad checksum", "invalid command", "undecodable message type",
// "unknown message type ID", "undecodable version: ..." (with the detail),
// "unsupported before verack", "wtxidrelay at a common version below
// 70016", and for a BIP434 feature message the handshake could not take,
// "feature at a common version below 70017; ..." or "malformed feature:
// ...", each followed by what Core with BIP434 and the released Core do
// (see Options.StrictFeatures).
type Ignored struct {
	Command string `json:"command"`
	Reason  string `json:"reason"`
}

// Result reports what a handshake learned. Dial and Handshake return it even
// when they fail, filled up to the failure. Its JSON form (see MarshalJSON)
// takes the keys in the field tags.
type Result struct {
	// Addr is the address dialled, or the connection's remote address.
	Addr   string `json:"addr"`
	Status Status `json:"status"`
	// Transport is the transport the exchange used, or, when the call
	// failed before any exchange, the one it would have tried first:
	// TransportV1 or TransportV2, never TransportAuto.
	Transport Transport `json:"transport"`
	// Fallback says why Dial fell back from v2 to v1; empty when it did
	// not.
	Fallback string `json:"fallback,omitempty"`
	// SessionID is the BIP324 session id in hex, as Bitcoin Core's
	// getpeerinfo shows it, so both ends can be matched; empty on v1.
	SessionID string `json:"session_id,omitempty"`
	// Peer is the peer's version message; zero when Status is StatusFailed.
	Peer PeerVersion `json:"-"` // "peer", omitted when Status is StatusFailed
	// NegotiatedVersion is the lower of our and the peer's protocol version.
	NegotiatedVersion uint32 `json:"negotiated_version,omitzero"`
	// Negotiation lists, in order, the commands the peer sent between its
	// version and its verack: feature negotiation such as wtxidrelay,
	// sendaddrv2 and sendtxrcncl, and anything else it chose to send there.
	Negotiation []string `json:"negotiation"`
	// Features are the peer's BIP434 feature messages, in order, as sent
	// between its version and its verack.
	Features []Feature `json:"-"` // "features", an array even when empty
	// Ignored lists, in order, the messages Bitcoin Core would have
	// ignored and so did we: before the peer's version, a second version,
	// bad checksums, undecodable message types or versions, and commands
	// Core does not support before verack. The handshake went on past
	// them; they show that the peer misbehaved.
	Ignored []Ignored `json:"ignored,omitempty"`
	// Received lists every command received, in order, including version,
	// verack, ignored messages and commands wire/v2 has no type for. Like
	// Negotiation, it holds the peer's bytes: escape them before display.
	Received []string `json:"received"`
	Timings  Timings  `json:"-"` // "connect_ms" and so on
	// BytesSent and BytesReceived count the bytes written and read: the
	// messages on v1, the raw stream on v2 (key exchange included), both
	// attempts after a fallback.
	BytesSent     int64 `json:"bytes_sent"`
	BytesReceived int64 `json:"bytes_received"`
	// Err is the error the call returned, nil when Status is StatusOK, so
	// that a Result can stand alone in a sweep.
	Err error `json:"-"` // "error"
}
