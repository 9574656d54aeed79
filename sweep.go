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
	"golang.org/x/sync/errgroup"
)

// DefaultConcurrency is the number of handshakes a Sweep runs at once when
// SweepOptions.Concurrency is zero.
const DefaultConcurrency = 64

// SweepOptions configures Sweep. The zero value sweeps mainnet's DNS seeds.
type SweepOptions struct {
	// Options configures each handshake. Its ChainParams choose the seeds
	// and the port, and its Timeout bounds each address (default
	// DefaultTimeout, DefaultOnionTimeout for .onion addresses), derived
	// from the context given to Sweep.
	Options

	// Seeds are the DNS seeds to resolve. Default: ChainParams.DNSSeeds,
	// unless Addrs is set, in which case no seed is resolved.
	Seeds []chaincfg.DNSSeed

	// Addrs are addresses to handshake with besides those the seeds name,
	// as accepted by Dial. They are dialled even when private: the caller
	// chose them.
	Addrs []string

	// RequiredServices, when non-zero, asks seeds that support filtering
	// (DNSSeed.HasFiltering) for nodes with these service bits, by querying
	// the x<hex>. subdomain.
	RequiredServices wire.ServiceFlag

	// Resolver resolves the seeds. Default: net.DefaultResolver.
	Resolver *net.Resolver

	// Concurrency bounds the handshakes in flight. Default:
	// DefaultConcurrency.
	Concurrency int

	// OnResolved, if set, is called once the seeds are resolved and before
	// any handshake starts, with the summary's Seeds, Addresses and Skipped
	// filled in, so a program can report progress.
	OnResolved func(SweepSummary)

	// AllowPrivate dials addresses a seed returns in loopback, private,
	// link-local, multicast, shared or unspecified ranges. By default they
	// are skipped, so that a hostile seed cannot turn a sweep into a scan
	// of the user's own network.
	AllowPrivate bool
}

// SeedResult is the outcome of resolving one DNS seed.
type SeedResult struct {
	Host  string // the seed as configured
	Query string // the name asked, with the service-filter prefix if any
	Addrs int    // addresses it returned
	Err   error  // the resolution error, if any
}

// SweepSummary reports a finished sweep.
type SweepSummary struct {
	Seeds []SeedResult
	// Addresses is the number of unique addresses handshaken with: one
	// Result each.
	Addresses int
	// Completed, Partial and Failed count the Results by Status.
	Completed, Partial, Failed int
	// Skipped lists the seed-returned addresses not dialled because they
	// are private (see SweepOptions.AllowPrivate).
	Skipped []string
	Elapsed time.Duration
}

// Sweep resolves the seeds, removes duplicate addresses, and handshakes with
// every address concurrently, calling fn with each Result as it completes.
// fn is never called concurrently. Every unique address yields exactly one
// Result, also when ctx ends: addresses not yet dialled then get a Failed
// Result carrying ctx's error. A failing address is a Result, not an error:
// Sweep returns an error only when no address could be obtained or when ctx
// ended.
func Sweep(ctx context.Context, opts SweepOptions, fn func(Result)) (SweepSummary, error) {
	start := time.Now()
	var sum SweepSummary
	o, err := opts.Options.withDefaults()
	if err != nil {
		return sum, fmt.Errorf("handshake: sweep: %w", err)
	}
	if opts.Concurrency < 0 {
		return sum, fmt.Errorf("handshake: sweep: %w: negative concurrency", ErrInvalidOptions)
	}
	// A zero Timeout stays zero, so that Dial gives .onion addresses
	// DefaultOnionTimeout and the others DefaultTimeout.
	o.Timeout = opts.Options.Timeout
	opts.Options = o

	addrs := opts.resolve(ctx, &sum)
	sum.Addresses = len(addrs)
	if opts.OnResolved != nil {
		opts.OnResolved(sum)
	}
	if len(addrs) == 0 {
		sum.Elapsed = time.Since(start)
		if err := ctx.Err(); err != nil {
			return sum, fmt.Errorf("handshake: sweep: %w", err)
		}
		return sum, fmt.Errorf("handshake: sweep: no address to dial (%d seeds resolved, %d addresses skipped)", len(sum.Seeds), len(sum.Skipped))
	}

	var mu sync.Mutex
	emit := func(r Result) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Status {
		case Completed:
			sum.Completed++
		case Partial:
			sum.Partial++
		default:
			sum.Failed++
		}
		if fn != nil {
			fn(r)
		}
	}
	var g errgroup.Group
	g.SetLimit(orDefault(opts.Concurrency, DefaultConcurrency))
	for _, addr := range addrs {
		if err := ctx.Err(); err != nil {
			// Not dialled: still accounted for.
			emit(failedResult(addr, StepConnect, err))
			continue
		}
		g.Go(func() error {
			res, _ := Dial(ctx, addr, opts.Options)
			emit(res)
			return nil // a failed address is a Result, never the group's error
		})
	}
	g.Wait()
	sum.Elapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		return sum, fmt.Errorf("handshake: sweep: %w", err)
	}
	return sum, nil
}

