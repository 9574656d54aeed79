package main

import (
	"log/slog"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/internal/simnet"
)

// startDemoNetworks starts the demo's other networks beside d's IPv4
// nodes (simnet.NewDemoOverlay): IPv6 nodes on [::1], and onion and I2P
// nodes behind a proxy double, every node answering after a delay of its
// own. It returns the overlay and its seeds (one node of each network) to
// start from. The seeder visits the IPv6 ones; their ports are not the
// network's, so DNS never hands them out, as it never hands out a node off
// the default port.
func startDemoNetworks(d *demo, peers int, log *slog.Logger) (*simnet.Overlay, []string, error) {
	o, err := simnet.NewDemoOverlay(peers, d.net.Addrs())
	if err != nil {
		return nil, nil, err
	}
	if o.NoIPv6 != nil {
		log.Warn("demo", "err", o.NoIPv6)
	}
	log.Info("started the demo's other networks", "ipv6_nodes", len(o.Addrs[handshake.NetIPv6]),
		"onion_nodes", len(o.Addrs[handshake.NetTorV3]), "i2p_nodes", len(o.Addrs[handshake.NetI2P]),
		"tor_socks", o.Proxy.SOCKSAddr(), "i2p_sam", o.Proxy.SAMAddr())
	return o, o.Seeds, nil
}
