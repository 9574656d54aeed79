package handshake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// ErrNoDialer reports an address of a network that ByNetwork was given no
// dialer for, such as an onion address without Tor.
var ErrNoDialer = errors.New("no dialer for the network")

// ByNetwork returns a Dialer that dials each address with the dialer of
// its network (see ParseHost): dialers[NetTorV3] for onion names (a *Tor),
// dialers[NetI2P] for I2P names (an *I2P), dialers[NetCJDNS] for fc00::/8
// (a net.Dialer where CJDNS is reachable, as Bitcoin Core's
// -cjdnsreachable), and for IPv4 and IPv6 their dialers, a net.Dialer when
// missing. An address of a network with no dialer fails with ErrNoDialer,
// and a malformed onion or I2P name with ErrInvalidAddress, neither
// dialled. Host names other than onion and I2P names go to the IPv4
// dialer, which resolves them. It suits Options.Dialer and
// SweepOptions.Handshake.Dialer, whose addresses may be of any network. A
// dialer with a DialWithin method keeps it through ByNetwork.
func ByNetwork(dialers map[AddrNetwork]Dialer) Dialer {
	d := byNetwork{}
	for n, x := range dialers { // copied: the caller's map may change
		if x != nil {
			d[n] = x
		}
	}
	return d
}

type byNetwork map[AddrNetwork]Dialer

func (d byNetwork) pick(addr string) (Dialer, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("handshake: %w: %q: %v", ErrInvalidAddress, addr, err)
	}
	n, err := ParseHost(host)
	switch {
	case err != nil && (isOverlayName(host) || isIPLiteral(host)):
		return nil, err // a malformed onion or I2P name, a zoned IP address
	case err != nil:
		n = NetIPv4 // a DNS name: the clearnet dialer resolves it
	}
	if x, ok := d[n]; ok {
		return x, nil
	}
	if n == NetIPv4 || n == NetIPv6 {
		return &net.Dialer{}, nil
	}
	return nil, fmt.Errorf("handshake: %w: %s for %s", ErrNoDialer, n, addr)
}

func (d byNetwork) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	x, err := d.pick(addr)
	if err != nil {
		return nil, err
	}
	return x.DialContext(ctx, network, addr)
}

// DialWithin passes limit on to a dialer that takes it, and otherwise
// bounds the dial by it.
func (d byNetwork) DialWithin(ctx context.Context, limit time.Duration, network, addr string) (net.Conn, error) {
	x, err := d.pick(addr)
	if err != nil {
		return nil, err
	}
	if w, ok := x.(interface {
		DialWithin(context.Context, time.Duration, string, string) (net.Conn, error)
	}); ok {
		return w.DialWithin(ctx, limit, network, addr)
	}
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	return x.DialContext(ctx, network, addr)
}

// isIPLiteral: host is an IP address, zone and all, not a name to resolve.
func isIPLiteral(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}
