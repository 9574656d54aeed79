package handshake

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// Defaults applied to zero-valued Options fields.
const (
	// DefaultUserAgent is the BIP 14 user agent sent when Options.UserAgent is
	// empty. It names the tool honestly so node operators can tell what
	// connected to them.
	DefaultUserAgent = "/bitcoin-handshake:0.1.0/"

	// DefaultProtocolVersion is the version we announce when
	// Options.ProtocolVersion is zero: 70017, which BIP434 (peer feature
	// negotiation) asks of nodes that accept feature messages, as we do.
	DefaultProtocolVersion uint32 = FeatureVersion

	// DefaultMinPeerVersion is Bitcoin Core's MIN_PEER_PROTO_VERSION: peers
	// announcing an older protocol are disconnected by Core, and by us.
	DefaultMinPeerVersion uint32 = 31800

	// DefaultTimeout bounds a call whose context has no earlier deadline, so a
	// silent peer can never hold a call open forever.
	DefaultTimeout = 30 * time.Second

	// DefaultOnionTimeout replaces DefaultTimeout in Dial and DialConn for
	// ".onion" addresses: a Tor circuit to an onion service takes seconds to
	// build before the handshake starts.
	DefaultOnionTimeout = 60 * time.Second

	// DefaultMaxBytes caps the bytes accepted from a peer before the handshake
	// completes. A real node sends well under 1 KiB before its verack.
	DefaultMaxBytes = 64 << 10

	// DefaultMaxMessages caps the messages accepted from a peer before the
	// handshake completes, ignored ones included. A default Bitcoin Core
	// node sends four (version, wtxidrelay, sendaddrv2, verack).
	DefaultMaxMessages = 64
)

// Dialer opens network connections. *net.Dialer and the dialers of
// golang.org/x/net/proxy satisfy it.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Options configures a handshake. The zero value is ready to use: every field
// documents the default that applies when it is left zero. Options is passed
// by value and never modified.
type Options struct {
	// ChainParams selects the network: its magic is checked on every message
	// and its DefaultPort completes addresses given without a port.
	// Default: &chaincfg.MainNetParams.
	ChainParams *chaincfg.Params

	// ProtocolVersion is the version we announce. Default:
	// DefaultProtocolVersion (70017: wtxidrelay and sendaddrv2 from 70016,
	// BIP434 feature messages from 70017).
	ProtocolVersion uint32

	// Features are the BIP434 feature messages we send after the peer's
	// version and before our verack, in order, and only to a peer that
	// announced FeatureVersion or more, as BIP434 requires: a released
	// Core (70016) gets none. Over v2 they go as message type 37, which
	// BIP434 obliges a peer at 70017 to read as feature. Each ID must be
	// 4 to 80 bytes and each Data at most 512 bytes. Default: none.
	Features []Feature

	// StrictFeatures judges the peer's BIP434 feature messages as Bitcoin
	// Core with BIP434 support does (master since PR 35221, merged after
	// 31.0): one whose payload BIP434 forbids ends the handshake
	// with ErrMalformed, and one at a common version below 70017 with
	// ErrProtocolViolation, where that Core disconnects. Default: false,
	// the verdict of the releases the network runs (27.x to 31.x), which
	// complete the handshake whatever feature messages they get: such
	// messages are listed in Result.Ignored with what each Core would do,
	// and well-formed ones at 70017 or more in Result.Features, so the
	// Status is decided by version and verack alone.
	StrictFeatures bool

	// Services are the service bits we advertise. Default: none (0), which is
	// honest for a client that serves no blocks.
	Services wire.ServiceFlag

	// UserAgent is sent in our version message. Default: DefaultUserAgent.
	// It must be at most wire.MaxUserAgentLen (256) bytes.
	UserAgent string

	// StartHeight is the best block height we announce. Default: 0.
	StartHeight int32

	// Relay asks the peer to relay transactions to us (BIP 37). Default:
	// false, so the peer sends no transaction announcements.
	Relay bool

	// Transport selects the transport protocol. Default: TransportAuto,
	// which tries BIP324 v2 and, when the peer speaks only v1, connects
	// again and speaks v1, as Bitcoin Core does (Dial only; Handshake
	// cannot reconnect and speaks v1).
	Transport Transport

	// Dialer opens the TCP connection in Dial. Default: a net.Dialer
	// without TCP keep-alives (Bitcoin's pings serve instead).
	Dialer Dialer

	// MinPeerVersion is the lowest protocol version accepted from a peer;
	// older peers fail with ErrPeerTooOld. Default: DefaultMinPeerVersion.
	MinPeerVersion uint32

	// Timeout bounds the handshake in addition to the context; the earlier
	// of the two applies. Default: DefaultTimeout, or DefaultOnionTimeout
	// when Dial or DialConn is given a ".onion" address. A negative value
	// means the context alone bounds the call. The calls of a Conn after
	// the handshake are bounded by their own contexts only.
	Timeout time.Duration

	// MaxBytes caps the bytes read from the peer before the handshake
	// completes, ignored messages included (on v2, after the key
	// exchange, which has bounds of its own); past it the call fails
	// with ErrLimitExceeded. Default: DefaultMaxBytes.
	MaxBytes int

	// MaxMessages caps the messages read from the peer before the handshake
	// completes, ignored ones included; past it the call fails with
	// ErrLimitExceeded.
	// Default: DefaultMaxMessages.
	MaxMessages int

	// NoPong stops Conn.ReadMessage from answering a ping with a pong by
	// itself, for callers that answer pings themselves. Default: false,
	// pings are answered.
	NoPong bool

	// Logger receives a debug record per message sent and received.
	// Default: nil, which logs nothing.
	Logger *slog.Logger
}