// resolve returns the unique addresses to dial, explicit ones first, and
// records each seed's outcome in sum.
func (opts *SweepOptions) resolve(ctx context.Context, sum *SweepSummary) []string {
	seen := make(map[string]bool)
	var addrs []string
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	for _, a := range opts.Addrs {
		add(withDefaultPort(a, opts.ChainParams.DefaultPort))
	}
	seeds := opts.Seeds
	if seeds == nil && len(opts.Addrs) == 0 {
		seeds = opts.ChainParams.DNSSeeds
	}
	resolver := opts.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	sum.Seeds = make([]SeedResult, len(seeds))
	found := make([][]netip.Addr, len(seeds))
	var wg sync.WaitGroup
	for i, seed := range seeds {
		query := seed.Host
		if opts.RequiredServices != 0 && seed.HasFiltering {
			query = fmt.Sprintf("x%x.%s", uint64(opts.RequiredServices), seed.Host)
		}
		sum.Seeds[i] = SeedResult{Host: seed.Host, Query: query}
		wg.Go(func() {
			ctx, cancel := opts.bound(ctx)
			defer cancel()
			ips, err := resolver.LookupNetIP(ctx, "ip", query)
			found[i], sum.Seeds[i].Err = ips, err
			sum.Seeds[i].Addrs = len(ips)
		})
	}
	wg.Wait()
	port := opts.ChainParams.DefaultPort
	for _, ips := range found {
		for _, ip := range ips {
			a := net.JoinHostPort(ip.Unmap().String(), port)
			if !opts.AllowPrivate && !IsPublic(ip) {
				if !seen[a] {
					seen[a] = true
					sum.Skipped = append(sum.Skipped, a)
				}
				continue
			}
			add(a)
		}
	}
	return addrs
}

// sharedV4 is the carrier-grade NAT range (RFC 6598), private in all but name.
var sharedV4 = netip.MustParsePrefix("100.64.0.0/10")

// IsPublic reports whether ip may be dialled on a stranger's word alone: a
// seed's answer, a peer's gossip. Loopback, private (RFC 1918, fc00::/7),
// link-local, multicast, shared (100.64/10), 0/8 and unspecified addresses
// are not: a hostile seed or peer must not aim a sweep or a crawl at the
// user's own network.
func IsPublic(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && !ip.IsLoopback() && !ip.IsPrivate() && !ip.IsUnspecified() &&
		!ip.IsLinkLocalUnicast() && !ip.IsMulticast() && !ip.IsInterfaceLocalMulticast() &&
		!ip.IsLinkLocalMulticast() && !sharedV4.Contains(ip) &&
		!(ip.Is4() && ip.As4()[0] == 0)
}

// failedResult is the Result of an address that was never dialled.
func failedResult(addr string, step Step, err error) Result {
	res, _ := failedEarly(addr, 0, step, err, time.Now())
	return *res
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
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
