package handshake

import (
	"net"
	"net/netip"
)

// proxiedConn marks a connection made through a proxy (SOCKS5): its remote
// address is the proxy's, which must never be reported as the peer's.
type proxiedConn struct{ net.Conn }

// addrYou is the addr_recv of our version: the peer's address as we see it
// only when it is routable and the connection was not made through a proxy,
// else the unspecified address and port 0, as Bitcoin Core's
// PushNodeVersion chooses (addr.IsRoutable() && !IsProxy(addr) &&
// addr.IsAddrV1Compatible()). A private or loopback address would only
// tell the peer about our network, and a proxy's is not the peer's.
func addrYou(conn net.Conn) (net.IP, uint16) {
	if _, ok := conn.(proxiedConn); ok {
		return net.IPv6zero, 0
	}
	ta, ok := conn.RemoteAddr().(*net.TCPAddr)
	if !ok || ta.Port <= 0 || ta.Port > 0xffff {
		return net.IPv6zero, 0
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok || !routable(ip.Unmap()) {
		return net.IPv6zero, 0
	}
	return ta.IP, uint16(ta.Port)
}

// unroutable are the ranges Bitcoin Core's CNetAddr::IsRoutable and IsValid
// exclude (netaddress.cpp): RFC 1918, 2544, 3927, 4862, 6598, 5737, 4193,
// 4843, 7343, 3849, local and unspecified addresses.
var unroutable = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "127.0.0.0/8", "255.255.255.255/32", // IsLocal, INADDR_ANY/NONE
		"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", // RFC 1918
		"198.18.0.0/15",                                     // RFC 2544
		"169.254.0.0/16",                                    // RFC 3927
		"100.64.0.0/10",                                     // RFC 6598
		"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", // RFC 5737
		"::/128", "::1/128", // unspecified, IsLocal
		"fe80::/64",     // RFC 4862
		"fc00::/7",      // RFC 4193
		"2001:10::/28",  // RFC 4843
		"2001:20::/28",  // RFC 7343
		"2001:db8::/32", // RFC 3849
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

// routable reports whether Bitcoin Core would call ip routable.
func routable(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	for _, p := range unroutable {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}
