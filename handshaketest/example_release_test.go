package handshaketest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// A fake node of one Core release, and what a handshake sees of it.
func ExampleCoreRelease() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, rel := range []handshaketest.CoreRelease{handshaketest.Core26, handshaketest.Core29_1, handshaketest.CoreMaster} {
		p, err := handshaketest.NewPeer(handshaketest.Config{Core: rel})
		if err != nil {
			fmt.Println(err)
			return
		}
		res, err := handshake.Dial(ctx, p.Addr(), handshake.Options{})
		p.Close()
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(res.Peer.UserAgent, res.Peer.ProtocolVersion, res.Transport, rel.FeeFilter())
	}
	// Output:
	// /Satoshi:26.0.0/ 70016 v1 1000
	// /Satoshi:29.1.0/ 70016 v2 100
	// /Satoshi:32.99.0/ 70017 v2 100
}