// withDefaults returns a copy of o with defaults filled in, or an error for
// options that cannot work. Impossible options fail loudly rather than being
// silently replaced.
func (o Options) withDefaults() (Options, error) {
	// cmp.Or: the zero value means the default.
	o.ChainParams = cmp.Or(o.ChainParams, &chaincfg.MainNetParams)
	o.ProtocolVersion = cmp.Or(o.ProtocolVersion, DefaultProtocolVersion)
	o.UserAgent = cmp.Or(o.UserAgent, DefaultUserAgent)
	o.MinPeerVersion = cmp.Or(o.MinPeerVersion, DefaultMinPeerVersion)
	o.Timeout = cmp.Or(o.Timeout, DefaultTimeout)
	o.MaxBytes = cmp.Or(o.MaxBytes, DefaultMaxBytes)
	o.MaxMessages = cmp.Or(o.MaxMessages, DefaultMaxMessages)
	if o.Dialer == nil {
		o.Dialer = directDialer{}
	}
	switch {
	case len(o.UserAgent) > wire.MaxUserAgentLen:
		return o, fmt.Errorf("%w: user agent is %d bytes, the maximum is %d",
			ErrInvalidOptions, len(o.UserAgent), wire.MaxUserAgentLen)
	case o.ProtocolVersion < wire.BIP0037Version:
		// Older versions change the version message's layout, which no
		// node still on the network needs from us.
		return o, fmt.Errorf("%w: protocol version %d is below %d",
			ErrInvalidOptions, o.ProtocolVersion, wire.BIP0037Version)
	case o.ProtocolVersion > 1<<31-1:
		return o, fmt.Errorf("%w: protocol version %d does not fit in int32",
			ErrInvalidOptions, o.ProtocolVersion)
	case o.Transport < TransportAuto || o.Transport > TransportV2:
		return o, fmt.Errorf("%w: unknown transport %d", ErrInvalidOptions, o.Transport)
	case o.MaxBytes < 0 || o.MaxMessages < 0:
		return o, fmt.Errorf("%w: MaxBytes and MaxMessages must not be negative",
			ErrInvalidOptions)
	case checkFeatures(o.Features) != nil:
		return o, checkFeatures(o.Features)
	case len(o.Features) > 0 && o.ProtocolVersion < FeatureVersion:
		return o, fmt.Errorf("%w: features need protocol version %d or more, not %d",
			ErrInvalidOptions, FeatureVersion, o.ProtocolVersion)
	case o.ChainParams.DefaultPort == "":
		return o, fmt.Errorf("%w: ChainParams %q has no default port",
			ErrInvalidOptions, o.ChainParams.Name)
	}
	return o, nil
}

// firstTransport is the transport a call tries first, which a Result
// reports also when the call fails before any exchange: never TransportAuto.
// Auto starts with v2 where the call can reconnect to fall back (redial, as
// Dial does) and with v1 where it cannot (Handshake).
func (o *Options) firstTransport(redial bool) Transport {
	switch {
	case o.Transport == TransportV1:
		return TransportV1
	case o.Transport == TransportV2 || redial:
		return TransportV2
	}
	return TransportV1
}
