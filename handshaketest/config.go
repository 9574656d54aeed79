package handshaketest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// Defaults applied to zero-valued Config fields.
const (
	// DefaultAddr is where NewPeer listens when Config.Addr is empty.
	DefaultAddr = "127.0.0.1:0"

	// DefaultDripInterval is the pause between bytes of SlowDrip and
	// OversizedPayload when Config.DripInterval is zero.
	DefaultDripInterval = time.Second
)

// Config describes a fake peer. The zero value is a Bitcoin Core mainnet
// node on DefaultAddr; every field documents its default.
type Config struct {
	// Behavior selects how the peer answers. Default: Core.
	Behavior Behavior

	// ChainParams is the network, as in handshake.Options: its magic
	// frames every message. Default: &chaincfg.MainNetParams.
	ChainParams *chaincfg.Params

	// Core is the Bitcoin Core release a Core peer imitates (see
	// CoreRelease): the protocol version and user agent it announces
	// (unless ProtocolVersion or UserAgent say otherwise), whether it
	// speaks v2 by default, what it does with a client's feature message,
	// the compact block versions it offers and its feefilter. Other
	// behaviours ignore it; the misbehaving ones pose as
	// DefaultCoreRelease. Default: DefaultCoreRelease (27.1).
	Core CoreRelease

	// ProtocolVersion is announced in the version message and used to
	// encode messages. Default: per behaviour (Core: its release's, 70016
	// for DefaultCoreRelease; Btcd and the misbehaving peers 70016, Bcoin
	// 70015, Old 70001, TooOld 31799).
	ProtocolVersion uint32

	// UserAgent is announced in the version message; at most
	// wire.MaxUserAgentLen bytes. Default: per behaviour, e.g.
	// Core's release's "/Satoshi:27.1.0/", "/btcd:0.26.2/", "/bcoin:2.2.0/".
	UserAgent string

	// Services are announced in the version message. Zero means the
	// behaviour's default (Core: NETWORK|WITNESS|NETWORK_LIMITED; btcd:
	// NETWORK|BLOOM|WITNESS|CF|NETWORK_LIMITED; bcoin: NETWORK|WITNESS;
	// Old, TooOld: NETWORK), plus P2P_V2 exactly when the peer accepts v2,
	// as Bitcoin Core sets NODE_P2P_V2 with -v2transport (net.cpp,
	// CreateNodeFromAcceptedSocket). Announcing no services at all takes
	// a Handler.
	Services wire.ServiceFlag

	// StartHeight is the best height announced. Default: 0.
	StartHeight int32

	// Delay is how long the peer waits after the client's version before
	// answering, to model a distant peer. Default: 0.
	Delay time.Duration

	// DripInterval is the pause between the bytes SlowDrip and
	// OversizedPayload write. Default: DefaultDripInterval (1s).
	DripInterval time.Duration

	// V2 makes the peer accept the BIP324 v2 transport too, as btcd
	// --v2transport does: a connection opening with a v1 version message
	// is served in v1, any other as a v2 responder, and the behaviour then
	// runs over the encrypted channel. Default: false, a v1-only peer,
	// which reads a v2 key as a bad v1 header and hangs up; except Core
	// of release 27 or later, which accepts v2 unless V1Only is set, as
	// Bitcoin Core does by default since 27.0 (-v2transport). A Core peer
	// of a release before 26.0, which had no v2, cannot be given V2.
	V2 bool

	// V1Only makes a Core peer speak v1 only, as Core with
	// -v2transport=0. Default: false.
	V1Only bool

	// TxReconciliation makes a Core peer announce BIP330 transaction
	// reconciliation (sendtxrcncl) to clients that asked for transaction
	// relay, as Core does only with -txreconciliation, an option since
	// 25.0 (a Core peer of an earlier release cannot be given it).
	// Default: false, as in Core (DEFAULT_TXRECONCILIATION_ENABLE).
	TxReconciliation bool

	// Features are BIP434 feature messages a Core peer sends after its
	// version and before its verack, when both its ProtocolVersion and
	// the client's are 70017 or more. Default: none, as Core, which knows
	// no feature yet, sends none.
	Features []Feature

	// V2GarbageLen is the garbage a V2 peer sends after its key: 0 means a
	// random length in [0, 4095] as Bitcoin Core sends, NoGarbage none,
	// 1..4095 that many bytes. Default: 0.
	V2GarbageLen int

	// Addr is the loopback address NewPeer listens on; any 127.x.y.z works
	// on Linux, so several peers can share a port on distinct addresses.
	// Default: DefaultAddr. Serve ignores it.
	Addr string

	// Addrs answer a getaddr after the handshake (Core, Btcd, Bcoin, Old,
	// TooOld), in addrv2 messages when the client sent sendaddrv2, else in
	// addr messages, at most 1,000 per message as Bitcoin Core sends
	// them; addresses addr cannot carry (Tor v3) are left out of addr.
	// Default: none, and no answer, as a node with an empty address
	// manager gives.
	Addrs []wire.NetAddressV2

	// Handler, when set, replaces Behavior: it scripts the peer over c and
	// its error is returned by Serve. ctx ends when the peer is closed.
	// Default: nil.
	Handler func(ctx context.Context, c *Conn) error
}

