// Package handshaketest provides fake Bitcoin nodes and a fake DNS seed for
// testing code that performs the P2P version/verack handshake, in the way
// net/http/httptest serves net/http.
//
// NewPeer starts a node on a loopback address that answers every connection
// with one Behavior: a faithful imitation of a real implementation (Core,
// Btcd, Bcoin, Old, TooOld) or a misbehaving peer (Silent, SlowDrip,
// WrongMagic, Garbage, ...). Serve runs the same behaviours over a
// connection the caller made, such as one end of net.Pipe. A Config.Handler
// scripts any other peer with the helpers of Conn.
//
// NewSeed starts a DNS server that answers A and AAAA queries like a Bitcoin
// DNS seed, with Seed.Resolver to point a net.Resolver at it.
//
// NewProxy starts a fake Tor SOCKS5 port and I2P SAM 3.1 bridge that carry
// connections by onion or I2P name to fake nodes, with Tor's circuit delay
// and its extended error codes, for testing code that reaches those
// networks (OnionName and I2PName make well-formed names).
//
// Everything listens on loopback only, and Close on a Peer or Seed returns
// only after every goroutine it started has exited.
package handshaketest
