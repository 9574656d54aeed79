//go:build linux

// Linux only: the peers sit on thousands of 127.x.y.z addresses, which only
// Linux routes without configuration, and the descriptor counts come from
// /proc/self/fd.

package handshake_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bitcoin-handshake/handshake"
)

// peerFarm is an internal/peerfarm process: thousands of handshaketest
// peers in a process of their own, built without -race, since the race
// detector aborts beyond 8,128 goroutines.
type peerFarm struct {
	addrs []string
	names map[string]string // address → behaviour or hostile peer name
	in    io.WriteCloser
	out   *bufio.Scanner
}

// buildPeerFarm builds internal/peerfarm into a temporary directory.
func buildPeerFarm(tb testing.TB) string {
	tb.Helper()
	// go test puts its own go first on PATH.
	goTool, err := exec.LookPath("go")
	if err != nil {
		tb.Fatal(err)
	}
	bin := filepath.Join(tb.TempDir(), "peerfarm")
	cmd := exec.Command(goTool, "build", "-o", bin, "./internal/peerfarm")
	cmd.Env = append(os.Environ(), "GOFLAGS=") // never -race, whatever the caller's flags
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building the peer farm: %v\n%s", err, out)
	}
	return bin
}

// startPeerFarm starts a farm of the peers spec names ("Core=10,Silent=2")
// from the loopback address first and stops it when the test ends.
func startPeerFarm(tb testing.TB, first, spec string, drip time.Duration) *peerFarm {
	tb.Helper()
	cmd := exec.Command(buildPeerFarm(tb), "-first", first, "-drip", drip.String(), spec)
	// The kernel kills the farm if the test binary dies without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		in.Close() // the farm closes its peers and exits
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("peer farm: %v", err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			tb.Errorf("peer farm did not exit when its input closed")
		}
	})
	f := &peerFarm{names: map[string]string{}, in: in, out: bufio.NewScanner(stdout)}
	for f.out.Scan() && f.out.Text() != "" {
		addr, name, _ := strings.Cut(f.out.Text(), "\t")
		f.addrs = append(f.addrs, addr)
		f.names[addr] = name
	}
	if len(f.addrs) == 0 {
		tb.Fatal("peer farm started no peer")
	}
	return f
}

// query asks the farm for a counter: "accepted", "touched" or
// "received <cmd>".
func (f *peerFarm) query(tb testing.TB, q string) int {
	tb.Helper()
	if _, err := fmt.Fprintln(f.in, q); err != nil {
		tb.Fatal(err)
	}
	if !f.out.Scan() {
		tb.Fatalf("peer farm: no answer to %q", q)
	}
	n, err := strconv.Atoi(f.out.Text())
	if err != nil {
		tb.Fatalf("peer farm: %q answered %q", q, f.out.Text())
	}
	return n
}

// openFDs counts the process's open file descriptors, -1 if it cannot.
func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

