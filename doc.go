// Package handshake performs the Bitcoin P2P handshake, the exchange of
// version and verack messages, with a node and reports what happened.
//
// # Entry points
//
// Three calls start a handshake, each for a use the others do not cover:
//
//   - Dial(ctx, addr, opts) probes an address: it connects, handshakes and
//     closes, returning only the Result. The connection never reaches the
//     caller, so a probe cannot leak one; Sweep is built on it.
//   - DialConn(ctx, addr, opts) does the same but keeps the connection open
//     as a Conn, for programs that go on talking, such as crawlers. The
//     Result is returned beside the Conn, not kept in it: on failure there
//     is no Conn, so the Result must be returned anyway, and one copy is
//     enough. A Conn over a connection made another way (a proxy, a pipe,
//     a connection the caller already holds) comes from a Dialer in
//     Options.Dialer, as SOCKS5 makes one: a Conn owns its connection
//     whichever way it was made, so one call serves every case.
//   - Handshake(ctx, conn, opts) handshakes over a connection the caller
//     made and goes on owning (a pipe in tests, a connection handed over by
//     other code): it never closes conn, whatever happens, where Dial with a
//     Dialer returning conn would close it. It cannot fall back from v2 to
//     v1, which needs a new connection.
//
// Every call returns a Result even on failure, holding everything learned
// up to that point, and an *Error naming the address and the step that
// failed, whose chain matches the package's sentinels (ErrWrongNetwork,
// ErrSelfConnection, ...) or context.DeadlineExceeded and context.Canceled.
// A Result encodes to JSON and reads back; errors come back as their text.
//
// # The exchange
//
// The verdict is the one Bitcoin Core reaches on the same bytes (see
// CONFORMANCE.md): Dial speaks the BIP324 v2 encrypted transport and falls
// back to v1 for peers that speak only v1 (Options.Transport); we send our
// version first, at protocol 70017, and accept BIP434 feature messages
// (Result.Features); feature negotiation (wtxidrelay, sendaddrv2, ...) is
// listed in Result.Negotiation; what Core ignores or drops (a message before
// the version, a second version, a bad checksum, an undecodable version or
// message type, commands Core does not take before verack) is skipped and
// listed in Result.Ignored, never mistaken for a failure; what Core
// disconnects on (another network, an obsolete version, our own nonce; a
// malformed or premature feature message only with Options.StrictFeatures,
// since the released Core ignores it) fails with a typed error. A peer gets bounded
// work: the bytes and messages it may send before its verack are capped
// (Options.MaxBytes, Options.MaxMessages), ignored ones included, and no
// buffer is sized from a length it claims, before or after the handshake.
//
// The context bounds every call, together with Options.Timeout: its deadline
// becomes the connection's deadline, and cancelling it unblocks the call at
// once. No goroutine started by a call outlives it.
//
// # Beyond one handshake
//
// Sweep handshakes with every address a network's DNS seeds name;
// ResolveSeeds gives those addresses to programs that dial on their own.
// Conn reads and writes btcd's wire/v2 messages over either transport,
// Conn.Ping measures a round trip, and GetAddrs gathers the addresses a node
// knows. NewTor and SOCKS5 reach .onion addresses through Tor, NewI2P
// reaches I2P through a router's SAM 3.1 bridge, and ByNetwork routes each
// address to its network's dialer (see docs/networks.md).
//
// Package crawl (github.com/bitcoin-handshake/handshake/crawl) maps a whole
// network with these calls, following the address gossip from node to node.
//
// # Compatibility
//
// Conn reads and writes btcd's wire/v2 message types on purpose: the
// package wraps btcd's codec rather than copying it. The module's major
// version therefore moves with wire/v2's: a wire/v3 means a v2 of this
// module. chaincfg/v2's Params stays as the description of a network for
// the same reason. No other module's types appear in the API.
//
// The handshaketest package provides fake nodes, simulated networks and a
// fake DNS seed on loopback for testing code built on this one.
package handshake
