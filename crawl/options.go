package crawl

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net"
	"time"

	"github.com/bitcoin-handshake/handshake"
)

// Defaults applied to zero-valued Options fields.
const (
	// DefaultConcurrency is the number of visits in flight. Most gossiped
	// addresses never answer, so a crawl's time is about the dead
	// addresses times Limits.Connect divided by this; each visit in flight
	// holds one socket (file descriptor) and tens of KiB.
	DefaultConcurrency = 1000

	// DefaultMaxKnown caps the distinct addresses a crawl remembers, at
	// about 100 bytes each.
	DefaultMaxKnown = 1_000_000

	// DefaultMaxAddrs caps the addresses taken from one node's answer:
	// Bitcoin Core answers a getaddr with at most 1,000 (MAX_ADDR_TO_SEND).
	DefaultMaxAddrs = 1000
)

// Limits are the time limits of one visit, each separate, so that an
// address whose connect hangs costs only Connect.
type Limits struct {
	// Connect bounds opening the connection (through a proxy, the
	// proxy's connect to the address too).
	Connect time.Duration
	// Handshake bounds the handshake once connected.
	Handshake time.Duration
	// GetAddr bounds the wait for the answer to getaddr.
	GetAddr time.Duration
	// Ping bounds the ping's round trip.
	Ping time.Duration
}

// DefaultLimits returns the limits used for network n when
// Options.Limits sets none: for IPv4, IPv6 and CJDNS a 5 s connect
// (Bitcoin Core's DEFAULT_CONNECT_TIMEOUT), 10 s for the handshake and
// for the addresses, 5 s for the ping; for onion and I2P, whose circuits
// take seconds to build, 30 s each and 20 s for the ping.
func DefaultLimits(n handshake.AddrNetwork) Limits {
	if n == handshake.NetTorV3 || n == handshake.NetI2P {
		return Limits{Connect: 30 * time.Second, Handshake: 30 * time.Second, GetAddr: 30 * time.Second, Ping: 20 * time.Second}
	}
	return Limits{Connect: 5 * time.Second, Handshake: 10 * time.Second, GetAddr: 10 * time.Second, Ping: 5 * time.Second}
}

// Options configures Crawl. The zero value crawls mainnet over IPv4 and
// IPv6 with the defaults each field documents. Options is passed by value;
// its maps and slices are read, never modified.
type Options struct {
	// Handshake configures each handshake: ChainParams (default mainnet),
	// UserAgent (default handshake.DefaultUserAgent), Relay (default
	// false), and so on. Its Dialer and Timeout are ignored: Crawl sets
	// them per address from Dialers and Limits. Its Transport, left at
	// TransportAuto, lets Crawl choose per address from the gossiped
	// services (see Target); TransportV1 or TransportV2 forces it.
	Handshake handshake.Options

	// Concurrency bounds the visits in flight. Default: DefaultConcurrency.
	Concurrency int

	// Limits overrides, per network, the time limits of a visit; a zero
	// field takes DefaultLimits' value. Default: none.
	Limits map[handshake.AddrNetwork]Limits

	// Dialers open connections, per network, and take precedence over
	// Tor, I2P and CJDNSReachable. IPv4 and IPv6 default to a net.Dialer;
	// onion, I2P and CJDNS have none by default, and their addresses are
	// reported as skipped. A dialer with a method
	// DialWithin(ctx, limit, network, addr), as handshake.Tor and
	// handshake.I2P have, is given Limits.Connect that way, so that the
	// wait for a slot at its proxy does not count against it.
	Dialers map[handshake.AddrNetwork]handshake.Dialer

	// Tor, when not nil, reaches onion addresses through the Tor proxies it
	// names (handshake.NewTor: several proxies, a cap on connections in
	// flight at each, stream isolation by default), unless Dialers has
	// one for handshake.NetTorV3. &handshake.TorOptions{} is one Tor at
	// 127.0.0.1:9050. Default: nil, onion addresses are skipped.
	Tor *handshake.TorOptions

	// I2P, when not nil, reaches I2P addresses through the router's SAM
	// bridge (handshake.NewI2P: one transient session for the crawl, closed
	// when it ends), unless Dialers has one for handshake.NetI2P.
	// &handshake.I2POptions{} is the bridge at 127.0.0.1:7656. Default:
	// nil, I2P addresses are skipped.
	I2P *handshake.I2POptions

	// CJDNSReachable says this host reaches CJDNS (fc00::/8) directly, as
	// Bitcoin Core's -cjdnsreachable: CJDNS addresses are dialled with a
	// net.Dialer, unless Dialers has one for handshake.NetCJDNS. Default:
	// false, they are skipped.
	CJDNSReachable bool

	// AllowPrivate admits gossiped addresses in loopback, private,
	// link-local and other non-public ranges (see handshake.IsPublic).
	// Default: false, so that a hostile peer cannot aim the crawl at the
	// user's own network. Start targets are always visited.
	AllowPrivate bool

	// MaxKnown caps the distinct addresses remembered (Seen, start
	// targets and gossip); gossip past it is dropped. Default:
	// DefaultMaxKnown.
	MaxKnown int

	// MaxAddrs caps the addresses taken from one node's answer (the
	// handshake.AddrOptions.MaxAddrs of each visit); a node sending more is
	// cut off. Default: DefaultMaxAddrs.
	MaxAddrs int

	// MaxVisits caps the addresses admitted, start targets included, each
	// of which is visited or skipped. Default: 0, no cap.
	MaxVisits int

	// MaxDepth is the most hops from the start targets to follow: gossip
	// from a target at depth MaxDepth is not admitted. Default: 0, no
	// limit; a negative value admits no gossip at all (the start targets
	// are visited, and their answers reported).
	MaxDepth int

	// PerNetgroup, when positive, caps the visits in flight to one network
	// group, as Bitcoin Core groups its outbound connections
	// (handshake.NetGroupOf): an IPv4 /16, also for IPv4 carried in 6to4,
	// Teredo and NAT64 addresses; an IPv6 /32 (/36 in 2001:470::/32); 4
	// bits of an onion or I2P key, 12 of a CJDNS address; one group for
	// all local and private addresses. Default: 0, no cap.
	PerNetgroup int

	// NetworkConcurrency caps, per network, the visits in flight, within
	// Concurrency. A network reached through a proxy that takes seconds
	// per connection (onion, I2P) would otherwise hold most of the
	// workers waiting for its proxy's slots while addresses of other
	// networks wait; a cap near the proxies' own (proxies times
	// MaxPending, a few times over for the handshakes that follow) keeps
	// the rest of the workers for the others. Default: none, Concurrency
	// alone bounds every network.
	NetworkConcurrency map[handshake.AddrNetwork]int

	// NoPing skips the ping after the handshake. Default: false.
	NoPing bool

	// Seen lists addresses ("host:port") already visited or known, as a
	// resumed crawl or a program with its own table has them: gossip
	// never admits them, and they count towards MaxKnown. Default: none.
	Seen []string

	// Admit, when set, is asked about each new gossiped address that
	// passed the other checks; false keeps it out of the crawl (it is
	// still in Result.Addrs). It is called from one goroutine at a time,
	// with the crawl's lock held: it must be quick. Default: nil, admit.
	Admit func(handshake.Addr) bool
}

