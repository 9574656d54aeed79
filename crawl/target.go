package crawl

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
)

// Target is an address to visit.
type Target struct {
	// Addr is "host:port" as dialled: an IP address, or an onion or I2P
	// name.
	Addr string
	// Network is Addr's network.
	Network handshake.AddrNetwork
	// Services are the services gossip gave for the address; 0 when
	// unknown, as for a start target. They choose the transport.
	Services wire.ServiceFlag
	// Depth is the hops from a start target: 0 for one.
	Depth int
}

// ParseTarget makes a start target of addr, "host" or "host:port" with
// defaultPort used when the port is missing: its Network is read from the
// host (an IP address, or a name ending in .onion or .b32.i2p; CJDNS
// addresses are IPv6 addresses in fc00::/8), its services unknown.
func ParseTarget(addr, defaultPort string) (Target, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = strings.Trim(addr, "[]"), defaultPort
	}
	t := Target{Addr: net.JoinHostPort(host, port)}
	ip, err := netip.ParseAddr(host)
	if err == nil {
		if ip.Zone() != "" {
			return Target{}, fmt.Errorf("crawl: %q has a zone, which names no node on the network", addr)
		}
		// One spelling per address, the one gossip gives, so that
		// "[2001:DB8::1]" and "[2001:db8:0::1]" are one node.
		ip = ip.Unmap()
		t.Addr = net.JoinHostPort(ip.String(), port)
	} else {
		host = strings.ToLower(host) // onion and I2P names, as gossip spells them
		t.Addr = net.JoinHostPort(host, port)
	}
	switch {
	case err == nil && ip.Is4():
		t.Network = handshake.NetIPv4
	case err == nil && ip.As16()[0] == 0xfc:
		t.Network = handshake.NetCJDNS
	case err == nil:
		t.Network = handshake.NetIPv6
	case strings.HasSuffix(host, ".onion"):
		t.Network = handshake.NetTorV3
	case strings.HasSuffix(host, ".b32.i2p"):
		t.Network = handshake.NetI2P
	default:
		return Target{}, fmt.Errorf("crawl: %q is neither an IP address nor an onion or I2P name", addr)
	}
	if port == "" || (port == "0" && t.Network != handshake.NetI2P) {
		return Target{}, fmt.Errorf("crawl: %q has no port", addr)
	}
	return t, nil
}

// transport chooses the transport as Bitcoin Core does for an outbound
// connection: v1 to an address gossiped without NODE_P2P_V2, so a v1-only
// node costs one connection; v2 to one gossiped with it, or whose services
// are unknown, reconnecting in v1 only when the peer hangs up on the v2 key
// without a byte (Core's V2Transport::ShouldReconnectV1, which also covers
// stale gossip), which handshake.TransportAuto does.
func (t Target) transport() handshake.Transport {
	if t.Services != 0 && t.Services&wire.SFNodeP2PV2 == 0 {
		return handshake.TransportV1
	}
	return handshake.TransportAuto
}

// netgroup names the group whose visits at once Options.PerNetgroup caps:
// the network group Bitcoin Core puts the address in
// (handshake.NetGroupOf, Core's NetGroupManager::GetGroup).
func netgroup(t Target) string {
	host, _, _ := net.SplitHostPort(t.Addr)
	return handshake.NetGroupOf(t.Network, host).String()
}

func defaultParams() *chaincfg.Params { return &chaincfg.MainNetParams }
