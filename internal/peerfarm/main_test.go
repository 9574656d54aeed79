package main

import (
	"bufio"
	"context"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bitcoin-handshake/handshake"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseSpec(t *testing.T) {
	t.Parallel()
	configs := newConfigs(new(atomic.Int64))
	names, err := parseSpec("Core=3, Silent=1,PingFlood=2,Btcd=0,Sink=1", configs)
	if err != nil {
		t.Fatal(err)
	}
	sorted := slices.Sorted(slices.Values(names))
	if want := []string{"Core", "Core", "Core", "PingFlood", "PingFlood", "Silent", "Sink"}; !slices.Equal(sorted, want) {
		t.Errorf("names %q, want %q in some order", names, want)
	}
	again, _ := parseSpec("Core=3, Silent=1,PingFlood=2,Btcd=0,Sink=1", configs)
	if !slices.Equal(names, again) {
		t.Errorf("order not fixed: %q then %q", names, again)
	}
	for _, bad := range []string{"", "Core", "Core=x", "Nobody=1", "Core=-1", "Core=0", "Core=50001"} {
		if _, err := parseSpec(bad, configs); err == nil {
			t.Errorf("parseSpec(%q) accepted", bad)
		}
	}
}

// TestRun serves a small farm, handshakes with its peers, queries its
// counters, and checks that closing standard input stops it.
func TestRun(t *testing.T) {
	t.Parallel()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"-first", "127.43.0.1", "Core=2,DuplicateVersion=1,Sink=1"}, inR, outW, io.Discard)
		outW.Close()
	}()
	out := bufio.NewScanner(outR)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := map[string]handshake.Status{}
	for out.Scan() && out.Text() != "" {
		addr, name, _ := strings.Cut(out.Text(), "\t")
		// v1, so that each Dial is one connection; the Sink's is cut
		// short once it has received our version.
		res, _ := handshake.Dial(ctx, addr, handshake.Options{Transport: handshake.TransportV1, Timeout: 200 * time.Millisecond})
		got[name] = res.Status
	}
	if got["Core"] != handshake.StatusOK || got["DuplicateVersion"] != handshake.StatusOK || got["Sink"] != handshake.StatusFailed || len(got) != 3 {
		t.Errorf("statuses %v", got)
	}
	// Each peer records a version, and the Sink its first byte, before
	// Dial can return, so the counts are exact.
	for cmd, want := range map[string]string{"accepted": "4", "received version": "3", "touched": "1", "bogus": "error"} {
		io.WriteString(inW, cmd+"\n")
		if !out.Scan() || !strings.HasPrefix(out.Text(), want) {
			t.Errorf("%s: %q, want %s", cmd, out.Text(), want)
		}
	}
	inW.Close()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d", code)
		}
	case <-ctx.Done():
		t.Fatal("run did not return after stdin closed")
	}
	io.Copy(io.Discard, outR)
}
