package handshake_test

import (
	"bytes"
	"crypto/sha3"
	"encoding/base32"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/bitcoin-handshake/handshake"
)

// testBase32 is RFC 4648 base32 in lower case without padding, as onion and
// I2P names are written; the test builds its names without the package.
var testBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// testOnion is the Tor v3 name of a public key whose first byte is first:
// base32(pubkey | SHA3-256(".onion checksum" | pubkey | 3)[:2] | 3).
func testOnion(first byte) string {
	key := append([]byte{first}, bytes.Repeat([]byte{0x42}, 31)...)
	sum := sha3.Sum256(append(append([]byte(".onion checksum"), key...), 3))
	return testBase32.EncodeToString(append(append(key, sum[:2]...), 3)) + ".onion"
}

// testI2P is the I2P name of a destination hash whose first byte is first.
func testI2P(first byte) string {
	return testBase32.EncodeToString(append([]byte{first}, bytes.Repeat([]byte{0x17}, 31)...)) + ".b32.i2p"
}

// TestNetGroup: groups as Bitcoin Core's NetGroupManager::GetGroup
// (src/netgroup.cpp) computes them without an AS map. The IPv4, RFC 6145,
// RFC 6052, RFC 3964, RFC 4380, he.net and IPv6 rows are Core's own
// vectors (src/test/netbase_tests.cpp, netbase_getgroup); the others are
// worked from GetGroup: the class byte (netaddress.h: 0 unroutable, 1
// IPv4, 2 IPv6, 3 onion, 4 I2P, 5 CJDNS), then nBits of the address bytes
// (GetAddrBytes: the key for Tor, the hash for I2P), the last partial byte
// ORed with 1s.
func TestNetGroup(t *testing.T) {
	t.Parallel()
	const unroutable, ipv4, ipv6, onion, i2p, cjdns = 0, 1, 2, 3, 4, 5
	for _, tc := range []struct {
		network handshake.AddrNetwork
		host    string
		want    []byte
	}{
		// IsLocal, !IsValid, and the RFC ranges IsRoutable excludes:
		// one group for all (GetNetClass is NET_UNROUTABLE).
		{handshake.NetIPv4, "127.0.0.1", []byte{unroutable}},
		{handshake.NetIPv4, "0.0.0.0", []byte{unroutable}},
		{handshake.NetIPv4, "255.255.255.255", []byte{unroutable}},
		{handshake.NetIPv4, "10.0.0.1", []byte{unroutable}},
		{handshake.NetIPv4, "169.254.1.1", []byte{unroutable}},
		{handshake.NetIPv4, "100.64.0.1", []byte{unroutable}},
		{handshake.NetIPv4, "203.0.113.7", []byte{unroutable}},
		{handshake.NetIPv6, "::1", []byte{unroutable}},
		{handshake.NetIPv6, "::", []byte{unroutable}},
		{handshake.NetIPv6, "fe80::1", []byte{unroutable}},
		{handshake.NetIPv6, "fe80::1%eth0", []byte{unroutable}},
		{handshake.NetIPv6, "2001:db8::1", []byte{unroutable}},
		{handshake.NetIPv6, "2001:10::1", []byte{unroutable}},
		{handshake.NetIPv6, "fc00::1", []byte{unroutable}}, // RFC 4193 when learnt as IPv6
		// IPv4: the /16.
		{handshake.NetIPv4, "1.2.3.4", []byte{ipv4, 1, 2}},
		{handshake.NetIPv4, "203.0.114.7", []byte{ipv4, 203, 0}},
		// IPv6 carrying IPv4: the embedded /16, class IPv4.
		{handshake.NetIPv6, "::ffff:1.2.3.4", []byte{ipv4, 1, 2}},                        // IPv4-mapped: IPv4 (SetLegacyIPv6)
		{handshake.NetIPv6, "::FFFF:0:102:304", []byte{ipv4, 1, 2}},                      // RFC 6145
		{handshake.NetIPv6, "64:FF9B::102:304", []byte{ipv4, 1, 2}},                      // RFC 6052, NAT64
		{handshake.NetIPv6, "2002:102:304:9999:9999:9999:9999:9999", []byte{ipv4, 1, 2}}, // RFC 3964, 6to4
		{handshake.NetIPv6, "2001:0:9999:9999:9999:9999:FEFD:FCFB", []byte{ipv4, 1, 2}},  // RFC 4380, Teredo: inverted
		{handshake.NetIPv6, "2002:a00:1::1", []byte{ipv4, 10, 0}},                        // the IPv4 is not judged again
		// IPv6: the /32, and the /36 for he.net.
		{handshake.NetIPv6, "2001:470:abcd:9999:9999:9999:9999:9999", []byte{ipv6, 32, 1, 4, 112, 175}},
		{handshake.NetIPv6, "2001:2001:9999:9999:9999:9999:9999:9999", []byte{ipv6, 32, 1, 32, 1}},
		{handshake.NetIPv6, "2a01:4f8:1:2::3", []byte{ipv6, 0x2a, 0x01, 0x04, 0xf8}},
		// Tor and I2P: 4 bits of the key or hash.
		{handshake.NetTorV3, testOnion(0xd1), []byte{onion, 0xdf}},
		{handshake.NetTorV3, strings.ToUpper(testOnion(0x20)), []byte{onion, 0x2f}},
		{handshake.NetTorV3, "a" + testOnion(0x20)[1:], []byte{unroutable}}, // bad checksum: SetTor refuses it
		{handshake.NetI2P, testI2P(0x5a), []byte{i2p, 0x5f}},
		{handshake.NetI2P, "abc.b32.i2p", []byte{unroutable}},
		// CJDNS: 12 bits, the constant 0xfc and 4 more.
		{handshake.NetCJDNS, "fc32:17ea:e415:c3bf:9808:149d:b5a2:c9aa", []byte{cjdns, 0xfc, 0x3f}},
		{handshake.NetCJDNS, "fd00::1", []byte{unroutable}}, // IsValid: CJDNS starts with 0xfc
		{handshake.NetIPv4, "not an address", []byte{unroutable}},
	} {
		g := handshake.NetGroupOf(tc.network, tc.host)
		if got := g.Bytes(); !bytes.Equal(got, tc.want) {
			t.Errorf("NetGroupOf(%v, %q) = %v, want %v", tc.network, tc.host, got, tc.want)
		}
		if ip, err := netip.ParseAddr(tc.host); err == nil && tc.network != handshake.NetCJDNS {
			if ipg := handshake.IPNetGroup(ip); ipg != g {
				t.Errorf("IPNetGroup(%s) = %v, NetGroupOf %v", tc.host, ipg, g)
			}
		}
	}
}

