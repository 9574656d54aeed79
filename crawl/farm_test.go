package crawl_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// simNet is a simulated Internet served by internal/crawlfarm processes:
// nodes gossiping each other, addresses that refuse and addresses whose
// connects hang.
type simNet struct {
	seeds    []string
	nodes    map[string]string // address → "v1" or "v2"
	refusing []string
	hanging  []string
	farm     *farmProc // the nodes' farm, for its counters
}

type simSize struct {
	nodes, hanging, refusing, seeded, fanout int
}

var buildOnce = sync.OnceValues(func() (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "crawlfarm")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "crawlfarm")
	cmd := exec.Command(goTool, "build", "-o", bin, "github.com/bitcoin-handshake/handshake/internal/crawlfarm")
	cmd.Env = append(os.Environ(), "GOFLAGS=") // never -race: the farm is not under test
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the crawl farm: %v\n%s", err, out)
	}
	return bin, nil
})

// startSimNet starts the farms, nodes from nodeIP and hanging addresses
// from hangIP, and stops them when the test ends.
func startSimNet(tb testing.TB, s simSize, nodeIP, hangIP string) *simNet {
	tb.Helper()
	bin, err := buildOnce()
	if err != nil {
		tb.Fatal(err)
	}
	n := &simNet{nodes: map[string]string{}}
	hangPort := "0"
	if s.hanging > 0 {
		h := startFarm(tb, bin, "hang", "-first", hangIP, "-n", fmt.Sprint(s.hanging))
		for _, l := range h.lines {
			_, a, _ := strings.Cut(l, "\t")
			n.hanging = append(n.hanging, a)
		}
		_, hangPort, _ = strings.Cut(n.hanging[0], ":")
	}
	n.farm = startFarm(tb, bin, "nodes", "-first", nodeIP, "-n", fmt.Sprint(s.nodes),
		"-refusing", fmt.Sprint(s.refusing), "-seeded", fmt.Sprint(s.seeded), "-fanout", fmt.Sprint(s.fanout),
		"-hang-first", hangIP, "-hang-port", hangPort, "-hang", fmt.Sprint(s.hanging))
	for _, l := range n.farm.lines {
		f := strings.Split(l, "\t")
		switch f[0] {
		case "seed":
			n.seeds = append(n.seeds, f[1])
		case "node":
			n.nodes[f[1]] = f[2]
		case "refuse":
			n.refusing = append(n.refusing, f[1])
		}
	}
	return n
}

// farmProc is a running crawlfarm.
type farmProc struct {
	lines []string
	in    io.WriteCloser
	out   *bufio.Scanner
}

func startFarm(tb testing.TB, bin string, args ...string) *farmProc {
	tb.Helper()
	cmd := exec.Command(bin, args...)
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
		in.Close() // the farm closes everything and exits
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("crawl farm: %v", err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			tb.Errorf("crawl farm did not exit when its input closed")
		}
	})
	f := &farmProc{in: in, out: bufio.NewScanner(stdout)}
	for f.out.Scan() && f.out.Text() != "" {
		f.lines = append(f.lines, f.out.Text())
	}
	if len(f.lines) == 0 {
		tb.Fatalf("crawl farm %v started nothing", args)
	}
	return f
}

// accepted returns the connections the nodes accepted in all, and the
// most one node accepted.
func (f *farmProc) accepted(tb testing.TB) (total, most int) {
	tb.Helper()
	if _, err := fmt.Fprintln(f.in, "accepted"); err != nil {
		tb.Fatal(err)
	}
	if !f.out.Scan() {
		tb.Fatal("crawl farm: no answer")
	}
	if _, err := fmt.Sscanf(f.out.Text(), "%d %d", &total, &most); err != nil {
		tb.Fatalf("crawl farm answered %q", f.out.Text())
	}
	return total, most
}
