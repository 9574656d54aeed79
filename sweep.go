package handshake

import (
	"context"
	"fmt"
	"net"
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
	// Handshake configures each handshake. Its ChainParams choose the seeds
	// and the port, and its Timeout bounds each address (default
	// DefaultTimeout, DefaultOnionTimeout for .onion addresses) and each
	// seed's lookup, derived from the context given to Sweep. A named
	// field rather than an embedded Options, so that the handshake's
	// fields and the sweep's can never shadow each other.
	Handshake Options

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
	// are skipped (see SeedOptions.AllowPrivate).
	AllowPrivate bool
}

// SweepSummary reports a finished sweep.
type SweepSummary struct {
	Seeds []SeedResult
	// Addresses is the number of unique addresses handshaken with: one
	// Result each.
	Addresses int
	// OK, PartiallyOK and Failed count the Results by Status.
	OK, PartiallyOK, Failed int
	// Skipped lists the seed-returned addresses not dialled because they
	// are private (see SweepOptions.AllowPrivate), each once.
	Skipped []string
	Elapsed time.Duration
}

// Sweep resolves the seeds, removes duplicate addresses, and handshakes with
// every address concurrently, calling fn with each Result as it completes.
// fn is never called concurrently. Every unique address yields exactly one
// Result, also when ctx ends: addresses not yet dialled then get a StatusFailed
// Result carrying ctx's error. A failing address is a Result, not an error:
// Sweep returns an error only when no address could be obtained or when ctx
// ended.
func Sweep(ctx context.Context, opts SweepOptions, fn func(Result)) (SweepSummary, error) {
	start := time.Now()
	var sum SweepSummary
	o, err := opts.Handshake.withDefaults()
	if err != nil {
		return sum, fmt.Errorf("handshake: sweep: %w", err)
	}
	if opts.Concurrency < 0 {
		return sum, fmt.Errorf("handshake: sweep: %w: negative concurrency", ErrInvalidOptions)
	}
	// A zero Timeout stays zero, so that Dial gives .onion addresses
	// DefaultOnionTimeout and the others DefaultTimeout.
	o.Timeout = opts.Handshake.Timeout
	opts.Handshake = o

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
		case StatusOK:
			sum.OK++
		case StatusPartiallyOK:
			sum.PartiallyOK++
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
			emit(failedResult(addr, opts.Handshake.firstTransport(true), StepConnect, err))
			continue
		}
		g.Go(func() error {
			res, _ := Dial(ctx, addr, opts.Handshake)
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
	params := opts.Handshake.ChainParams
	for _, a := range opts.Addrs {
		add(withDefaultPort(a, params.DefaultPort))
	}
	seeds := opts.Seeds
	if seeds == nil && len(opts.Addrs) != 0 {
		seeds = []chaincfg.DNSSeed{} // the caller named the addresses
	}
	// The options were checked by withDefaults; an ended ctx is Sweep's
	// to report.
	found, results, _ := ResolveSeeds(ctx, SeedOptions{
		ChainParams:      params,
		Seeds:            seeds,
		RequiredServices: opts.RequiredServices,
		Resolver:         opts.Resolver,
		Timeout:          opts.Handshake.Timeout,
		AllowPrivate:     opts.AllowPrivate,
	})
	sum.Seeds = results
	for _, a := range found {
		add(a)
	}
	for _, r := range results {
		for _, a := range r.Skipped {
			if !seen[a] { // an explicit address, or skipped already
				seen[a] = true
				sum.Skipped = append(sum.Skipped, a)
			}
		}
	}
	return addrs
}

// failedResult is the Result of an address that was never dialled.
func failedResult(addr string, t Transport, step Step, err error) Result {
	res, _ := failedEarly(addr, t, step, err, time.Now())
	return *res
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
