package handshake

import (
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
)

// NetGroup is the network group Bitcoin Core puts an address in, as
// NetGroupManager::GetGroup (src/netgroup.cpp) computes it without an AS
// map: Core spreads its outbound connections, and buckets its address
// table, over these groups, so that one operator holding many addresses in
// one range fills one group. The bytes are Core's: a network class
// (netaddress.h's enum Network: 0 unroutable, 1 IPv4, 2 IPv6, 3 onion, 4
// I2P, 5 CJDNS) and then, by class:
//
//   - unroutable (local, private, reserved, documentation, invalid): nothing
//     more, one group for them all;
//   - IPv4, and IPv6 addresses carrying one (6to4 2002::/16, Teredo
//     2001::/32 with its bits inverted, NAT64 64:ff9b::/96, SIIT
//     ::ffff:0:0:0/96; IPv4-mapped addresses are IPv4): the IPv4 /16;
//   - IPv6: the /32, or the /36 in Hurricane Electric's 2001:470::/32;
//   - Tor and I2P: the first 4 bits of the key or hash the name encodes;
//   - CJDNS: the first 12 bits of the address (its first byte is 0xfc).
//
// Where a group ends inside a byte, Core sets that byte's remaining bits.
// The zero NetGroup has no class; a NetGroup is comparable, so it can key a
// map.
type NetGroup struct {
	n uint8
	b [maxNetGroupLen]byte
}

// maxNetGroupLen is the longest group: the class and Hurricane Electric's
// 36 bits, the last 4 in a byte of their own.
const maxNetGroupLen = 6

// Core's network classes (netaddress.h, enum Network).
const (
	netClassUnroutable = 0
	netClassIPv4       = 1
	netClassIPv6       = 2
	netClassOnion      = 3
	netClassI2P        = 4
	netClassCJDNS      = 5
)

// Bytes returns the group as Core's GetGroup returns it.
func (g NetGroup) Bytes() []byte { return append([]byte(nil), g.b[:g.n]...) }

// String names the class and shows the rest in hex: "ipv4:0102",
// "ipv6:20010470af", "onion:df", "unroutable"; "" for the zero NetGroup.
func (g NetGroup) String() string {
	if g.n == 0 {
		return ""
	}
	names := [...]string{"unroutable", "ipv4", "ipv6", "onion", "i2p", "cjdns"}
	s := "class" + strconv.Itoa(int(g.b[0]))
	if int(g.b[0]) < len(names) {
		s = names[g.b[0]]
	}
	if g.n == 1 {
		return s
	}
	return s + ":" + hex.EncodeToString(g.b[1:g.n])
}

// Uint64 packs the group into a number, equal for equal groups and
// different for different ones (its length in the top byte, its bytes
// below): a key that costs no allocation.
func (g NetGroup) Uint64() uint64 {
	v := uint64(g.n) << 56
	for i, c := range g.b[:g.n] {
		v |= uint64(c) << (8 * (g.n - 1 - uint8(i)))
	}
	return v
}

// IPNetGroup returns the group of an IP address as Core groups an IPv4 or
// IPv6 address. An address in fc00::/8 is IPv6 here, and so unroutable
// (RFC 4193), as Core judges one it did not learn as CJDNS: use NetGroupOf
// with NetCJDNS for those.
func IPNetGroup(ip netip.Addr) NetGroup {
	// Core reads IPv4-mapped addresses as IPv4, and keeps a scope apart
	// from the address.
	ip = ip.Unmap().WithZone("")
	if !routable(ip) { // CNetAddr::IsRoutable, addryou.go
		return NetGroup{n: 1, b: [maxNetGroupLen]byte{netClassUnroutable}}
	}
	if v4, ok := linkedIPv4(ip); ok {
		return NetGroup{n: 3, b: [maxNetGroupLen]byte{netClassIPv4, v4[0], v4[1]}}
	}
	b := ip.As16()
	if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x04 && b[3] == 0x70 {
		// Hurricane Electric: /36 (IsHeNet).
		return NetGroup{n: 6, b: [maxNetGroupLen]byte{netClassIPv6, b[0], b[1], b[2], b[3], b[4] | 0x0f}}
	}
	return NetGroup{n: 5, b: [maxNetGroupLen]byte{netClassIPv6, b[0], b[1], b[2], b[3]}}
}

// NetGroupOf returns the group of an address of network n, its host
// spelled as Addr.Host spells it (an IP address, or a Tor v3 or I2P name).
// A host that is not a valid address of n, which Core could not hold,
// gets the unroutable group.
func NetGroupOf(n AddrNetwork, host string) NetGroup {
	unroutable := NetGroup{n: 1, b: [maxNetGroupLen]byte{netClassUnroutable}}
	host = strings.ToLower(host)
	switch n {
	case NetIPv4, NetIPv6:
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return unroutable
		}
		return IPNetGroup(ip)
	case NetCJDNS:
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() || ip.Is4In6() || ip.As16()[0] != 0xfc {
			return unroutable // CNetAddr::IsValid: CJDNS starts with 0xfc
		}
		b := ip.As16()
		return NetGroup{n: 3, b: [maxNetGroupLen]byte{netClassCJDNS, b[0], b[1] | 0x0f}}
	case NetTorV3:
		name, ok := strings.CutSuffix(host, ".onion")
		key, err := lowerBase32.DecodeString(name)
		if !ok || err != nil || len(key) != 35 || onionName(key[:32]) != host {
			return unroutable // not a Tor v3 name (CNetAddr::SetTor)
		}
		return NetGroup{n: 2, b: [maxNetGroupLen]byte{netClassOnion, key[0] | 0x0f}}
	case NetI2P:
		name, ok := strings.CutSuffix(host, ".b32.i2p")
		hash, err := lowerBase32.DecodeString(name)
		if !ok || err != nil || len(name) != 52 || len(hash) != 32 || i2pName(hash) != host {
			return unroutable // not a 52-character b32 name (CNetAddr::SetI2P)
		}
		return NetGroup{n: 2, b: [maxNetGroupLen]byte{netClassI2P, hash[0] | 0x0f}}
	}
	return unroutable
}

// linkedIPv4 is CNetAddr::HasLinkedIPv4 and GetLinkedIPv4 for a routable
// address: the IPv4 address it is or carries.
func linkedIPv4(ip netip.Addr) ([4]byte, bool) {
	if ip.Is4() {
		return ip.As4(), true
	}
	b := ip.As16()
	switch {
	case b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zero(b[4:12]), // RFC 6052, NAT64
		zero(b[0:8]) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0: // RFC 6145, SIIT
		return [4]byte(b[12:16]), true
	case b[0] == 0x20 && b[1] == 0x02: // RFC 3964, 6to4
		return [4]byte(b[2:6]), true
	case b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0: // RFC 4380, Teredo
		return [4]byte{^b[12], ^b[13], ^b[14], ^b[15]}, true
	}
	return [4]byte{}, false
}

func zero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
