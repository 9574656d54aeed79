// Package handshake performs the Bitcoin P2P handshake, the exchange of
// version and verack messages, with a node and reports what happened.
//
// Dial connects and handshakes; Handshake does the same over a connection the
// caller made. Both return a Result even on failure, holding everything
// learned up to that point, and an *Error naming the address and the step
// that failed, whose chain matches the package's sentinels (ErrWrongNetwork,
// ErrSelfConnection, ...) or context.DeadlineExceeded and context.Canceled.
//
// The exchange follows Bitcoin Core: we send our version first; messages a
// modern node sends around the handshake (wtxidrelay, sendaddrv2,
// sendtxrcncl, sendcmpct and commands not yet known) are recorded and
// skipped, never mistaken for a failure. A peer gets bounded work: the bytes
// and messages it may send before its verack are capped (Options.MaxBytes,
// Options.MaxMessages) and no buffer is sized from a length it claims.
//
// The context bounds every call, together with Options.Timeout: its deadline
// becomes the connection's deadline, and cancelling it unblocks the call at
// once. No goroutine started by a call outlives it.
package handshake
