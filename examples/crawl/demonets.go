package main

import (
	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
	"github.com/bitcoin-handshake/handshake/internal/simnet"
)

// demoTorPending is the demo's cap on connects in flight at its proxy:
// more than Tor's default, so that a few hundred onion names, each taking
// up to two seconds to set up, take seconds in all.
const demoTorPending = 256

// startDemoNetworks starts the demo's other networks beside d's IPv4
// nodes: IPv6 nodes on [::1], and onion and I2P nodes behind a proxy
// double (a fake Tor SOCKS port and I2P SAM bridge), some offline, every
// node answering after a delay of its own and gossiping some of d's
// nodes. It points opts at the proxy and returns the overlay's seeds, to
// start from as Bitcoin Core starts from its fixed seeds.
func startDemoNetworks(d *demo, peers int, opts *crawl.Options, lg *cli.Logger) (*simnet.Overlay, []crawl.Target, error) {
	o, err := simnet.NewDemoOverlay(peers, d.net.Addrs())
	if err != nil {
		return nil, nil, err
	}
	if o.NoIPv6 != nil {
		lg.Log("WARN", "Demo: %v", o.NoIPv6)
	}
	lg.Log("INFO", "Started %d IPv6 nodes on [::1], %d onion and %d I2P nodes (and %d offline onion and %d offline I2P names) behind a fake Tor SOCKS port at %s and I2P SAM bridge at %s",
		len(o.Addrs[handshake.NetIPv6]), len(o.Addrs[handshake.NetTorV3]), len(o.Addrs[handshake.NetI2P]), peers/10, peers/50,
		o.Proxy.SOCKSAddr(), o.Proxy.SAMAddr())
	opts.Tor = &handshake.TorOptions{Proxies: []string{o.Proxy.SOCKSAddr()}, MaxPending: demoTorPending}
	opts.I2P = &handshake.I2POptions{SAM: o.Proxy.SAMAddr(), MaxPending: demoTorPending}
	var start []crawl.Target
	for _, s := range o.Seeds {
		t, err := crawl.ParseTarget(s, "")
		if err != nil {
			o.Close()
			return nil, nil, err
		}
		start = append(start, t)
	}
	return o, start, nil
}
