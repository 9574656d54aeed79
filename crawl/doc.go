// Package crawl maps a Bitcoin network by following address gossip: it
// handshakes with each address (package handshake), asks the node for the
// addresses it knows (getaddr), measures a round trip with a ping, hangs
// up, and visits the addresses it learned, until none is left.
//
// Each visit is handshake.DialConn, handshake.GetAddrs and Conn.Ping from
// package github.com/bitcoin-handshake/handshake, which is the place to
// handshake with addresses already known (Dial, Sweep).
//
// Crawl runs a work queue, not levels: Options.Concurrency visits stay in
// flight while any address is pending, so the many gossiped addresses
// whose connects hang (most of them, on the real network) cost only
// Limits.Connect each and never hold up the rest. Every admitted address
// yields exactly one Result, streamed to the caller as it completes, also
// when the context ends first (Err then wraps ErrNotVisited).
//
// Transport per address as Bitcoin Core chooses it: v1 where the gossiped
// services lack NODE_P2P_V2, BIP324 v2 where they include it or are unknown
// (start targets), reconnecting in v1 only when the node hangs up on the v2
// key, so a crawl opens one connection per address in the common case.
//
// State is bounded (Options.MaxKnown distinct addresses, Options.MaxAddrs
// from one node's answer) and a crawl can be resumed: pass the addresses
// already visited in Options.Seen and the unvisited ones as start targets.
// A long-running program that keeps its own table of nodes can keep
// gossip from re-admitting them with Options.Admit and learn every address
// from Result.Addrs.
//
// It is polite by default: the library's user agent, no transaction
// relay, one connection per address, and an optional cap on visits at
// once per network group (Options.PerNetgroup).
package crawl
