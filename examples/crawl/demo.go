package main

import (
	"net"

	"github.com/btcsuite/btcd/chaincfg/v2"

	"github.com/bitcoin-handshake/handshake/handshaketest"
	"github.com/bitcoin-handshake/handshake/internal/simnet"
)

// demo is a simulated network on loopback reachable only through address
// gossip: fake nodes on distinct 127.x addresses sharing one port, of which
// a DNS seed names a handful, the rest being learned from getaddr answers,
// with some gossiped addresses where nothing listens.
type demo struct {
	net      *handshaketest.Network
	params   *chaincfg.Params
	resolver *net.Resolver
	seedAddr string
}

func startDemo(peers, unreachable int) (*demo, error) {
	cfgs := make([]handshaketest.Config, peers)
	for i := range cfgs {
		// Mostly Core, some btcd; one in ten speaks v2 too, few enough
		// that the key exchanges stay cheap. Gossip carries each node's
		// services, so the crawl asks exactly those in v2.
		cfgs[i] = handshaketest.Config{Behavior: handshaketest.Core, StartHeight: int32(870000 + i%50), V2: i%10 == 0, V1Only: i%10 != 0}
		switch {
		case i%7 == 3:
			cfgs[i].Behavior = handshaketest.Btcd
		case i%3 == 0:
			cfgs[i].UserAgent = "/Satoshi:28.1.0/"
		case i%5 == 1:
			// Some announce BIP434 and a feature (an illustrative id).
			cfgs[i].ProtocolVersion = 70017
			cfgs[i].UserAgent = "/Satoshi:31.0.0/"
			cfgs[i].Features = []handshaketest.Feature{{ID: "demo.example/feature/1", Data: []byte{1}}}
		case i%97 == 5 && i >= 4:
			// And a few hang up after their version, as some do.
			cfgs[i].Behavior = handshaketest.CloseAfterVersion
		}
	}
	simnet.SetDelays(cfgs) // each node answers after tens to hundreds of ms
	n, err := handshaketest.NewNetwork(handshaketest.NetworkConfig{
		Peers:  cfgs,
		Seeds:  []string{"seed1.demo.test.", "seed2.demo.test."},
		Gossip: &handshaketest.Gossip{Seeded: 4, Unreachable: unreachable},
	})
	if err != nil {
		return nil, err
	}
	return &demo{
		net:      n,
		params:   n.Params(&chaincfg.MainNetParams),
		resolver: n.Seed.Resolver(),
		seedAddr: n.Seed.Addr(),
	}, nil
}

func (d *demo) close() { d.net.Close() }