// settles waits up to 5 s for the goroutines and descriptors to return to
// at most their starting level, and reports where they stopped.
func settles(tb testing.TB, goroutines, fds int) (int, int, bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g, f := runtime.NumGoroutine(), openFDs()
		if g <= goroutines && f <= fds {
			return g, f, true
		}
		if time.Now().After(deadline) {
			return g, f, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// outcome is what a sweep must report for one kind of peer.
type outcome struct {
	status handshake.Status
	err    error // nil: no error
}

// loadMix is the load test's network: 70% well-behaved nodes, 30% hostile.
var loadMix = []struct {
	name  string
	count int
	want  outcome
}{
	{"Core", 5000, outcome{handshake.StatusOK, nil}},
	{"Btcd", 1000, outcome{handshake.StatusOK, nil}},
	{"Bcoin", 500, outcome{handshake.StatusOK, nil}},
	{"Old", 500, outcome{handshake.StatusOK, nil}},
	// The peers that hold a slot for the whole timeout are kept to 5%:
	// they set the sweep's floor of count × timeout / concurrency.
	{"Silent", 250, outcome{handshake.StatusFailed, context.DeadlineExceeded}},
	{"SlowDrip", 250, outcome{handshake.StatusFailed, context.DeadlineExceeded}},
	{"CloseAfterVersion", 400, outcome{handshake.StatusPartiallyOK, handshake.ErrPeerClosed}},
	{"Garbage", 300, outcome{handshake.StatusFailed, handshake.ErrWrongNetwork}},
	{"WrongMagic", 300, outcome{handshake.StatusFailed, handshake.ErrWrongNetwork}},
	{"BadChecksum", 200, outcome{handshake.StatusFailed, context.DeadlineExceeded}}, // dropped, as Core drops it
	{"UnknownFlood", 300, outcome{handshake.StatusPartiallyOK, handshake.ErrLimitExceeded}},
	{"PingFlood", 300, outcome{handshake.StatusFailed, handshake.ErrLimitExceeded}},
	{"ByteFlood", 300, outcome{handshake.StatusPartiallyOK, handshake.ErrLimitExceeded}},
	{"ResetMidVersion", 200, outcome{handshake.StatusFailed, handshake.ErrPeerClosed}},
	{"HalfClose", 200, outcome{handshake.StatusFailed, handshake.ErrPeerClosed}},
}

// TestSweepLoad sweeps 10,000 peers, 30% of them hostile: every address
// yields exactly one Result with the outcome its peer calls for, and the
// process's goroutines and file descriptors return to their starting level.
// It is not parallel: it counts the whole process's goroutines and
// descriptors, and paused parallel tests hold theirs steady.
func TestSweepLoad(t *testing.T) {
	const (
		// Far below the race detector's 8,128-goroutine cap, and low
		// enough that a well-behaved peer's wait for a slot stays well
		// within its timeout on a busy 2-core machine, where other test
		// packages run alongside.
		concurrency = 250
		timeout     = 2 * time.Second
	)
	var specs []string
	want := map[string]outcome{}
	wantStatus := map[handshake.Status]int{}
	total, hostile := 0, 0
	for _, m := range loadMix {
		specs = append(specs, fmt.Sprintf("%s=%d", m.name, m.count))
		want[m.name] = m.want
		total += m.count
		wantStatus[m.want.status] += m.count
		if m.want.status != handshake.StatusOK {
			hostile += m.count
		}
	}
	farm := startPeerFarm(t, "127.40.0.1", strings.Join(specs, ","), time.Second)
	if len(farm.addrs) != total {
		t.Fatalf("farm started %d peers, want %d", len(farm.addrs), total)
	}

	goroutines0, fds0 := runtime.NumGoroutine(), openFDs()
	if fds0 < 0 {
		t.Fatal("cannot count descriptors in /proc/self/fd")
	}
	// Peaks, sampled while the sweep runs.
	var peakG, peakFD int
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				peakG, peakFD = max(peakG, runtime.NumGoroutine()), max(peakFD, openFDs())
			}
		}
	})

	results := make(map[string]handshake.Result, total)
	dups := 0
	var slowestOK time.Duration
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := handshake.Sweep(ctx, handshake.SweepOptions{
		// v1: the farm's peers speak nothing else, and a v2 attempt
		// before each would double the connections and, under -race,
		// spend most of the time generating keys.
		Handshake:   handshake.Options{Timeout: timeout, Transport: handshake.TransportV1},
		Addrs:       farm.addrs,
		Concurrency: concurrency,
	}, func(r handshake.Result) { // never called concurrently
		if _, ok := results[r.Addr]; ok {
			dups++
		}
		results[r.Addr] = r
		if r.Status == handshake.StatusOK {
			slowestOK = max(slowestOK, r.Timings.Total)
		}
	})
	close(stop)
	sampler.Wait()
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}

	if dups != 0 || len(results) != total || sum.Addresses != total {
		t.Errorf("%d results (%d duplicates) for %d addresses, summary says %d", len(results), dups, total, sum.Addresses)
	}
	if sum.OK != wantStatus[handshake.StatusOK] || sum.PartiallyOK != wantStatus[handshake.StatusPartiallyOK] || sum.Failed != wantStatus[handshake.StatusFailed] {
		t.Errorf("summary %d/%d/%d completed/partial/failed, want %v", sum.OK, sum.PartiallyOK, sum.Failed, wantStatus)
	}
	wrong := map[string]int{}
	for _, addr := range farm.addrs {
		name := farm.names[addr]
		r, ok := results[addr]
		w := want[name]
		switch {
		case !ok:
			t.Errorf("%s (%s): no Result", addr, name)
		case r.Status != w.status || (w.err == nil) != (r.Err == nil) || w.err != nil && !errors.Is(r.Err, w.err):
			if wrong[name]++; wrong[name] <= 3 {
				t.Errorf("%s (%s): %v, %v; want %v, %v", addr, name, r.Status, r.Err, w.status, w.err)
			}
		case r.BytesReceived > handshake.DefaultMaxBytes:
			t.Errorf("%s (%s): read %d bytes, past the %d cap", addr, name, r.BytesReceived, handshake.DefaultMaxBytes)
		}
	}
	for name, n := range wrong {
		t.Errorf("%s: %d results with the wrong outcome", name, n)
	}

	g, f, ok := settles(t, goroutines0, fds0)
	if !ok {
		t.Errorf("after the sweep: %d goroutines, %d fds; at the start %d and %d", g, f, goroutines0, fds0)
	}
	t.Logf("%d peers (%d hostile), concurrency %d, timeout %v: %v (%.0f handshakes/s); completed %d, partial %d, failed %d; slowest completed %v",
		total, hostile, concurrency, timeout, sum.Elapsed.Round(time.Millisecond), float64(total)/sum.Elapsed.Seconds(),
		sum.OK, sum.PartiallyOK, sum.Failed, slowestOK.Round(time.Millisecond))
	t.Logf("goroutines %d → peak %d → %d; fds %d → peak %d → %d", goroutines0, peakG, g, fds0, peakFD, f)
}

