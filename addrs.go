package handshake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
)

// Defaults applied to zero-valued AddrOptions fields.
const (
	// DefaultMaxAddrs caps the addresses GetAddrs accepts. Bitcoin Core
	// answers a getaddr with at most 1,000.
	DefaultMaxAddrs = 5000

	// DefaultAddrWait is how long GetAddrs waits for a first addr or
	// addrv2 message after its getaddr.
	DefaultAddrWait = 10 * time.Second

	// DefaultAddrQuiet is how long GetAddrs waits for another addr or
	// addrv2 message after the last one.
	DefaultAddrQuiet = 2 * time.Second

	// DefaultAddrLimit bounds a whole GetAddrs call, so that a peer
	// trickling small addr messages cannot hold it open forever.
	DefaultAddrLimit = 30 * time.Second
)

// answerMin is the size from which an addr message is taken for the answer
// to getaddr: Bitcoin Core relays gossip in messages of at most 10
// addresses, and answers getaddr in one message of up to 1,000.
const answerMin = 11

// AddrOptions configures GetAddrs. The zero value is ready to use.
type AddrOptions struct {
	// MaxAddrs caps the addresses accepted; a peer sending more is cut
	// off with ErrLimitExceeded. Default: DefaultMaxAddrs.
	MaxAddrs int

	// Wait is how long to wait for the first addr or addrv2 message.
	// Default: DefaultAddrWait.
	Wait time.Duration

	// Quiet is how long to wait for another message after the last one
	// that brought addresses. Default: DefaultAddrQuiet.
	Quiet time.Duration

	// Limit bounds the whole call, whatever the peer sends; the earlier of
	// it and ctx's deadline applies. Default: DefaultAddrLimit.
	Limit time.Duration
}

// GetAddrs asks the peer for addresses (getaddr) and gathers its addr and
// addrv2 messages, skipping others and answering pings. It stops at the
// first of:
//   - an answer of 11 to 999 addresses, which is the whole of a getaddr
//     answer (a full message of 1,000 may be followed by more);
//   - Wait without any address message, or Quiet after the last one that
//     brought addresses (an empty one does not extend it);
//   - ctx's deadline or Limit, which like Wait and Quiet are normal ends;
//   - more than MaxAddrs addresses: the first MaxAddrs are returned with
//     an ErrLimitExceeded error, and the caller should close c;
//   - any other error, such as ctx being cancelled or the peer leaving,
//     returned with the addresses gathered so far.
//
// Addresses of networks it cannot name (Tor v2, unknown BIP155 ids) are
// skipped, as Bitcoin Core skips them. Errors are *Error.
func GetAddrs(ctx context.Context, c *Conn, opts AddrOptions) ([]Addr, error) {
	maxAddrs := orDefault(opts.MaxAddrs, DefaultMaxAddrs)
	wait, quiet, limit := opts.Wait, opts.Quiet, opts.Limit
	if wait <= 0 {
		wait = DefaultAddrWait
	}
	if quiet <= 0 {
		quiet = DefaultAddrQuiet
	}
	if limit <= 0 {
		limit = DefaultAddrLimit
	}
	if err := c.write(ctx, wire.CmdGetAddr, nil); err != nil {
		return nil, err
	}
	var addrs []Addr
	start := time.Now()
	end := start.Add(limit)
	until := start.Add(wait)
	for {
		rctx, cancel := context.WithDeadline(ctx, minTime(until, end))
		cmd, payload, err := c.next(rctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
			return addrs, nil // Wait or Quiet passed
		case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
			return addrs, nil // the caller's deadline
		case err != nil:
			return addrs, err
		case cmd != wire.CmdAddr && cmd != wire.CmdAddrV2:
			continue
		}
		got, err := decodeAddrs(cmd, payload, c.pver)
		if err != nil {
			return addrs, &Error{Addr: c.addr, Step: StepRead, Err: err}
		}
		if len(addrs)+len(got) > maxAddrs {
			addrs = append(addrs, got[:maxAddrs-len(addrs)]...)
			return addrs, &Error{Addr: c.addr, Step: StepGetAddr,
				Err: fmt.Errorf("%w: more than %d addresses", ErrLimitExceeded, maxAddrs)}
		}
		addrs = append(addrs, got...)
		if n := len(got); n >= answerMin && n < wire.MaxAddrPerMsg {
			return addrs, nil
		}
		if len(got) > 0 {
			until = time.Now().Add(quiet)
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// decodeAddrs decodes an addr or addrv2 payload.
func decodeAddrs(cmd string, payload []byte, pver uint32) ([]Addr, error) {
	if cmd == wire.CmdAddrV2 {
		return decodeAddrV2(payload)
	}
	var m wire.MsgAddr
	if err := m.BtcDecode(bytes.NewBuffer(payload), pver, wire.BaseEncoding); err != nil {
		return nil, fmt.Errorf("%w: addr: %v", ErrMalformed, err)
	}
	addrs := make([]Addr, 0, len(m.AddrList))
	for _, na := range m.AddrList {
		if a, ok := addrFromIP(na.IP, na.Port, na.Services, na.Timestamp); ok {
			addrs = append(addrs, a)
		}
	}
	return addrs, nil
}

// String returns "host:port", as Dial accepts it.
func (a Addr) String() string {
	return net.JoinHostPort(a.Host, strconv.Itoa(int(a.Port)))
}
