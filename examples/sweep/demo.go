package main

import (
	"net"

	"github.com/btcsuite/btcd/chaincfg/v2"

	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// demo is a simulated network on loopback: fake nodes with a realistic mix
// of behaviours on distinct 127.x addresses sharing one port, named by two
// overlapping DNS seeds served by a local DNS server.
type demo struct {
	net      *handshaketest.Network
	params   *chaincfg.Params
	resolver *net.Resolver
	seedAddr string
}

func startDemo(peers int) (*demo, error) {
	n, err := handshaketest.NewNetwork(handshaketest.NetworkConfig{
		Peers: handshaketest.Mix(peers),
		Seeds: []string{"seed1.demo.test.", "seed2.demo.test."},
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
