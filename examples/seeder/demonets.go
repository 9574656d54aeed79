package main

import (
	"log/slog"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
	"github.com/bitcoin-handshake/handshake/internal/simnet"
)

// startDemoNetworks starts the demo's other networks beside d's IPv4
// nodes (simnet.NewDemoOverlay): IPv6 nodes on [::1], and onion and I2P
// nodes (and offline names) behind a proxy double, a fake Tor SOCKS port
// and I2P SAM bridge, every node answering after a delay of its own. It
// points reach's -proxy and -i2psam at the double, as an operator points
// them at Tor and an I2P router, and returns the overlay and its seeds
// (one node of each network) to start from. The seeder visits them all
// and writes them to its dump; DNS hands out none of them, the onion and
// I2P ones being no A or AAAA records and the IPv6 ones off the network's
// port.
func startDemoNetworks(d *demo, peers int, reach *cli.Net, log *slog.Logger) (*simnet.Overlay, []string, error) {
	o, err := simnet.NewDemoOverlay(peers, d.net.Addrs())
	if err != nil {
		return nil, nil, err
	}
	if o.NoIPv6 != nil {
		log.Warn("demo", "err", o.NoIPv6)
	}
	reach.Proxies, reach.I2PSAM = cli.List{o.Proxy.SOCKSAddr()}, o.Proxy.SAMAddr()
	log.Info("started the demo's other networks", "ipv6_nodes", len(o.Addrs[handshake.NetIPv6]),
		"onion_nodes", len(o.Addrs[handshake.NetTorV3]), "i2p_nodes", len(o.Addrs[handshake.NetI2P]),
		"tor_socks", o.Proxy.SOCKSAddr(), "i2p_sam", o.Proxy.SAMAddr())
	return o, o.Seeds, nil
}
