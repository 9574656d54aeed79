// Package handshake performs the Bitcoin P2P handshake, the exchange of
// version and verack messages, with a node and reports what happened.
//
// Dial connects and handshakes; Handshake does the same over a connection the
// caller made. Both return a Result even on failure, holding everything
// learned up to that point, and an *Error naming the address and the step
// that failed, whose chain matches the package's sentinels (ErrWrongNetwork,
// ErrSelfConnection, ...) or context.DeadlineExceeded and context.Canceled.
//
// The exchange follows Bitcoin Core: Dial speaks the BIP324 v2 encrypted
// transport and falls back to v1 for peers that speak only v1
// (Options.Transport); we send our version first; messages a modern node
// sends around the handshake (wtxidrelay, sendaddrv2, sendtxrcncl, sendcmpct
// and commands not yet known) are recorded and skipped, never mistaken for a
// failure. A peer gets bounded work: the bytes and messages it may send
// before its verack are capped (Options.MaxBytes, Options.MaxMessages) and
// no buffer is sized from a length it claims.
//
// The context bounds every call, together with Options.Timeout: its deadline
// becomes the connection's deadline, and cancelling it unblocks the call at
// once. No goroutine started by a call outlives it.
//
// Sweep handshakes with every address a network's DNS seeds name;
// ResolveSeeds gives those addresses to programs that dial on their own. DialConn
// keeps the connection open for programs that go on talking, such as
// crawlers: Conn reads and writes btcd's wire/v2 messages over either
// transport and GetAddrs gathers the addresses a node knows. SOCKS5 reaches
// .onion addresses through Tor.
//
// Conn reads and writes btcd's wire/v2 message types on purpose: the
// package wraps btcd's codec rather than copying it. The module's major
// version therefore moves with wire/v2's: a wire/v3 means a v2 of this
// module. No other module's types appear in the API (chaincfg/v2's Params
// describes a network, and is kept for the same reason).
//
// The handshaketest package provides fake nodes, simulated networks and a
// fake DNS seed on loopback for testing code built on this one.
package handshake
