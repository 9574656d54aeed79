package handshaketest

import "fmt"

// CoreRelease is the Bitcoin Core release a Core peer imitates
// (Config.Core), where the handshake can tell releases apart: the
// protocol version and user agent it announces, whether it speaks BIP324
// v2 by default, what it does with a BIP434 feature message, the
// feefilter it sends, whether it can announce sendtxrcncl, and the
// compact block versions it offers. Each value is one point release,
// named in its documentation. CONFORMANCE.md ("Core releases the double
// imitates") cites Core's source for each difference.
//
// The zero value is DefaultCoreRelease. The methods of a value that is
// no release answer as DefaultCoreRelease; Config refuses such a value.
type CoreRelease int

// The releases, oldest first.
const (
	// Core0_20 is 0.20.1: protocol 70015, so neither wtxidrelay nor
	// sendaddrv2; sendcmpct for compact block versions 2 and 1.
	Core0_20 CoreRelease = iota + 1
	// Core0_21 is 0.21.1: protocol 70016 (wtxidrelay, sendaddrv2), still
	// sendcmpct for versions 2 and 1.
	Core0_21
	// Core22 is 22.0: sendcmpct for version 2 only, from here on.
	Core22
	// Core23 is 23.0.
	Core23
	// Core24 is 24.0.1.
	Core24
	// Core25 is 25.0: the first with -txreconciliation (sendtxrcncl).
	Core25
	// Core26 is 26.0: v2 transport available, off by default.
	Core26
	// Core27 is 27.1: v2 transport on by default.
	Core27
	// Core28 is 28.1: feefilter 1000 sat/kvB, as 28.0 to 28.2 send.
	Core28
	// Core28_3 is 28.3: minimum relay fee lowered, feefilter 100 sat/kvB.
	Core28_3
	// Core29 is 29.0: feefilter 1000 sat/kvB.
	Core29
	// Core29_1 is 29.1: feefilter 100 sat/kvB.
	Core29_1
	// Core30 is 30.0: feefilter 100 sat/kvB.
	Core30
	// CoreMaster is Core's master branch (32.99.0) with BIP434: protocol
	// 70017; it parses a feature message and disconnects a peer whose
	// feature does not parse, comes at a common version below 70017, or
	// comes after verack.
	CoreMaster

	numCoreReleases // keep last: bounds validation
)

// DefaultCoreRelease is the release a Core peer imitates when
// Config.Core is zero: 27.1, a release of the bulk of today's reachable
// nodes and the identity ("/Satoshi:27.1.0/") the Core peer has always
// announced.
const DefaultCoreRelease = Core27

// coreTraits are what a release does that a handshake can see.
type coreTraits struct {
	version     string // the release's version, as in its user agent
	protocol    uint32 // PROTOCOL_VERSION
	hasV2       bool   // -v2transport exists (26.0)
	v2Default   bool   // -v2transport on by default (27.0)
	txRecon     bool   // -txreconciliation exists (25.0)
	cmpctV1     bool   // also offers compact blocks version 1 (before 22.0)
	bip434      bool   // parses feature messages (master, PR 35221)
	minRelayFee int64  // DEFAULT_MIN_RELAY_TX_FEE, sat/kvB: its feefilter
}

// traits returns r's traits. The zero value has DefaultCoreRelease's, and
// so has a value that is no release, which Config refuses (valid).
func (r CoreRelease) traits() coreTraits {
	if r == 0 || !r.valid() {
		r = DefaultCoreRelease
	}
	// Each release keeps the traits of the one before it but for the
	// changes listed (CONFORMANCE.md cites each).
	t := coreTraits{version: "0.20.1", protocol: 70015, cmpctV1: true, minRelayFee: 1000}
	switch r {
	case Core0_20:
		return t
	case Core0_21:
		t.version, t.protocol = "0.21.1", 70016
		return t
	}
	t.protocol, t.cmpctV1 = 70016, false
	switch r {
	case Core22:
		t.version = "22.0.0"
		return t
	case Core23:
		t.version = "23.0.0"
		return t
	case Core24:
		t.version = "24.0.1"
		return t
	}
	t.txRecon = true
	switch r {
	case Core25:
		t.version = "25.0.0"
		return t
	case Core26:
		t.version, t.hasV2 = "26.0.0", true
		return t
	}
	t.hasV2, t.v2Default = true, true
	switch r {
	case Core27:
		t.version = "27.1.0"
	case Core28:
		t.version = "28.1.0"
	case Core28_3:
		t.version, t.minRelayFee = "28.3.0", 100
	case Core29:
		t.version = "29.0.0"
	case Core29_1:
		t.version, t.minRelayFee = "29.1.0", 100
	case Core30:
		t.version, t.minRelayFee = "30.0.0", 100
	default: // CoreMaster
		t.version, t.minRelayFee, t.protocol, t.bip434 = "32.99.0", 100, 70017, true
	}
	return t
}

// valid reports whether r is zero or a defined release.
func (r CoreRelease) valid() bool { return r >= 0 && r < numCoreReleases }

// String names the release, e.g. "Core 27.1.0" or "Core master (32.99.0)".
func (r CoreRelease) String() string {
	if !r.valid() {
		return fmt.Sprintf("CoreRelease(%d)", int(r))
	}
	if r.traits().bip434 {
		return "Core master (" + r.traits().version + ")"
	}
	return "Core " + r.traits().version
}

// UserAgent is the user agent the release announces, e.g.
// "/Satoshi:27.1.0/".
func (r CoreRelease) UserAgent() string { return "/Satoshi:" + r.traits().version + "/" }

// ProtocolVersion is the protocol version the release announces: 70015
// before 0.21, 70016 up to 30, 70017 on master.
func (r CoreRelease) ProtocolVersion() uint32 { return r.traits().protocol }

// HasV2 reports whether the release can speak the BIP324 v2 transport
// (26.0 and later; Config.V2 asks a 26 peer to, as -v2transport=1 does).
func (r CoreRelease) HasV2() bool { return r.traits().hasV2 }

// V2ByDefault reports whether the release speaks v2 unless told not to
// (27.0 and later).
func (r CoreRelease) V2ByDefault() bool { return r.traits().v2Default }

// FeeFilter is the feefilter, in sat/kvB, the release sends once the
// handshake is done with a mempool below its limit: its default minimum
// relay fee.
func (r CoreRelease) FeeFilter() int64 { return r.traits().minRelayFee }

// CoreReleases returns every release, oldest first.
func CoreReleases() []CoreRelease {
	rs := make([]CoreRelease, 0, numCoreReleases-1)
	for r := Core0_20; r < numCoreReleases; r++ {
		rs = append(rs, r)
	}
	return rs
}
