package crawl_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// Crawl a simulated network of 20 nodes on loopback, reachable only
// through gossip from the first, with 3 gossiped addresses where nothing
// listens. To resume a crawl later, keep the addresses of the Results
// (Options.Seen) and the Targets of those whose Err wraps ErrNotVisited
// (the start of the next crawl).
func ExampleCrawl() {
	n, err := handshaketest.NewNetwork(handshaketest.NetworkConfig{
		Peers:   make([]handshaketest.Config, 20),
		FirstIP: netip.MustParseAddr("127.68.0.1"),
		Gossip:  &handshaketest.Gossip{Seeded: 1, Unreachable: 3},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer n.Close()
	start, err := crawl.ParseTarget(n.Addrs()[0], "")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var again []crawl.Target
	sum, err := crawl.Crawl(ctx, crawl.Options{AllowPrivate: true}, []crawl.Target{start}, func(r crawl.Result) {
		// Called once per address, as visits complete.
		if errors.Is(r.Err, crawl.ErrNotVisited) {
			again = append(again, r.Target)
		}
		if r.Status == handshake.StatusOK && r.Ping <= 0 {
			fmt.Println("no ping for", r.Addr)
		}
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d nodes answered, %d addresses failed, %d left to visit\n", sum.OK, sum.Failed, len(again))
	// Output: 20 nodes answered, 3 addresses failed, 0 left to visit
}
