package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// btcdPackage is built with the version this module's go.mod pins; the go.mod
// lists it as a tool so that go.sum holds the node's whole dependency graph.
const btcdPackage = "github.com/btcsuite/btcd"

const (
	// nodeReadyTimeout bounds the wait for a fresh regtest node's P2P port.
	// A node is usually ready in well under a second.
	nodeReadyTimeout = 30 * time.Second

	// nodeStopGrace is how long a node gets to shut down on SIGINT before
	// it is killed. Its data directory is thrown away either way.
	nodeStopGrace = 5 * time.Second

	// buildTimeout bounds building btcd: about 25 s with empty caches on
	// two cores, downloads included, a second when cached.
	buildTimeout = 5 * time.Minute
)

// btcdConfig selects the variant of node to start.
type btcdConfig struct {
	// V2Transport starts the node with --v2transport (BIP 324). Such a node
	// still accepts v1 connections: it recognises a v1 version message by
	// its first bytes and downgrades.
	V2Transport bool
}

// btcdNode is a running btcd process.
type btcdNode struct {
	// Addr is the node's P2P address, "127.0.0.1:port".
	Addr string

	cmd     *exec.Cmd
	logPath string
	// sink is the loopback listener the node's --connect points at; see
	// startBtcdOnce.
	sink    net.Listener
	exited  chan struct{} // closed when the process has been waited for
	waitErr error         // valid once exited is closed
	stopMu  sync.Mutex
	stopped bool
}

// btcdBuild is the per-run build of the node binary, shared by all tests.
var btcdBuild struct {
	once sync.Once
	dir  string // removed by TestMain
	path string
	err  error
	took time.Duration
}

// btcdBinary builds btcd once per test run and returns the binary's path.
// A failed build fails the test: the module proxy is reachable wherever the
// suite runs, so a failure is a real problem, not a reason to skip. Reruns
// are fast because the go command's build cache keeps the compiled
// packages; only the link runs again (about a second).
func btcdBinary(tb testing.TB) string {
	tb.Helper()
	b := &btcdBuild
	b.once.Do(func() {
		start := time.Now()
		defer func() { b.took = time.Since(start) }()
		b.dir, b.err = os.MkdirTemp("", "interop-btcd-")
		if b.err != nil {
			return
		}
		// go test puts its own GOROOT/bin first in PATH, so this is the
		// toolchain that is running the tests.
		goTool, err := exec.LookPath("go")
		if err != nil {
			b.err = fmt.Errorf("finding the go command: %w", err)
			return
		}
		path := filepath.Join(b.dir, "btcd")
		if runtime.GOOS == "windows" {
			path += ".exe"
		}
		// The test's working directory is this module's, so go.mod and
		// go.sum here decide the version and verify every download.
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, goTool, "build", "-o", path, btcdPackage)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
			return
		}
		b.path = path
	})
	if b.err != nil {
		tb.Fatalf("building btcd: %v", b.err)
	}
	return b.path
}

// running holds every node not yet stopped, so that TestMain can kill the
// ones a failing test left behind.
var running struct {
	mu    sync.Mutex
	nodes map[*btcdNode]struct{}
}

func register(n *btcdNode) {
	running.mu.Lock()
	defer running.mu.Unlock()
	if running.nodes == nil {
		running.nodes = make(map[*btcdNode]struct{})
	}
	running.nodes[n] = struct{}{}
}

func unregister(n *btcdNode) {
	running.mu.Lock()
	defer running.mu.Unlock()
	delete(running.nodes, n)
}

// stopAllNodes kills every node still running and removes the build. It runs
// after all tests, before goleak looks for leftover goroutines.
func stopAllNodes() {
	running.mu.Lock()
	nodes := make([]*btcdNode, 0, len(running.nodes))
	for n := range running.nodes {
		nodes = append(nodes, n)
	}
	running.mu.Unlock()
	for _, n := range nodes {
		n.stop()
	}
	if btcdBuild.dir != "" {
		os.RemoveAll(btcdBuild.dir)
	}
}

// startBtcd starts a fresh regtest node on a free loopback port, waits until
// its P2P port accepts connections, and stops it when the test ends.
func startBtcd(t testing.TB, cfg btcdConfig) *btcdNode {
	t.Helper()
	bin := btcdBinary(t)
	// The port is picked by binding and releasing it, so another process
	// can take it before btcd binds; btcd then exits at once and we retry
	// on a new port.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		n, err := startBtcdOnce(t, bin, cfg)
		if err == nil {
			return n
		}
		lastErr = err
		if !errors.Is(err, errPortInUse) {
			break
		}
	}
	t.Fatalf("starting btcd: %v", lastErr)
	return nil
}

