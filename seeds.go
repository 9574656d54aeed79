package handshake

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// SeedOptions configures ResolveSeeds. The zero value resolves mainnet's DNS
// seeds through the system's resolver and leaves out private addresses.
type SeedOptions struct {
	// ChainParams names the seeds (when Seeds is nil) and gives the port
	// the addresses are completed with. Default: &chaincfg.MainNetParams.
	ChainParams *chaincfg.Params

	// Seeds are the DNS seeds to resolve. Default: ChainParams.DNSSeeds.
	// An empty, non-nil slice resolves none.
	Seeds []chaincfg.DNSSeed

	// RequiredServices, when non-zero, asks seeds that support filtering
	// (DNSSeed.HasFiltering) for nodes with these service bits, by querying
	// the x<hex>. subdomain. Other seeds are asked plainly.
	RequiredServices wire.ServiceFlag

	// Resolver resolves the seeds. Default: net.DefaultResolver.
	Resolver *net.Resolver

	// Timeout bounds each seed's lookup in addition to the context; the
	// earlier of the two applies. Default: DefaultTimeout. A negative value
	// means the context alone bounds the lookups.
	Timeout time.Duration

	// AllowPrivate keeps addresses in loopback, private, link-local,
	// multicast, shared or unspecified ranges (see IsPublic). By default
	// they are left out, so that a hostile seed cannot turn a sweep or a
	// crawl into a scan of the user's own network.
	AllowPrivate bool
}

// SeedResult is the outcome of resolving one DNS seed.
type SeedResult struct {
	Host  string // the seed as configured
	Query string // the name asked, with the service-filter prefix if any
	Addrs int    // addresses it returned, private and duplicate ones included
	// Skipped lists the private addresses it returned that were left out
	// (see SeedOptions.AllowPrivate), as "host:port".
	Skipped []string
	Err     error // the resolution error, if any
}

// ResolveSeeds asks every seed at once and returns the unique addresses they
// name, as "host:port" with ChainParams.DefaultPort, in the order of the
// seeds, and the outcome of each seed, in the order of opts.Seeds. A seed
// that fails is reported in its SeedResult and leaves the others to proceed.
// The error is non-nil only for options that cannot work (ErrInvalidOptions)
// or when ctx ended before every seed answered; the addresses found are
// returned in both cases.
func ResolveSeeds(ctx context.Context, opts SeedOptions) ([]string, []SeedResult, error) {
	params := opts.ChainParams
	if params == nil {
		params = &chaincfg.MainNetParams
	}
	if params.DefaultPort == "" {
		return nil, nil, fmt.Errorf("handshake: resolve seeds: %w: ChainParams %q has no default port",
			ErrInvalidOptions, params.Name)
	}
	seeds := opts.Seeds
	if seeds == nil {
		seeds = params.DNSSeeds
	}
	resolver := opts.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}

	results := make([]SeedResult, len(seeds))
	found := make([][]netip.Addr, len(seeds))
	var wg sync.WaitGroup
	for i, seed := range seeds {
		query := seed.Host
		if opts.RequiredServices != 0 && seed.HasFiltering {
			query = fmt.Sprintf("x%x.%s", uint64(opts.RequiredServices), seed.Host)
		}
		results[i] = SeedResult{Host: seed.Host, Query: query}
		wg.Go(func() {
			ctx, cancel := ctx, context.CancelFunc(func() {})
			if timeout > 0 {
				ctx, cancel = context.WithTimeout(ctx, timeout)
			}
			defer cancel()
			ips, err := resolver.LookupNetIP(ctx, "ip", query)
			found[i], results[i].Err, results[i].Addrs = ips, err, len(ips)
		})
	}
	wg.Wait()

	seen := make(map[string]bool)
	var addrs []string
	for i, ips := range found {
		for _, ip := range ips {
			a := net.JoinHostPort(ip.Unmap().String(), params.DefaultPort)
			if !opts.AllowPrivate && !IsPublic(ip) {
				results[i].Skipped = append(results[i].Skipped, a)
				continue
			}
			if !seen[a] {
				seen[a] = true
				addrs = append(addrs, a)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return addrs, results, fmt.Errorf("handshake: resolve seeds: %w", err)
	}
	return addrs, results, nil
}

// Ranges IsPublic refuses beyond what netip names: carrier-grade NAT
// (RFC 6598, private in all but name), benchmarking (RFC 2544, used inside
// networks too) and the limited broadcast address.
var notPublicV4 = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("255.255.255.255/32"),
}

// IsPublic reports whether ip may be dialled on a stranger's word alone: a
// seed's answer, a peer's gossip. Loopback, private (RFC 1918, fc00::/7),
// link-local, multicast, shared (100.64/10), benchmarking (198.18/15),
// broadcast, 0/8 and unspecified addresses are not: a hostile seed or peer
// must not aim a sweep or a crawl at the user's own network. The
// documentation ranges (RFC 5737, RFC 3849) pass: they are nobody's network
// and stand for public addresses in tests and examples.
func IsPublic(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() ||
		ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.IsLinkLocalMulticast() || (ip.Is4() && ip.As4()[0] == 0) {
		return false
	}
	for _, p := range notPublicV4 {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// NewResolver returns a resolver that sends every DNS query to server
// ("host:port"), whatever the system's configuration says: for a sweep
// through a chosen DNS server.
func NewResolver(server string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		},
	}
}