// emfileChildEnv makes TestFDExhaustionChild act: it is set for the test
// binary that TestSweepFDExhaustion runs again.
const emfileChildEnv = "HANDSHAKE_EMFILE_CHILD"

// TestSweepFDExhaustion sweeps from a process whose RLIMIT_NOFILE is far
// below the sweep's concurrency: running out of descriptors must degrade
// into per-address connect errors, never a crash or a stuck sweep.
func TestSweepFDExhaustion(t *testing.T) {
	t.Parallel()
	const peers = 500
	farm := startPeerFarm(t, "127.41.0.1", fmt.Sprintf("Core=%d", peers), time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestFDExhaustionChild$", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), emfileChildEnv+"=1")
	cmd.Stdin = strings.NewReader(strings.Join(farm.addrs, "\n"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child sweep: %v (a crash or a stuck sweep)\n%s", err, out)
	}

	seen := map[string]int{}
	count := map[string]int{}
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimSpace(line), "\t")
		if f[0] != "result" || len(f) != 5 {
			continue
		}
		addr, status, step, emfile := f[1], f[2], f[3], f[4] == "emfile"
		seen[addr]++
		switch {
		case emfile && step == string(handshake.StepConnect):
			count["EMFILE at connect"]++
		case status == handshake.StatusOK.String():
			count["completed"]++
		default:
			t.Errorf("%s: %s at step %q (emfile %v): want completed or EMFILE at connect", addr, status, step, emfile)
		}
	}
	for _, a := range farm.addrs {
		if seen[a] != 1 {
			t.Errorf("%s: %d Results, want exactly one", a, seen[a])
		}
	}
	if len(seen) != peers {
		t.Errorf("%d addresses reported, want %d", len(seen), peers)
	}
	if count["EMFILE at connect"] == 0 || count["completed"] == 0 {
		t.Errorf("outcomes %v: want both EMFILE connect errors and completed handshakes", count)
	}
	t.Logf("RLIMIT_NOFILE 64, concurrency 200, %d peers: %v", peers, count)
}

// TestFDExhaustionChild is the child process of TestSweepFDExhaustion. Run
// by go test, without emfileChildEnv, it has nothing to do.
func TestFDExhaustionChild(t *testing.T) {
	if os.Getenv(emfileChildEnv) != "1" {
		return
	}
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		t.Fatal(err)
	}
	addrs := strings.Fields(string(in))
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = 64
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	// The default transport: each v1 peer takes a v2 attempt and a v1
	// reconnection, either of which may run out of descriptors.
	_, err = handshake.Sweep(ctx, handshake.SweepOptions{
		Handshake:   handshake.Options{Timeout: 10 * time.Second},
		Addrs:       addrs,
		Concurrency: 200,
	}, func(r handshake.Result) {
		step, emfile := "", "-"
		var he *handshake.Error
		if errors.As(r.Err, &he) {
			step = string(he.Step)
		}
		if errors.Is(r.Err, syscall.EMFILE) {
			emfile = "emfile"
		}
		fmt.Fprintf(w, "result\t%s\t%s\t%s\t%s\n", r.Addr, r.Status, step, emfile)
	})
	if err != nil {
		t.Fatal(err)
	}
}
