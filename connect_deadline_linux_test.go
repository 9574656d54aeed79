//go:build linux

package handshake_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
)

// hangingListener returns the address of a listening socket whose accept
// queue is full and never served, so that a connect to it hangs (Linux
// drops the SYN): a peer that never completes the TCP handshake.
func hangingListener(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	// Fill the queue: connects complete until it is full.
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("the accept queue never filled")
	return ""
}

// TestConnectDeadline: a connect that never completes ends at
// Options.Timeout, as a deadline error at the connect step, also when the
// caller's context can be cancelled but carries no deadline (where the
// time limit is the socket's, not a timer's); and cancelling the context
// ends it at once when there is no time limit.
func TestConnectDeadline(t *testing.T) {
	t.Parallel()
	addr := hangingListener(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, tr := range []handshake.Transport{handshake.TransportV1, handshake.TransportAuto} {
		start := time.Now()
		res, err := handshake.Dial(ctx, addr, handshake.Options{Timeout: 300 * time.Millisecond, Transport: tr})
		took := time.Since(start)
		var he *handshake.Error
		if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &he) || he.Step != handshake.StepConnect ||
			res.Status != handshake.StatusFailed {
			t.Errorf("%v: %v, want a deadline error at connect", tr, err)
		}
		if took < 250*time.Millisecond || took > 2500*time.Millisecond {
			t.Errorf("%v: took %v, want about the 300 ms time limit", tr, took)
		}
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel2)
	start := time.Now()
	_, err := handshake.Dial(ctx2, addr, handshake.Options{Timeout: -1})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("cancelled: took %v", took)
	}
}
