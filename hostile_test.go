package handshake_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

// Hostile peers against Dial: each must end with its documented error,
// within the caller's deadline, having read no more than the byte cap.

const (
	hostileDeadline = 2 * time.Second
	// deadlineSlack is how late past its deadline Dial may return: the
	// time to notice the deadline and unwind, with room for a loaded
	// machine under -race.
	deadlineSlack = 500 * time.Millisecond
)

// hostileCase is one hostile peer and the outcome it must lead to.
type hostileCase struct {
	name   string
	kind   handshaketest.Behavior
	opts   handshake.Options // Timeout is always -1: the deadline is the caller's
	status handshake.Status
	err    error // nil: completes
	also   error // a second error the chain must hold, if any
	step   handshake.Step
	// autoStep is the step under TransportAuto when it differs: a v1 peer
	// that neither answers nor hangs up holds Dial in the v2 key exchange.
	autoStep handshake.Step
	// ignored are the Result's Ignored messages, each as "command: " and
	// the start of the reason; nil leaves them unchecked (floods).
	ignored []string
}

func hostileCases() []hostileCase {
	failed, partial := handshake.StatusFailed, handshake.StatusPartiallyOK
	read1, read2 := handshake.StepReadVersion, handshake.StepReadVerack
	return []hostileCase{
		{name: "silence", kind: handshaketest.Silent,
			status: failed, err: context.DeadlineExceeded, step: read1, autoStep: handshake.StepKeyExchange},
		{name: "one byte per second", kind: handshaketest.SlowDrip,
			status: failed, err: context.DeadlineExceeded, step: read1},
		{name: "32 MiB version claim, then a trickle", kind: handshaketest.OversizedPayload,
			status: failed, err: handshake.ErrMessageTooLarge, step: read1},
		{name: "1 MiB unknown message claim, then a trickle", kind: handshaketest.OversizedUnknown,
			status: failed, err: handshake.ErrLimitExceeded, step: read1},
		// Core reads a version of any length up to its 4,000,000-byte
		// limit and ignores the bytes after the relay flag.
		{name: "version payload past its maximum", kind: handshaketest.VersionTooLarge,
			status: partial, err: context.DeadlineExceeded, step: read2},
		{name: "wrong magic", kind: handshaketest.WrongMagic,
			status: failed, err: handshake.ErrWrongNetwork, step: read1},
		{name: "bad checksum", kind: handshaketest.BadChecksum,
			status: failed, err: context.DeadlineExceeded, step: read1,
			ignored: []string{"version: bad checksum"}},
		{name: "garbage", kind: handshaketest.Garbage,
			status: failed, err: handshake.ErrWrongNetwork, step: read1},
		{name: "256-byte user agent", kind: handshaketest.MaxUserAgent,
			status: handshake.StatusOK},
		{name: "257-byte user agent", kind: handshaketest.UserAgentTooLong,
			status: failed, err: context.DeadlineExceeded, step: read1,
			ignored: []string{"version: undecodable version: user agent", "verack: before version"}},
		{name: "duplicate version", kind: handshaketest.DuplicateVersion,
			status: handshake.StatusOK, ignored: []string{"version: redundant version"}},
		{name: "verack before version", kind: handshaketest.VerackBeforeVersion,
			status: handshake.StatusOK, ignored: []string{"verack: before version"}},
		{name: "endless unknown messages", kind: handshaketest.UnknownFlood,
			status: partial, err: handshake.ErrLimitExceeded, step: read2},
		{name: "endless pings", kind: handshaketest.PingFlood,
			status: failed, err: handshake.ErrLimitExceeded, step: read1},
		{name: "endless 16 KiB messages", kind: handshaketest.ByteFlood,
			status: partial, err: handshake.ErrLimitExceeded, step: read2},
		{name: "endless 16 KiB messages, 20 KiB cap", kind: handshaketest.ByteFlood, opts: handshake.Options{MaxBytes: 20 << 10},
			status: partial, err: handshake.ErrLimitExceeded, step: read2},
		{name: "reset mid-version", kind: handshaketest.ResetMidVersion,
			status: failed, err: handshake.ErrPeerClosed, also: syscall.ECONNRESET, step: read1},
		{name: "half-close mid-header", kind: handshaketest.HalfClose,
			status: failed, err: handshake.ErrPeerClosed, step: read1},
		{name: "close after version", kind: handshaketest.CloseAfterVersion,
			status: partial, err: handshake.ErrPeerClosed, step: read2},
		{name: "own version echoed", kind: handshaketest.SelfEcho,
			status: partial, err: handshake.ErrSelfConnection, step: read1},
		{name: "too old", kind: handshaketest.TooOld,
			status: partial, err: handshake.ErrPeerTooOld, step: read1},
		// Its claim comes after the handshake, for a Conn to face
		// (TestConnClaimAllocatesLittle).
		{name: "claim after the handshake", kind: handshaketest.ClaimAfterHandshake,
			status: handshake.StatusOK, ignored: []string{}},
	}
}