// speaksV2 reports whether the peer accepts the v2 transport.
func (cfg *Config) speaksV2() bool {
	if cfg.V1Only {
		return false
	}
	return cfg.V2 || cfg.Handler == nil && cfg.Behavior == Core && cfg.Core.V2ByDefault()
}

// Feature is a BIP434 feature message: an identifier of 4 to 80 bytes and
// at most 512 bytes of data.
type Feature struct {
	ID   string
	Data []byte
}

// NoGarbage as Config.V2GarbageLen makes a V2 peer send no garbage.
const NoGarbage = -1 // as bip324.NoGarbage, which the field is passed to

// withDefaults returns cfg with zero fields filled in, or an error for a
// Config no peer can honour.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Handler == nil && (cfg.Behavior < 0 || cfg.Behavior >= numBehaviors) {
		return cfg, fmt.Errorf("handshaketest: unknown %v", cfg.Behavior)
	}
	if !cfg.Core.valid() {
		return cfg, fmt.Errorf("handshaketest: unknown %v", cfg.Core)
	}
	p := cfg.Behavior.profile()
	if cfg.Behavior == Core {
		p = cfg.Core.profile()
	}
	if cfg.ChainParams == nil {
		cfg.ChainParams = &chaincfg.MainNetParams
	}
	if cfg.ProtocolVersion == 0 {
		cfg.ProtocolVersion = p.protocolVersion
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = p.userAgent
	}
	if cfg.Services == 0 {
		cfg.Services = p.services
		if cfg.speaksV2() {
			cfg.Services |= wire.SFNodeP2PV2
		}
	}
	if cfg.DripInterval <= 0 {
		cfg.DripInterval = DefaultDripInterval
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	switch {
	case len(cfg.UserAgent) > wire.MaxUserAgentLen:
		return cfg, fmt.Errorf("handshaketest: user agent longer than %d bytes", wire.MaxUserAgentLen)
	case cfg.ProtocolVersion > 1<<31-1:
		return cfg, errors.New("handshaketest: protocol version does not fit the int32 on the wire")
	case cfg.Delay < 0:
		return cfg, errors.New("handshaketest: negative Delay")
	case badFeatures(cfg.Features):
		return cfg, errors.New("handshaketest: a feature's ID must be 4 to 80 bytes and its data at most 512")
	case cfg.Behavior == Core && cfg.V2 && !cfg.V1Only && !cfg.Core.HasV2():
		return cfg, fmt.Errorf("handshaketest: %v has no v2 transport", cfg.Core)
	case cfg.Behavior == Core && cfg.TxReconciliation && !cfg.Core.traits().txRecon:
		return cfg, fmt.Errorf("handshaketest: %v has no -txreconciliation", cfg.Core)
	case cfg.V2GarbageLen < NoGarbage || cfg.V2GarbageLen > 4095:
		return cfg, errors.New("handshaketest: V2GarbageLen must be NoGarbage, 0 (random) or 1..4095")
	}
	return cfg, nil
}

// net is the magic of the peer's network (withDefaults set ChainParams).
func (cfg *Config) net() wire.BitcoinNet { return cfg.ChainParams.Net }
