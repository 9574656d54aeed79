//go:build linux

// Linux only, as load_test.go's peer farm is.

package handshake_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
)

// TestHostileClaimsAllocateLittle: a peer claiming a payload of 32 MiB,
// 1 MiB or 5,000 bytes, or flooding 64 KiB of real messages, costs a Dial
// about what an honest handshake costs, measured in the same run, never
// what it claims. The peers run in a peer farm process, so the heap
// figures are the call's alone (about 6 KB, 46 allocations, for an honest
// v1 handshake): a buffer sized by any of the claims would show. It is not
// parallel, so that the allocation counter sees nothing but these Dials,
// and speaks v1 only, so that the figures are the v1 reader's rather than
// those of a v2 attempt these v1 peers refuse.
func TestHostileClaimsAllocateLittle(t *testing.T) {
	const (
		dials = 20
		// slack over the honest handshake: the flood's Received list and
		// error text. Less than any of the claims.
		slack = 2 << 10
		// honestMax bounds the honest handshake itself, about twice what
		// it takes.
		honestMax = 12 << 10
	)
	farm := startPeerFarm(t, "127.44.0.1", "Core=1,OversizedPayload=1,OversizedUnknown=1,VersionTooLarge=1,ByteFlood=1", time.Second)
	want := map[string]error{
		"Core":             nil,
		"OversizedPayload": handshake.ErrMessageTooLarge, // 32 MiB claimed
		"OversizedUnknown": handshake.ErrLimitExceeded,   // 1 MiB claimed
		// 5,000 bytes sent: accepted, as Core accepts it, and then no
		// verack comes, hence the short time limit below.
		"VersionTooLarge": context.DeadlineExceeded,
		"ByteFlood":       handshake.ErrLimitExceeded, // 64 KiB sent
	}
	perDial := map[string]uint64{}
	for _, addr := range farm.addrs {
		name := farm.names[addr]
		dial := func() {
			timeout := 5 * time.Second
			if name == "VersionTooLarge" {
				timeout = 100 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if _, err := handshake.Dial(ctx, addr, handshake.Options{Transport: handshake.TransportV1}); !errors.Is(err, want[name]) {
				t.Fatalf("%s: err = %v, want %v", name, err, want[name])
			}
		}
		dial() // warm up: first-use allocations of the runtime and packages
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range dials {
			dial()
		}
		runtime.ReadMemStats(&after)
		perDial[name] = (after.TotalAlloc - before.TotalAlloc) / dials
		t.Logf("%s: %d bytes, %d allocations per Dial", name, perDial[name], (after.Mallocs-before.Mallocs)/dials)
	}
	honest := perDial["Core"]
	if honest == 0 || honest > honestMax {
		t.Fatalf("an honest handshake allocates %d bytes per Dial, want (0, %d]", honest, honestMax)
	}
	for name, n := range perDial {
		if n > honest+slack {
			t.Errorf("%s: %d bytes per Dial, past the honest handshake's %d + %d", name, n, honest, slack)
		}
	}
}