// TestHostilePeers runs every hostile peer against Dial bounded by the
// caller's deadline alone, over v1 and with the default TransportAuto, which
// first tries v2 and falls back to v1 when these v1-only peers hang up.
func TestHostilePeers(t *testing.T) {
	t.Parallel()
	for _, transport := range []handshake.Transport{handshake.TransportV1, handshake.TransportAuto} {
		for _, tt := range hostileCases() {
			t.Run(transport.String()+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				step := tt.step
				if transport == handshake.TransportAuto && tt.autoStep != "" {
					step = tt.autoStep
				}
				tt.run(t, transport, step)
			})
		}
	}
}

func (tt hostileCase) run(t *testing.T, transport handshake.Transport, step handshake.Step) {
	peer := startPeer(t, tt.config())
	opts := tt.opts
	opts.Timeout = -1
	opts.Transport = transport
	maxBytes := opts.MaxBytes
	if maxBytes == 0 {
		maxBytes = handshake.DefaultMaxBytes
	}
	start := time.Now()
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(hostileDeadline))
	defer cancel()
	res, err := handshake.Dial(ctx, peer.Addr(), opts)
	took := time.Since(start)

	if took > hostileDeadline+deadlineSlack {
		t.Errorf("Dial returned after %v, past the %v deadline", took, hostileDeadline)
	}
	// Well before the deadline, with room for 60 parallel dials under
	// -race on two busy cores.
	if tt.err != context.DeadlineExceeded && took > hostileDeadline*3/4 {
		t.Errorf("Dial took %v to fail with %v: it should not need the deadline", took, err)
	}
	if res.Status != tt.status || res.Err != err {
		t.Errorf("Status %v (Result.Err %v), want %v", res.Status, res.Err, tt.status)
	}
	if res.BytesReceived > int64(maxBytes) {
		t.Errorf("read %d bytes, past the %d-byte cap", res.BytesReceived, maxBytes)
	}
	if len(res.Received) > handshake.DefaultMaxMessages {
		t.Errorf("read %d messages, past the cap of %d", len(res.Received), handshake.DefaultMaxMessages)
	}
	if tt.ignored != nil && step == tt.step { // (not when the v2 attempt was all there was)
		checkIgnored(t, res.Ignored, tt.ignored)
	}
	if tt.err == nil {
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		return
	}
	var he *handshake.Error
	if !errors.Is(err, tt.err) || tt.also != nil && !errors.Is(err, tt.also) || !errors.As(err, &he) || he.Step != step {
		t.Fatalf("err = %v, want an *Error at %q holding %v %v", err, step, tt.err, tt.also)
	}
	t.Logf("%v after %v, %d bytes read", err, took.Round(time.Millisecond), res.BytesReceived)
}

// checkIgnored compares ignored with want, each "command: reason prefix".
func checkIgnored(t *testing.T, ignored []handshake.Ignored, want []string) {
	t.Helper()
	ok := len(ignored) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = strings.HasPrefix(ignored[i].Command+": "+ignored[i].Reason, want[i])
	}
	if !ok {
		t.Errorf("Ignored = %q, want %q", ignored, want)
	}
}

// config is the peer's Config.
func (c hostileCase) config() handshaketest.Config {
	return handshaketest.Config{Behavior: c.kind}
}

// TestHostileCasesCoverHostileKinds keeps the matrix complete as hostile
// peers are added to handshaketest.
func TestHostileCasesCoverHostileKinds(t *testing.T) {
	t.Parallel()
	covered := map[fmt.Stringer]bool{}
	for _, c := range hostileCases() {
		covered[c.kind] = true
	}
	for _, h := range handshaketest.HostileBehaviors() {
		if !covered[h] {
			t.Errorf("no case runs the %v peer", h)
		}
	}
}
