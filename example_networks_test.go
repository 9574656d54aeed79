package handshake_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// Reach onion services through Tor. The proxy double stands in for Tor's
// SOCKS port (127.0.0.1:9050, the default when Proxies is empty) and for
// the services: one online, one offline. An offline service is told apart
// from a slow one and from a dead Tor by its reply code.
func ExampleNewTor() {
	node, err := handshaketest.NewPeer(handshaketest.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Close()
	proxy, err := handshaketest.NewProxy(handshaketest.ProxyConfig{Delay: -1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer proxy.Close()
	online, offline := handshaketest.OnionName(1), handshaketest.OnionName(2)
	proxy.Set(online, handshaketest.Route{Target: node.Addr()})

	tor, err := handshake.NewTor(handshake.TorOptions{Proxies: []string{proxy.SOCKSAddr()}})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := handshake.Dial(ctx, online, handshake.Options{Dialer: tor})
	fmt.Println(res.Status, err)
	_, err = handshake.Dial(ctx, offline, handshake.Options{Dialer: tor})
	fmt.Println(errors.Is(err, handshake.SOCKSOnionNotFound), handshake.ErrorKind(err))
	// Output:
	// OK <nil>
	// true onion-not-found
}

// Reach I2P destinations through an I2P router's SAM bridge, as Bitcoin
// Core does with -i2psam. The proxy double stands in for the router
// (127.0.0.1:7656 by default). I2P addresses have port 0.
func ExampleNewI2P() {
	node, err := handshaketest.NewPeer(handshaketest.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Close()
	router, err := handshaketest.NewProxy(handshaketest.ProxyConfig{Delay: -1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer router.Close()
	name := handshaketest.I2PName(1)
	router.Set(name, handshaketest.Route{Target: node.Addr()})

	i2p, err := handshake.NewI2P(handshake.I2POptions{SAM: router.SAMAddr()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer i2p.Close() // ends the session
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := handshake.Dial(ctx, name+":0", handshake.Options{Dialer: i2p})
	fmt.Println(res.Status, err)
	_, err = handshake.Dial(ctx, handshaketest.I2PName(2)+":0", handshake.Options{Dialer: i2p})
	fmt.Println(handshake.ErrorKind(err))
	// Output:
	// OK <nil>
	// i2p-not-found
}
