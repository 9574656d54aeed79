package handshaketest

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/bitcoin-handshake/handshake/internal/p2p"
	"github.com/btcsuite/btcd/wire/v2"
)

// Serve runs cfg's behaviour (or cfg.Handler) over conn, a connection the
// caller made, such as one end of net.Pipe. It closes conn before returning,
// and returns when the behaviour ends, the client hangs up (nil), or ctx is
// done (ctx.Err()). cfg.Addr is ignored.
func Serve(ctx context.Context, conn net.Conn, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		conn.Close()
		return err
	}
	return serve(ctx, newConn(conn, cfg, nil))
}

// serve runs c's behaviour and owns c's connection.
func serve(ctx context.Context, c *Conn) error {
	// Closing the connection is the only way to interrupt a blocked Read
	// or Write, so ctx is tied to it.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		c.nc.Close()
		close(closed)
	})
	var err error
	if c.cfg.speaksV2() {
		err = c.acceptV2()
	}
	if err == nil {
		err = run(ctx, c)
	}
	if !stop() {
		<-closed // the AfterFunc goroutine must be gone when we return
	}
	c.nc.Close()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if hangup(err) {
		return nil
	}
	return err
}

// run dispatches to the Handler or the behaviour.
func run(ctx context.Context, c *Conn) error {
	if h := c.cfg.Handler; h != nil {
		return h(ctx, c)
	}
	switch c.cfg.Behavior {
	case Core:
		return serveCore(ctx, c)
	case Btcd:
		return serveBtcd(ctx, c)
	case Bcoin:
		return serveBcoin(ctx, c)
	case Old, TooOld:
		return serveMinimal(ctx, c)
	case Silent:
		return drain(c)
	case SlowDrip:
		return serveSlowDrip(ctx, c)
	case CloseAfterVersion:
		return serveCloseAfterVersion(ctx, c)
	case VerackBeforeVersion:
		return serveVerackBeforeVersion(ctx, c)
	case VersionTooLarge:
		return serveVersionTooLarge(ctx, c)
	case MaxUserAgent:
		return serveUserAgent(ctx, c, wire.MaxUserAgentLen)
	case UserAgentTooLong:
		return serveUserAgent(ctx, c, wire.MaxUserAgentLen+1)
	case DuplicateVersion:
		return serveDuplicateVersion(ctx, c)
	case PingFlood:
		return servePingFlood(ctx, c)
	case OversizedUnknown:
		return serveOversizedUnknown(ctx, c)
	case ByteFlood:
		return serveByteFlood(ctx, c)
	case ResetMidVersion:
		return serveResetMidVersion(ctx, c)
	case HalfClose:
		return serveHalfClose(ctx, c)
	case ClaimAfterHandshake:
		return serveClaimAfterHandshake(ctx, c)
	case WrongMagic:
		return serveWrongMagic(ctx, c)
	case BadChecksum:
		return serveBadChecksum(ctx, c)
	case OversizedPayload:
		return serveOversized(ctx, c)
	case Garbage:
		return serveGarbage(ctx, c)
	case SelfEcho:
		return serveSelfEcho(ctx, c)
	case UnknownFlood:
		return serveUnknownFlood(ctx, c)
	}
	return errors.New("handshaketest: unreachable behaviour") // withDefaults validated it
}

// hangup reports errors that just mean the client went away, or that the
// peer was closed under the handler (net.ErrClosed).
func hangup(err error) bool {
	return err == nil || p2p.HungUp(err) || errors.Is(err, net.ErrClosed)
}

// sleep waits d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
