package handshake

import (
	"errors"
	"fmt"
)

// BIP434 peer feature negotiation: the feature message and its limits.
const (
	// FeatureVersion is the protocol version from which BIP434 allows
	// feature messages: we send ours only to peers announcing it.
	FeatureVersion uint32 = 70017

	// CmdFeature is BIP434's feature message, sent between version and
	// verack (over v2, as message type ID 37).
	CmdFeature = "feature"

	// MinFeatureIDLen and MaxFeatureIDLen bound a feature's ID, and
	// MaxFeatureDataLen its data, as BIP434 requires.
	MinFeatureIDLen   = 4
	MaxFeatureIDLen   = 80
	MaxFeatureDataLen = 512

	// maxFeaturePayload is the largest valid feature payload: both
	// lengths as CompactSize (1 and 3 bytes) and both fields at their
	// maximum.
	maxFeaturePayload = 1 + MaxFeatureIDLen + 3 + MaxFeatureDataLen
)

// errBadFeature explains why a feature payload is malformed.
var errBadFeature = errors.New("malformed feature")

// What Bitcoin Core does with a feature message it cannot take, for the
// Ignored reasons: Core with BIP434 (master since PR 35221, whose FEATURE
// branch in net_processing.cpp's ProcessMessage disconnects), and the
// releases without it (27.x to 31.x), which have no FEATURE branch: over
// v1 the message reaches the "Unsupported message prior to verack" check,
// over v2 the one-byte type 37 is past their V2_MESSAGE_IDS table (net.cpp)
// and V2Transport drops the packet. Either way the release keeps the
// connection.
const (
	coreBIP434Disconnects = "Core with BIP434 (master, PR 35221) disconnects"
	releasedCoreV1        = "released Core (27-31) ignores it as unsupported before verack"
	releasedCoreV2        = "released Core (27-31) drops one-byte type 37 as an unknown message type"
)

// takeFeature judges a feature message between the peer's version and its
// verack. One that parses, at a common version of 70017 or more, is
// recorded in Result.Features. Any other is recorded in Result.Ignored
// with what Core would do, and the handshake goes on as every released
// Core's does; with Options.StrictFeatures it ends the exchange as Core
// with BIP434 disconnects: ErrProtocolViolation below 70017, ErrMalformed
// for a payload BIP434 forbids.
func (s *session) takeFeature(m *message) error {
	var what string // why it cannot be taken
	var class error
	switch {
	case s.res.NegotiatedVersion < FeatureVersion:
		// Core's FEATURE branch checks the version before the payload.
		what = fmt.Sprintf("feature at a common version below %d", FeatureVersion)
		class = ErrProtocolViolation
	case m.size > maxFeaturePayload:
		// Only a prefix of the payload was kept.
		what = fmt.Sprintf("%v: %d bytes, the maximum is %d", errBadFeature, m.size, maxFeaturePayload)
		class = ErrMalformed
	default:
		f, err := parseFeature(m.payload)
		if err == nil {
			s.res.Features = append(s.res.Features, f)
			return nil
		}
		what, class = err.Error(), ErrMalformed
	}
	if s.o.StrictFeatures {
		return fmt.Errorf("%w: %s (protocol version %d)", class, what, s.res.NegotiatedVersion)
	}
	released := releasedCoreV1
	if s.res.Transport == TransportV2 {
		released = releasedCoreV2
	}
	s.ignore(m.cmd, what+"; "+coreBIP434Disconnects+"; "+released)
	return nil
}

// checkFeatures validates the features we are asked to send.
func checkFeatures(fs []Feature) error {
	for _, f := range fs {
		if err := checkFeature(len(f.ID), len(f.Data)); err != nil {
			return fmt.Errorf("%w: feature %q: %w", ErrInvalidOptions, f.ID, err)
		}
	}
	return nil
}

func checkFeature(idLen, dataLen int) error {
	switch {
	case idLen < MinFeatureIDLen || idLen > MaxFeatureIDLen:
		return fmt.Errorf("%w: id of %d bytes, want %d to %d", errBadFeature, idLen, MinFeatureIDLen, MaxFeatureIDLen)
	case dataLen > MaxFeatureDataLen:
		return fmt.Errorf("%w: data of %d bytes, the maximum is %d", errBadFeature, dataLen, MaxFeatureDataLen)
	}
	return nil
}

// appendFeature appends f's payload: the ID and the data, each prefixed
// with its length as a CompactSize.
func appendFeature(b []byte, f *Feature) []byte {
	b = appendVarInt(b, uint64(len(f.ID)))
	b = append(b, f.ID...)
	b = appendVarInt(b, uint64(len(f.Data)))
	return append(b, f.Data...)
}

// parseFeature decodes a feature payload, which must hold exactly an ID of
// 4 to 80 bytes and data of at most 512, with minimally encoded lengths as
// BIP434 specifies. The result copies what it keeps.
func parseFeature(p []byte) (Feature, error) {
	id, p, err := readVarBytes(p, MaxFeatureIDLen)
	if err != nil {
		return Feature{}, fmt.Errorf("%w: id: %w", errBadFeature, err)
	}
	data, p, err := readVarBytes(p, MaxFeatureDataLen)
	if err != nil {
		return Feature{}, fmt.Errorf("%w: data: %w", errBadFeature, err)
	}
	if len(p) != 0 {
		return Feature{}, fmt.Errorf("%w: %d bytes after the data", errBadFeature, len(p))
	}
	if err := checkFeature(len(id), len(data)); err != nil {
		return Feature{}, err
	}
	return Feature{ID: string(id), Data: append([]byte{}, data...)}, nil
}

// readVarBytes reads a CompactSize length of at most max, then that many
// bytes, returning them and the rest of p.
func readVarBytes(p []byte, max int) (field, rest []byte, err error) {
	n, size, err := readVarInt(p)
	if err != nil {
		return nil, nil, err
	}
	p = p[size:]
	switch {
	case n > uint64(max):
		return nil, nil, fmt.Errorf("length %d, the maximum is %d", n, max)
	case n > uint64(len(p)):
		return nil, nil, fmt.Errorf("length %d, %d bytes remain", n, len(p))
	}
	return p[:n], p[n:], nil
}

// readVarInt decodes a minimally encoded CompactSize, returning it and its
// size, as Bitcoin Core's ReadCompactSize does.
func readVarInt(p []byte) (n uint64, size int, err error) {
	if len(p) == 0 {
		return 0, 0, errors.New("missing length")
	}
	size = 1
	switch p[0] {
	case 0xfd:
		size = 3
	case 0xfe:
		size = 5
	case 0xff:
		size = 9
	}
	if len(p) < size {
		return 0, 0, errors.New("truncated length")
	}
	var min uint64
	switch size {
	case 1:
		return uint64(p[0]), 1, nil
	case 3:
		n, min = uint64(p[1])|uint64(p[2])<<8, 0xfd
	case 5:
		n, min = uint64(p[1])|uint64(p[2])<<8|uint64(p[3])<<16|uint64(p[4])<<24, 1<<16
	default:
		for i := 8; i >= 1; i-- {
			n = n<<8 | uint64(p[i])
		}
		min = 1 << 32
	}
	if n < min {
		return 0, 0, errors.New("non-canonical length")
	}
	return n, size, nil
}
