package handshake_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/netip"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// Dial a node and print what it said. An in-process fake node stands in for
// a real one here so that the example runs anywhere.
func ExampleDial() {
	node, err := handshaketest.NewPeer(handshaketest.Config{
		Behavior:    handshaketest.Core,
		UserAgent:   "/Satoshi:27.1.0/",
		StartHeight: 870000,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer node.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := handshake.Dial(ctx, node.Addr(), handshake.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.Transport, res.Peer.UserAgent, res.Peer.StartHeight)
	fmt.Println("negotiation:", res.Negotiation)
	// Output:
	// OK v2 /Satoshi:27.1.0/ 870000
	// negotiation: [wtxidrelay sendaddrv2]
}

// Announce BIP434 features of our own and read the peer's. Features go
// only to peers at protocol 70017 or more; a default Core node sends none,
// so this fake node is given one.
func ExampleOptions_features() {
	node, err := handshaketest.NewPeer(handshaketest.Config{
		ProtocolVersion: 70017,
		Features:        []handshaketest.Feature{{ID: "BIP434", Data: []byte{1, 2}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer node.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := handshake.Dial(ctx, node.Addr(), handshake.Options{
		Features: []handshake.Feature{{ID: "example.org/our-feature", Data: nil}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range res.Features {
		fmt.Printf("%q %x\n", f.ID, f.Data)
	}
	fmt.Println("negotiation:", res.Negotiation)
	// Output:
	// "BIP434" 0102
	// negotiation: [wtxidrelay sendaddrv2 feature]
}

// Errors name the step that failed and match the package's sentinels.
func ExampleDial_errors() {
	node, err := handshaketest.NewPeer(handshaketest.Config{Behavior: handshaketest.WrongMagic})
	if err != nil {
		log.Fatal(err)
	}
	defer node.Close()

	res, err := handshake.Dial(context.Background(), node.Addr(), handshake.Options{})
	var he *handshake.Error
	if errors.As(err, &he) {
		fmt.Println(res.Status, he.Step, errors.Is(err, handshake.ErrWrongNetwork))
	}
	// Output:
	// FAILED read version true
}

// Handshake runs over a connection the caller made, here one end of a pipe;
// a SOCKS5 connection to a Tor hidden service works the same way.
func ExampleHandshake() {
	client, server := net.Pipe()
	defer client.Close()
	go func() {
		defer server.Close()
		handshaketest.Serve(context.Background(), server, handshaketest.Config{
			Behavior:    handshaketest.Old,
			ChainParams: &chaincfg.TestNet3Params,
		})
	}()

	params, _ := handshake.ParseNetwork("testnet3")
	res, err := handshake.Handshake(context.Background(), client, handshake.Options{ChainParams: params})
	fmt.Println(res.Status, res.NegotiatedVersion, err)
	// Output:
	// OK 70001 <nil>
}

// Keep the connection open after the handshake and ask the node for the
// addresses it knows, as a crawler does.
func ExampleDialConn() {
	node, err := handshaketest.NewPeer(handshaketest.Config{
		V2: true,
		Addrs: []wire.NetAddressV2{
			*wire.NetAddressV2FromBytes(time.Unix(1764000000, 0), wire.SFNodeNetwork, net.ParseIP("198.51.100.4").To4(), 8333),
			*wire.NetAddressV2FromBytes(time.Unix(1764000000, 0), wire.SFNodeNetwork, net.ParseIP("2001:db8::7"), 8333),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer node.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, res, err := handshake.DialConn(ctx, node.Addr(), handshake.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Println(res.Status, res.Transport)

	// A short answer ends after a quiet period; Core splits long ones.
	addrs, err := handshake.GetAddrs(ctx, c, handshake.AddrOptions{Quiet: 100 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range addrs {
		fmt.Println(a.Network, a)
	}
	// Output:
	// OK v2
	// ipv4 198.51.100.4:8333
	// ipv6 [2001:db8::7]:8333
}

// Sweep a network's DNS seeds, here a simulated one on loopback: every
// address yields one Result, streamed as it completes.
func ExampleSweep() {
	n, err := handshaketest.NewNetwork(handshaketest.NetworkConfig{
		Peers: []handshaketest.Config{
			{Behavior: handshaketest.Core},
			{Behavior: handshaketest.Btcd},
			{Behavior: handshaketest.CloseAfterVersion},
			{Behavior: handshaketest.WrongMagic},
		},
		FirstIP: netip.MustParseAddr("127.9.0.1"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close()

	sum, err := handshake.Sweep(context.Background(), handshake.SweepOptions{
		Handshake:    handshake.Options{ChainParams: n.Params(&chaincfg.MainNetParams), Timeout: 10 * time.Second},
		Resolver:     n.Seed.Resolver(),
		AllowPrivate: true, // the simulated nodes live on loopback
	}, func(r handshake.Result) { /* each node's Result, as it completes */ })
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d addresses: %d OK | %d PARTIALLY OK | %d FAILED\n", sum.Addresses, sum.OK, sum.PartiallyOK, sum.Failed)
	// Output:
	// 4 addresses: 2 OK | 1 PARTIALLY OK | 1 FAILED
}

// Resolve a network's DNS seeds without dialling, as a crawler does to find
// where to start: here a seed on loopback naming documentation addresses.
func ExampleResolveSeeds() {
	seed, err := handshaketest.NewSeed(map[string][]netip.Addr{
		"seed.example.test.": {netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("192.168.1.2")},
		"x9.filter.test.":    {netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("2001:db8::8")},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer seed.Close()

	addrs, seeds, err := handshake.ResolveSeeds(context.Background(), handshake.SeedOptions{
		Seeds: []chaincfg.DNSSeed{
			{Host: "seed.example.test."},
			{Host: "filter.test.", HasFiltering: true},
		},
		RequiredServices: wire.SFNodeNetwork | wire.SFNodeWitness, // asks filter.test. as x9.
		Resolver:         seed.Resolver(),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(addrs)
	for _, s := range seeds {
		fmt.Println(s.Query, s.Addrs, "skipped:", s.Skipped)
	}
	// Output:
	// [203.0.113.7:8333 [2001:db8::8]:8333]
	// seed.example.test. 2 skipped: [192.168.1.2:8333]
	// x9.filter.test. 2 skipped: []
}
