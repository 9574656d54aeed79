package handshake_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"time"

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
	fmt.Println("features:", res.Features)
	// Output:
	// OK v1 /Satoshi:27.1.0/ 870000
	// features: [wtxidrelay sendaddrv2 sendtxrcncl]
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
			Behavior: handshaketest.Old,
			Net:      wire.TestNet3,
		})
	}()

	params, _ := handshake.Network("testnet3")
	res, err := handshake.Handshake(context.Background(), client, handshake.Options{ChainParams: params})
	fmt.Println(res.Status, res.NegotiatedVersion, err)
	// Output:
	// OK 70001 <nil>
}
