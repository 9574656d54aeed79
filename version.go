package handshake

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
)

// versionHeadLen is what Bitcoin Core reads of a version before judging the
// peer's protocol version: version, services, timestamp and addr_recv.
const versionHeadLen = 4 + 8 + 8 + 26

// errBadVersion explains why a version payload cannot be decoded.
var errBadVersion = errors.New("undecodable version")

// parseVersionHead decodes the fields Bitcoin Core's ProcessMessage reads
// before its protocol version check, in its order, and returns the rest.
func parseVersionHead(p []byte, v *PeerVersion) ([]byte, error) {
	if len(p) < versionHeadLen {
		return nil, fmt.Errorf("%w: %d bytes, the fixed fields take %d", errBadVersion, len(p), versionHeadLen)
	}
	*v = PeerVersion{
		ProtocolVersion: binary.LittleEndian.Uint32(p[0:4]),
		Services:        wire.ServiceFlag(binary.LittleEndian.Uint64(p[4:12])),
		// Core clamps a negative time to zero.
		Timestamp: time.Unix(max(int64(binary.LittleEndian.Uint64(p[12:20])), 0), 0),
		AddrRecv:  parseNetAddress(p[20:46]),
		// What Core assumes of a version that ends here.
		StartHeight: -1,
		Relay:       true,
	}
	return p[versionHeadLen:], nil
}

// parseVersionTail decodes the optional fields that follow, as Core does:
// each group present only if bytes remain (addr_from with the nonce, the
// user agent, the start height, the relay flag), a truncated group or a
// user agent over 256 bytes an error, and anything after the relay flag
// ignored.
func parseVersionTail(p []byte, v *PeerVersion) error {
	if len(p) == 0 {
		return nil
	}
	if len(p) < 26+8 {
		return fmt.Errorf("%w: %d bytes where addr_from and the nonce take 34", errBadVersion, len(p))
	}
	v.AddrFrom = parseNetAddress(p[:26])
	v.Nonce = binary.LittleEndian.Uint64(p[26:34])
	if p = p[34:]; len(p) == 0 {
		return nil
	}
	ua, p, err := readVarBytes(p, wire.MaxUserAgentLen)
	if err != nil {
		return fmt.Errorf("%w: user agent: %w", errBadVersion, err)
	}
	v.UserAgent = string(ua)
	if len(p) == 0 {
		return nil
	}
	if len(p) < 4 {
		return fmt.Errorf("%w: %d bytes where the start height takes 4", errBadVersion, len(p))
	}
	v.StartHeight = int32(binary.LittleEndian.Uint32(p[:4]))
	if p = p[4:]; len(p) > 0 {
		v.Relay = p[0] != 0
	}
	return nil
}

// parseNetAddress decodes a 26-byte version address: services, a 16-byte
// IP and a big-endian port.
func parseNetAddress(b []byte) NetAddress {
	ip := netip.AddrFrom16([16]byte(b[8:24])).Unmap()
	return NetAddress{
		Addr:     netip.AddrPortFrom(ip, binary.BigEndian.Uint16(b[24:26])),
		Services: wire.ServiceFlag(binary.LittleEndian.Uint64(b[:8])),
	}
}