// TestNetGroupKeys: String and Uint64 tell groups apart exactly when their
// bytes do.
func TestNetGroupKeys(t *testing.T) {
	// Not parallel: AllocsPerRun needs the test to itself.
	groups := []handshake.NetGroup{
		handshake.IPNetGroup(netip.MustParseAddr("127.0.0.1")),
		handshake.IPNetGroup(netip.MustParseAddr("1.2.3.4")),
		handshake.IPNetGroup(netip.MustParseAddr("1.3.3.4")),
		handshake.IPNetGroup(netip.MustParseAddr("2001:470:abcd::1")),
		handshake.IPNetGroup(netip.MustParseAddr("2001:470::1")),
		handshake.NetGroupOf(handshake.NetTorV3, testOnion(0xd1)),
		handshake.NetGroupOf(handshake.NetI2P, testI2P(0xd1)),
	}
	want := []string{"unroutable", "ipv4:0102", "ipv4:0103", "ipv6:20010470af", "ipv6:200104700f", "onion:df", "i2p:df"}
	for i, g := range groups {
		if g.String() != want[i] {
			t.Errorf("String() = %q, want %q", g.String(), want[i])
		}
		for j, h := range groups[:i] {
			if g.Uint64() == h.Uint64() {
				t.Errorf("%v and %v share Uint64 %#x", g, h, g.Uint64())
			}
			if g == h {
				t.Errorf("groups %d and %d equal", i, j)
			}
		}
	}
	if handshake.IPNetGroup(netip.MustParseAddr("1.2.200.1")).Uint64() != groups[1].Uint64() {
		t.Error("one /16, two Uint64 keys")
	}
	if testing.AllocsPerRun(100, func() { _ = handshake.IPNetGroup(netip.MustParseAddr("2001:470::1")).Uint64() }) != 0 {
		t.Error("IPNetGroup(...).Uint64() allocates")
	}
}

// Spread work over network groups as Bitcoin Core spreads its outbound
// connections: at most one address per group.
func ExampleNetGroupOf() {
	seen := map[handshake.NetGroup]bool{}
	for _, a := range []handshake.Addr{
		{Network: handshake.NetIPv4, Host: "1.2.3.4"},
		{Network: handshake.NetIPv4, Host: "1.2.200.9"},               // 1.2/16 again
		{Network: handshake.NetIPv6, Host: "2002:102:304::1"},         // 6to4: 1.2/16 again
		{Network: handshake.NetIPv6, Host: "2001:470:abcd::1"},        // he.net: a /36
		{Network: handshake.NetCJDNS, Host: "fc32:17ea:e415:c3bf::1"}, // 12 bits
		{Network: handshake.NetIPv4, Host: "192.168.1.1"},             // unroutable
	} {
		g := handshake.NetGroupOf(a.Network, a.Host)
		fmt.Printf("%-22s %-16s first in its group: %v\n", a.Host, g, !seen[g])
		seen[g] = true
	}
	// Output:
	// 1.2.3.4                ipv4:0102        first in its group: true
	// 1.2.200.9              ipv4:0102        first in its group: false
	// 2002:102:304::1        ipv4:0102        first in its group: false
	// 2001:470:abcd::1       ipv6:20010470af  first in its group: true
	// fc32:17ea:e415:c3bf::1 cjdns:fc3f       first in its group: true
	// 192.168.1.1            unroutable       first in its group: true
}