var errPortInUse = errors.New("listen port already in use")

func startBtcdOnce(t testing.TB, bin string, cfg btcdConfig) (*btcdNode, error) {
	dir := t.TempDir() // registered before the stop below, so removed after it
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// btcd only connects out to addresses its address manager learned, and
	// a fresh data directory knows none (regtest has no DNS seeds either),
	// but --connect makes that a guarantee: a node given --connect never
	// picks peers on its own. Its one permanent peer is this listener,
	// which is never accepted from, so the node's outbound attempt parks in
	// the kernel's backlog and no byte leaves loopback.
	sink, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := []string{
		"--regtest",
		"--datadir=" + filepath.Join(dir, "data"),
		"--logdir=" + filepath.Join(dir, "logs"),
		"--listen=" + addr,
		"--connect=" + sink.Addr().String(),
		"--norpc",
		"--nodnsseed",
		"--noonion",
		// The UTXO cache is preallocated; the default 250 MiB only costs
		// memory and startup time here.
		"--utxocachemaxsize=16",
		// Debug logs show every peer connection and handshake failure
		// in the log tail that a failing test prints.
		"--debuglevel=debug",
	}
	// btcd reads no config file in regtest unless --configfile is given,
	// so a developer's ~/.btcd/btcd.conf cannot add peers or change flags.
	if cfg.V2Transport {
		args = append(args, "--v2transport")
	}
	logPath := filepath.Join(dir, "btcd.out")
	logFile, err := os.Create(logPath)
	if err != nil {
		sink.Close()
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	// An *os.File is handed to the child as is: no copying goroutine.
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		sink.Close()
		return nil, fmt.Errorf("%s: %w", bin, err)
	}
	logFile.Close() // the child has its own descriptor
	n := &btcdNode{Addr: addr, cmd: cmd, logPath: logPath, sink: sink, exited: make(chan struct{})}
	go func() {
		n.waitErr = cmd.Wait()
		close(n.exited)
	}()
	register(n)

	if err := n.waitReady(nodeReadyTimeout); err != nil {
		n.stop()
		if strings.Contains(n.logTail(), "address already in use") {
			return nil, fmt.Errorf("%w: %v", errPortInUse, err)
		}
		return nil, err
	}
	t.Logf("btcd %s started: %s", addr, strings.Join(args, " "))
	t.Cleanup(func() {
		select {
		case <-n.exited:
			// btcd never exits on its own: something in the test
			// crashed it.
			t.Errorf("btcd %s exited during the test: %v\nlog tail:\n%s", addr, n.waitErr, n.logTail())
		default:
		}
		n.stop()
		if t.Failed() {
			t.Logf("btcd %s log tail:\n%s", addr, n.logTail())
		}
	})
	return n, nil
}

// waitReady waits until btcd logs that it listens on its address and the
// port accepts a connection, the process exits, or the timeout passes. The
// log line proves the port is btcd's and not that of whoever may have taken
// it since freePort. The probe connection sends nothing; btcd treats it as
// an inbound peer that hung up before its version.
func (n *btcdNode) waitReady(timeout time.Duration) error {
	listening := []byte("Server listening on " + n.Addr)
	deadline := time.Now().Add(timeout)
	var err error
	for {
		select {
		case <-n.exited:
			return fmt.Errorf("btcd exited before listening on %s: %v\nlog tail:\n%s", n.Addr, n.waitErr, n.logTail())
		default:
		}
		var log []byte
		if log, err = os.ReadFile(n.logPath); err == nil && !bytes.Contains(log, listening) {
			err = errors.New("btcd has not logged that it listens")
		}
		if err == nil {
			var conn net.Conn
			if conn, err = net.DialTimeout("tcp", n.Addr, time.Second); err == nil {
				conn.Close()
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("btcd did not accept connections on %s within %v: %v\nlog tail:\n%s", n.Addr, timeout, err, n.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop shuts the node down, killing it if it does not exit in time, and
// waits for the process. It is idempotent.
func (n *btcdNode) stop() {
	n.stopMu.Lock()
	defer n.stopMu.Unlock()
	if n.stopped {
		return
	}
	n.stopped = true
	defer unregister(n)
	defer n.sink.Close()
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Signal(os.Interrupt)
	select {
	case <-n.exited:
	case <-time.After(nodeStopGrace):
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
}

// logTail returns the last lines btcd wrote to stdout and stderr.
func (n *btcdNode) logTail() string {
	const maxLines = 40
	b, err := os.ReadFile(n.logPath)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", n.logPath, err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
