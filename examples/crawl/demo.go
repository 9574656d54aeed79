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
		// Core nodes run a mix of releases in the shares of the
		// reachable network (handshaketest.CoreMix); some run btcd.
		// One in ten speaks v2 too where its release can, few enough
		// that the key exchanges stay cheap. Gossip carries each node's
		// services, so the crawl asks exactly those in v2.
		rel := handshaketest.CoreMix(i)
		v2 := i%10 == 0 && rel.HasV2()
		cfgs[i] = handshaketest.Config{Behavior: handshaketest.Core, Core: rel, StartHeight: int32(870000 + i%50), V2: v2, V1Only: !v2}
		switch {
		case i%7 == 3:
			cfgs[i].Behavior = handshaketest.Btcd
		case rel == handshaketest.CoreMaster:
			// Nodes on master speak BIP434; these announce a feature
			// (an illustrative id) for the report to show.
			cfgs[i].Features = []handshaketest.Feature{{ID: "demo.example/feature/1", Data: []byte{1}}}
		case i%194 == 5:
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
