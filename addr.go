package handshake

import (
	"crypto/sha3"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
)

// AddrNetwork is the network of a gossiped address, as BIP 155 names them.
type AddrNetwork int

// The networks GetAddrs reports. Tor v2 is gone from the network and is
// skipped, as Bitcoin Core skips it.
const (
	NetIPv4 AddrNetwork = iota + 1
	NetIPv6
	NetTorV3
	NetI2P
	NetCJDNS
)

// String returns "ipv4", "ipv6", "onion", "i2p" or "cjdns", the names
// Bitcoin Core's -onlynet and getnodeaddresses use.
func (n AddrNetwork) String() string {
	switch n {
	case NetIPv4:
		return "ipv4"
	case NetIPv6:
		return "ipv6"
	case NetTorV3:
		return "onion"
	case NetI2P:
		return "i2p"
	case NetCJDNS:
		return "cjdns"
	}
	return fmt.Sprintf("AddrNetwork(%d)", int(n))
}

// Addr is an address a peer gossiped in an addr or addrv2 message.
type Addr struct {
	Network AddrNetwork `json:"network"`
	// Host is usable with Dial: an IP address, a Tor v3 "<56 chars>.onion"
	// name or an I2P "<52 chars>.b32.i2p" name.
	Host     string           `json:"host"`
	Port     uint16           `json:"port"`
	Services wire.ServiceFlag `json:"services"`
	// Timestamp is when the address was last seen, by the peer's account.
	Timestamp time.Time `json:"timestamp"`
}

// BIP 155 network ids and address sizes.
const (
	bip155IPv4, bip155IPv6, bip155TorV2, bip155TorV3, bip155I2P, bip155CJDNS = 1, 2, 3, 4, 5, 6
	maxAddrV2Size                                                            = 512
)

// onionCat is the IPv6 prefix under which Tor v2 names were carried in
// addr messages.
var onionCat = netip.MustParsePrefix("fd87:d87e:eb43::/48")

// addrFromIP makes an Addr from a legacy 16-byte address.
func addrFromIP(ip []byte, port uint16, services wire.ServiceFlag, ts time.Time) (Addr, bool) {
	a, ok := netip.AddrFromSlice(ip)
	if !ok || onionCat.Contains(a) {
		return Addr{}, false
	}
	a = a.Unmap()
	n := NetIPv6
	if a.Is4() {
		n = NetIPv4
	}
	return Addr{Network: n, Host: a.String(), Port: port, Services: services, Timestamp: ts}, true
}

// decodeAddrV2 decodes an addrv2 payload (BIP 155). wire/v2 drops I2P and
// CJDNS addresses, so the format is read here: per entry a uint32 time,
// CompactSize services, a network id, a CompactSize length, the address
// and a big-endian port.
func decodeAddrV2(p []byte) ([]Addr, error) {
	r := reader{b: p}
	count := r.varInt()
	if count > wire.MaxV2AddrPerMsg {
		return nil, fmt.Errorf("%w: addrv2 of %d addresses, the maximum is %d", ErrMalformed, count, wire.MaxV2AddrPerMsg)
	}
	// The count is the peer's claim: size the slice by what the payload
	// can hold (an entry takes at least 9 bytes), not by the claim.
	addrs := make([]Addr, 0, min(count, uint64(len(p)/9)))
	for range count {
		ts := time.Unix(int64(r.uint32()), 0)
		services := wire.ServiceFlag(r.varInt())
		id := r.byte()
		size := r.varInt()
		if size > maxAddrV2Size {
			return nil, fmt.Errorf("%w: addrv2 address of %d bytes", ErrMalformed, size)
		}
		raw := r.bytes(int(size))
		port := r.uint16be()
		if r.err {
			break
		}
		if a, ok := addrFromBIP155(id, raw); ok {
			a.Port, a.Services, a.Timestamp = port, services, ts
			addrs = append(addrs, a)
		}
	}
	if r.err || len(r.b) != 0 {
		return nil, fmt.Errorf("%w: addrv2 of %d bytes does not parse", ErrMalformed, len(p))
	}
	return addrs, nil
}

// addrFromBIP155 names an address by its network; ok is false for networks
// we skip and for sizes the network does not have.
func addrFromBIP155(id byte, raw []byte) (Addr, bool) {
	switch {
	case id == bip155IPv4 && len(raw) == 4:
		return Addr{Network: NetIPv4, Host: netip.AddrFrom4([4]byte(raw)).String()}, true
	case id == bip155IPv6 && len(raw) == 16:
		a := netip.AddrFrom16([16]byte(raw))
		if a.Is4In6() || onionCat.Contains(a) {
			return Addr{}, false // BIP 155: these have their own ids
		}
		return Addr{Network: NetIPv6, Host: a.String()}, true
	case id == bip155TorV3 && len(raw) == 32:
		return Addr{Network: NetTorV3, Host: onionName(raw)}, true
	case id == bip155I2P && len(raw) == 32:
		return Addr{Network: NetI2P, Host: i2pName(raw)}, true
	case id == bip155CJDNS && len(raw) == 16:
		return Addr{Network: NetCJDNS, Host: netip.AddrFrom16([16]byte(raw)).String()}, true
	}
	return Addr{}, false
}

// lowerBase32 is RFC 4648 base32 in lower case without padding, as onion
// and I2P names are written.
var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// onionName is a Tor v3 service's name: base32(pubkey | checksum | 0x03)
// ".onion", the checksum being SHA3-256(".onion checksum" | pubkey | 0x03)[:2].
func onionName(pubkey []byte) string {
	h := sha3.New256()
	h.Write([]byte(".onion checksum"))
	h.Write(pubkey)
	h.Write([]byte{3})
	sum := h.Sum(nil)
	b := append(append(append(make([]byte, 0, 35), pubkey...), sum[:2]...), 3)
	return lowerBase32.EncodeToString(b) + ".onion"
}

// i2pName is an I2P destination's name: base32 of its hash ".b32.i2p".
func i2pName(hash []byte) string {
	return lowerBase32.EncodeToString(hash) + ".b32.i2p"
}

// reader reads the fields of an addrv2 payload; running out of bytes sets
// err rather than failing each call.
type reader struct {
	b   []byte
	err bool
}

func (r *reader) bytes(n int) []byte {
	if r.err || len(r.b) < n {
		r.err = true
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

func (r *reader) byte() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) uint32() uint32 {
	if b := r.bytes(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) uint16be() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

// varInt reads a CompactSize.
func (r *reader) varInt() uint64 {
	switch p := r.byte(); p {
	case 0xfd:
		if b := r.bytes(2); b != nil {
			return uint64(binary.LittleEndian.Uint16(b))
		}
	case 0xfe:
		return uint64(r.uint32())
	case 0xff:
		if b := r.bytes(8); b != nil {
			return binary.LittleEndian.Uint64(b)
		}
	default:
		return uint64(p)
	}
	return 0
}

// withDefaultPort adds port to a host given without one: "1.2.3.4",
// "::1", "[::1]" and "seed.example" all work. An I2P name gets port 0, the
// only one I2P has (BIP 155).
func withDefaultPort(addr, port string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	host := strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	if isI2P(host) {
		port = "0"
	}
	return net.JoinHostPort(host, port)
}

// isOnion reports whether addr names a Tor onion service, which Tor takes
// longer to reach than an IP address.
func isOnion(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	return strings.HasSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), ".onion")
}

func remoteAddr(conn net.Conn) string {
	if a := conn.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}