// withDefaults checks o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.Concurrency < 0, o.MaxKnown < 0, o.MaxAddrs < 0, o.MaxVisits < 0, o.PerNetgroup < 0:
		return o, fmt.Errorf("crawl: %w: Concurrency, MaxKnown, MaxAddrs, MaxVisits and PerNetgroup must not be negative", handshake.ErrInvalidOptions)
	}
	for n, c := range o.NetworkConcurrency {
		if c < 0 {
			return o, fmt.Errorf("crawl: %w: negative NetworkConcurrency for %v", handshake.ErrInvalidOptions, n)
		}
	}
	for n, l := range o.Limits {
		if l.Connect < 0 || l.Handshake < 0 || l.GetAddr < 0 || l.Ping < 0 {
			return o, fmt.Errorf("crawl: %w: negative limit for %v", handshake.ErrInvalidOptions, n)
		}
	}
	// cmp.Or: the zero value means the default.
	o.Concurrency = cmp.Or(o.Concurrency, DefaultConcurrency)
	o.MaxKnown = cmp.Or(o.MaxKnown, DefaultMaxKnown)
	o.MaxAddrs = cmp.Or(o.MaxAddrs, DefaultMaxAddrs)
	o.Handshake.ChainParams = cmp.Or(o.Handshake.ChainParams, defaultParams())
	if o.Handshake.ChainParams.DefaultPort == "" {
		return o, fmt.Errorf("crawl: %w: ChainParams %q has no default port", handshake.ErrInvalidOptions, o.Handshake.ChainParams.Name)
	}
	return o, nil
}

// limits returns the limits for network n.
func (o *Options) limits(n handshake.AddrNetwork) Limits {
	l, d := o.Limits[n], DefaultLimits(n)
	l.Connect = cmp.Or(l.Connect, d.Connect)
	l.Handshake = cmp.Or(l.Handshake, d.Handshake)
	l.GetAddr = cmp.Or(l.GetAddr, d.GetAddr)
	l.Ping = cmp.Or(l.Ping, d.Ping)
	return l
}

// makeDialers fills Dialers from Tor, I2P and CJDNSReachable, in a map of
// its own, and returns what ends them.
func (o *Options) makeDialers() (func(), error) {
	d := maps.Clone(o.Dialers)
	if d == nil {
		d = map[handshake.AddrNetwork]handshake.Dialer{}
	}
	if o.Tor != nil && d[handshake.NetTorV3] == nil {
		tor, err := handshake.NewTor(*o.Tor)
		if err != nil {
			return nil, fmt.Errorf("crawl: %w", err)
		}
		d[handshake.NetTorV3] = tor
	}
	end := func() {}
	if o.I2P != nil && d[handshake.NetI2P] == nil {
		i2p, err := handshake.NewI2P(*o.I2P)
		if err != nil {
			return nil, fmt.Errorf("crawl: %w", err)
		}
		d[handshake.NetI2P] = i2p
		end = func() { i2p.Close() }
	}
	if o.CJDNSReachable && d[handshake.NetCJDNS] == nil {
		d[handshake.NetCJDNS] = &net.Dialer{}
	}
	o.Dialers = d
	return end, nil
}

// dialer returns the dialer for network n, nil when there is none.
func (o *Options) dialer(n handshake.AddrNetwork) handshake.Dialer {
	if d, ok := o.Dialers[n]; ok && d != nil {
		return d
	}
	if n == handshake.NetIPv4 || n == handshake.NetIPv6 {
		return &net.Dialer{}
	}
	return nil
}

// ErrNotVisited is in the Err of a Result for an address admitted but not
// visited because the context ended first, or whose failing visit the
// context's end cut short, with the context's error; or that was never
// tried because the proxy of its network was down, with the
// *handshake.ProxyError (handshake.ErrProxyDown). Such an address belongs
// in the start targets of a resumed crawl.
var ErrNotVisited = errors.New("not visited")
