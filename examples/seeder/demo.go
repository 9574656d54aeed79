package main

import (
	"net"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake/handshaketest"
	"github.com/bitcoin-handshake/handshake/internal/simnet"
)

// demo is a simulated network on loopback, found through a DNS seed that
// names a few nodes and through the nodes' gossip: mostly Bitcoin Core of
// a mix of releases, some btcd, one in four speaking v2, and a few
// gossiped addresses where nothing listens.
type demo struct {
	net      *handshaketest.Network
	params   *chaincfg.Params
	resolver *net.Resolver
	seedAddr string
}

func startDemo(peers int, port string) (*demo, error) {
	cfgs := make([]handshaketest.Config, peers)
	for i := range cfgs {
		// Core nodes run a mix of releases in the shares of the
		// reachable network (handshaketest.CoreMix). One node in four
		// speaks v2 where its release can. Of the rest, some announce
		// NODE_P2P_V2 without speaking it, as a misconfigured node might:
		// x800 must not hand those out.
		rel := handshaketest.CoreMix(i)
		v2 := i%4 == 0 && rel.HasV2()
		cfgs[i] = handshaketest.Config{Behavior: handshaketest.Core, Core: rel, StartHeight: int32(870000 + i%50), V2: v2, V1Only: !v2}
		if i%4 == 2 {
			cfgs[i].Services = wire.SFNodeNetwork | wire.SFNodeWitness | wire.SFNodeNetworkLimited | wire.SFNodeP2PV2
		}
		if i%7 == 3 {
			cfgs[i].Behavior = handshaketest.Btcd
		}
	}
	simnet.SetDelays(cfgs) // each node answers after tens to hundreds of ms
	n, err := handshaketest.NewNetwork(handshaketest.NetworkConfig{
		Peers:  cfgs,
		Seeds:  []string{"seed1.demo.test.", "seed2.demo.test."},
		Port:   port,
		Gossip: &handshaketest.Gossip{Seeded: 4, Unreachable: peers / 20},
	})
	if err != nil {
		return nil, err
	}
	return &demo{net: n, params: n.Params(&chaincfg.MainNetParams), resolver: n.Seed.Resolver(), seedAddr: n.Seed.Addr()}, nil
}

func (d *demo) close() { d.net.Close() }
