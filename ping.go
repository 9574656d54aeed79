package handshake

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
)

// StepPing names a failure of Conn.Ping.
const StepPing Step = "ping"

// Ping sends a ping carrying a random nonce and waits for the pong that
// echoes it, returning the round-trip time: from the ping's write to the
// pong's arrival. Messages that arrive in between are read and dropped
// (pings among them answered, unless Options.NoPong), as are pongs with
// another nonce, which Bitcoin Core also ignores. A peer at protocol
// version 60000 (BIP 31) or below has no pong: Ping fails at once with
// ErrProtocolViolation and sends nothing.
//
// ctx bounds the call as in ReadMessage; the Conn must not be read by
// another goroutine meanwhile. Errors are *Error with Step StepPing, or
// StepRead and StepWrite for the I/O.
func (c *Conn) Ping(ctx context.Context) (time.Duration, error) {
	if c.pver <= wire.BIP0031Version {
		return 0, &Error{Addr: c.addr, Step: StepPing,
			Err: fmt.Errorf("%w: protocol version %d has no pong", ErrProtocolViolation, c.pver)}
	}
	var nonce [8]byte
	binary.LittleEndian.PutUint64(nonce[:], rand.Uint64())
	start := time.Now()
	if err := c.write(ctx, wire.CmdPing, nonce[:]); err != nil {
		return 0, err
	}
	for {
		cmd, payload, err := c.next(ctx)
		if err != nil {
			return 0, err
		}
		if cmd == wire.CmdPong && len(payload) == len(nonce) && [8]byte(payload) == nonce {
			return time.Since(start), nil
		}
	}
}
