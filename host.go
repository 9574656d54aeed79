package handshake

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// cjdnsPrefix holds every CJDNS address, as Bitcoin Core's IsCJDNS sees
// them when -cjdnsreachable is set.
var cjdnsPrefix = netip.MustParsePrefix("fc00::/8")

// ParseHost returns the network of host, a host without a port as gossip
// and Dial name nodes: an IPv4 or IPv6 address (an address in fc00::/8 is
// CJDNS, as Bitcoin Core sees it with -cjdnsreachable), a Tor v3
// "<56 base32 characters>.onion" name or an I2P "<52 base32
// characters>.b32.i2p" name, in either case. An onion or I2P name that
// cannot be a real one fails with ErrInvalidAddress and a reason: the wrong
// length, characters outside base32, a version other than 3 or a checksum
// that does not match the key (Tor v3 names carry both). Anything else
// fails with ErrInvalidAddress too.
func ParseHost(host string) (AddrNetwork, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		switch {
		case ip.Zone() != "":
			return 0, fmt.Errorf("handshake: %w: %q has a zone, which names no node on the network", ErrInvalidAddress, host)
		case ip.Is4():
			return NetIPv4, nil
		case cjdnsPrefix.Contains(ip):
			return NetCJDNS, nil
		}
		return NetIPv6, nil
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	switch {
	case strings.HasSuffix(name, ".onion"):
		if err := checkOnion(strings.TrimSuffix(name, ".onion")); err != nil {
			return 0, fmt.Errorf("handshake: %w: %q: %s", ErrInvalidAddress, host, err)
		}
		return NetTorV3, nil
	case strings.HasSuffix(name, ".b32.i2p"):
		if err := checkI2P(strings.TrimSuffix(name, ".b32.i2p")); err != nil {
			return 0, fmt.Errorf("handshake: %w: %q: %s", ErrInvalidAddress, host, err)
		}
		return NetI2P, nil
	}
	return 0, fmt.Errorf("handshake: %w: %q is neither an IP address nor an onion or I2P name", ErrInvalidAddress, host)
}

// checkOnion checks the label of a Tor v3 name, as Tor's
// hs_parse_address does: 56 base32 characters holding a 32-byte key, a
// 2-byte checksum of it and the version, 3.
func checkOnion(label string) error {
	if len(label) != 56 {
		if len(label) == 16 {
			return fmt.Errorf("a Tor v2 name, gone from the network")
		}
		return fmt.Errorf("%d characters before .onion, a v3 name has 56", len(label))
	}
	b, err := lowerBase32.DecodeString(label)
	if err != nil || len(b) != 35 {
		return fmt.Errorf("not base32")
	}
	if b[34] != 3 {
		return fmt.Errorf("version %d, not 3", b[34])
	}
	if want := onionName(b[:32]); want[:56] != label {
		return fmt.Errorf("bad checksum")
	}
	return nil
}

// checkI2P checks the label of an I2P name: 52 base32 characters holding
// the 32-byte hash of a destination, with no stray bits after it.
func checkI2P(label string) error {
	if len(label) != 52 {
		return fmt.Errorf("%d characters before .b32.i2p, a name has 52", len(label))
	}
	b, err := lowerBase32.DecodeString(label)
	if err != nil || len(b) != 32 || lowerBase32.EncodeToString(b) != label {
		return fmt.Errorf("not base32")
	}
	return nil
}

// isI2P reports whether addr ("host" or "host:port") is an I2P name.
func isI2P(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	return strings.HasSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), ".b32.i2p")
}
