package handshake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/bitcoin-handshake/handshake/internal/p2p"
)

// Sentinel errors, matched with errors.Is. A failed call returns an *Error
// whose chain holds one of these, or context.DeadlineExceeded /
// context.Canceled when the time limit ended the call, or the underlying
// network error.
var (
	// ErrInvalidOptions reports Options that cannot work.
	ErrInvalidOptions = errors.New("invalid options")

	// ErrWrongNetwork reports a peer of another network: a v1 message
	// carrying another network's magic, or a v2 peer whose garbage
	// terminator is the one derived for another known network.
	ErrWrongNetwork = errors.New("wrong network magic")

	// ErrMalformed reports a message Bitcoin Core disconnects on for its
	// content: a BIP434 feature message that does not parse. (What Core
	// drops and reads past instead, such as a bad checksum, an invalid
	// command or an undecodable version, is listed in Result.Ignored.)
	ErrMalformed = errors.New("malformed message")

	// ErrMessageTooLarge reports a header whose claimed payload exceeds
	// Bitcoin Core's 4,000,000 bytes, or after the handshake the maximum
	// for its command. The payload is never read.
	ErrMessageTooLarge = errors.New("message too large")

	// ErrLimitExceeded reports a peer that sent more bytes or messages than
	// Options.MaxBytes or Options.MaxMessages allow before the handshake
	// completed, or more addresses than AddrOptions.MaxAddrs.
	ErrLimitExceeded = errors.New("limit exceeded")

	// ErrProtocolViolation reports a message Bitcoin Core disconnects on
	// for when it came: a feature message from a peer below protocol
	// version 70017. (A verack before the version, or a second version,
	// Core ignores: see Result.Ignored.)
	ErrProtocolViolation = errors.New("protocol violation")

	// ErrSelfConnection reports a version carrying our own nonce: we are
	// talking to ourselves, typically through a proxy or NAT loop.
	ErrSelfConnection = errors.New("connected to self")

	// ErrPeerTooOld reports a peer whose protocol version is below
	// Options.MinPeerVersion.
	ErrPeerTooOld = errors.New("peer protocol version too old")

	// ErrV1Only reports a peer that does not speak the v2 transport: it
	// hung up on our v2 key before sending anything, or answered in v1.
	// With TransportAuto, Dial then falls back to v1.
	ErrV1Only = errors.New("peer speaks only the v1 transport")

	// ErrPeerClosed reports a peer that closed or reset the connection
	// before the handshake completed.
	ErrPeerClosed = errors.New("peer closed the connection")
)

// Step names the stage of the exchange at which a call failed.
type Step string

// The steps of a handshake, in order.
const (
	StepOptions     Step = "options"      // checking Options
	StepConnect     Step = "connect"      // opening the connection (Dial only)
	StepKeyExchange Step = "key exchange" // the BIP324 v2 handshake
	StepSendVersion Step = "send version" // writing our version
	StepReadVersion Step = "read version" // waiting for the peer's version
	StepSendVerack  Step = "send verack"  // writing our feature messages and verack
	StepReadVerack  Step = "read verack"  // waiting for the peer's verack

	// After the handshake, on a Conn.
	StepRead    Step = "read"    // Conn.ReadMessage
	StepWrite   Step = "write"   // Conn.WriteMessage, or answering a ping
	StepGetAddr Step = "getaddr" // GetAddrs judging the answers
)

// Error is the error returned by Dial, Handshake and the Conn calls. It names the peer and the
// step that failed; Err holds the cause, usually wrapping one of the package's
// sentinels or a context error.
type Error struct {
	Addr string // the peer's address as dialled, or the connection's remote address
	Step Step
	Err  error
}

func (e *Error) Error() string {
	if e.Addr == "" {
		return fmt.Sprintf("handshake: %s: %v", e.Step, e.Err)
	}
	return fmt.Sprintf("handshake: %s: %s: %v", e.Addr, e.Step, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// failed completes a Result for a failed call and wraps err once.
func failed(res *Result, step Step, err error, start time.Time) error {
	res.Timings.Total = time.Since(start)
	e := &Error{Addr: res.Addr, Step: step, Err: err}
	res.Err = e
	return e
}

// failedEarly is failed for a call that ended before it had a session.
func failedEarly(addr string, t Transport, step Step, err error, start time.Time) (*Result, error) {
	res := &Result{Addr: addr, Transport: t}
	return res, failed(res, step, err, start)
}

// classify turns I/O errors into the package's error classes. A deadline
// error on the connection means a context ended, since deadlines are only
// ever set from one: the caller's ctx is asked first because its
// cancellation may not yet have reached bounded, derived from it.
func classify(ctx, bounded context.Context, err error) error {
	ended := errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
	switch {
	case !ended && classified(err):
		return err
	case ended && ctx.Err() != nil:
		return ctx.Err()
	case ended && bounded.Err() != nil:
		return bounded.Err()
	case ended:
		return context.DeadlineExceeded
	case p2p.HungUp(err):
		return fmt.Errorf("%w: %w", ErrPeerClosed, err)
	}
	return err
}

// classified reports whether err already carries one of our classes, such as
// ErrV1Only wrapping the reset that revealed it.
func classified(err error) bool {
	for _, class := range [...]error{ErrV1Only, ErrPeerClosed, ErrMalformed, ErrProtocolViolation,
		ErrLimitExceeded, ErrMessageTooLarge, ErrWrongNetwork, ErrSelfConnection, ErrPeerTooOld,
		ErrProxyDown, ErrProxyRefused, ErrInvalidAddress} {
		if errors.Is(err, class) {
			return true
		}
	}
	return false
}
