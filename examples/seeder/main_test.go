package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  string
)

// program builds the program once for the tests that run it.
func program(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		var err error
		if binDir, err = os.MkdirTemp("", "seeder-test"); err != nil {
			buildErr = err.Error()
			return
		}
		binPath = filepath.Join(binDir, "seeder")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = string(out)
		}
	})
	if buildErr != "" {
		t.Fatalf("go build: %s", buildErr)
	}
	return binPath
}

func TestBadFlags(t *testing.T) {
	t.Parallel()
	bin := program(t)
	for _, args := range [][]string{
		{},
		{"-zone", "seed.example.com", "-concurrency", "0"},
		{"-zone", "seed.example.com", "-listen", "nope"},
		{"-zone", "seed.example.com", "-network", "moonnet"},
		{"-zone", "seed.example.com", "-addr", "1.2.3.4"},
		{"-zone", "seed.example.com", "-addr", "1.2.3.4:0"},
		{"-zone", "seed.example.com", "-addr", "1.2.3.4:70000"},
		{"-zone", "seed.example.com", "-listen", ":70000"},
		{"-zone", "seed.example.com", "-metrics", "127.0.0.1:65536"},
		{"-zone", "seed..example.com"},
		{"-zone", strings.Repeat("a", 64) + ".example.com"},
		{"-demo", "-mbox", "a b@example.com"},
		{"-zone", "seed.example.com", "-answers", "1000"},
		{"-demo", "-no-such-flag"},
		{"-demo", "extra"},
		{"-demo", "-proxy", "127.0.0.1"},
		{"-demo", "-i2psam", "127.0.0.1:0"},
		{"-demo", "-proxy-max-pending", "0"},
		{"-zone", "seed.example.com", "-addr", "bad.onion:8333"},
		{"-zone", "seed.example.com", "-addr", handshaketest.I2PName(0) + ":8333"}, // I2P's only port is 0
	} {
		stdout, stderr, code := cli.Run(t, bin, args...)
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "seeder: ") {
			t.Errorf("%q: status %d, stdout %q, stderr %q; want 2 and one line", args, code, stdout, stderr)
		}
	}
}

// child is the program running in the background, its log read line by
// line.
type child struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
	log   strings.Builder // everything read, for failure messages
	mu    sync.Mutex
}

func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(program(t), args...), lines: make(chan string, 4096), done: make(chan struct{})}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.done)
		defer close(c.lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			c.mu.Lock()
			c.log.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
			select {
			case c.lines <- sc.Text():
			default: // nobody waiting for so many: the log keeps them
			}
		}
	}()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.done
		c.cmd.Wait()
	})
	return c
}

// waitFor returns the submatches of the first line matching re, failing
// the test if the program exits or a minute passes first.
func (c *child) waitFor(t *testing.T, re *regexp.Regexp, cond func(m []string) bool) []string {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("program exited before logging %v:\n%s", re, c.output())
			}
			if m := re.FindStringSubmatch(l); m != nil && (cond == nil || cond(m)) {
				return m
			}
		case <-deadline:
			t.Fatalf("no line matching %v in a minute:\n%s", re, c.output())
		}
	}
}

func (c *child) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.String()
}

var (
	reServing   = regexp.MustCompile(`msg="serving DNS" .*listen=(\S+)`)
	reGood      = regexp.MustCompile(`msg="good nodes" good=(\d+)`)
	reCommitted = regexp.MustCompile(`msg=committed .*nodes=(\d+)`)
	reDumped    = regexp.MustCompile(`msg="dump written" .*nodes=(\d+)`)
	reMetrics   = regexp.MustCompile(`msg="serving metrics" url=(\S+)`)
	reLoaded    = regexp.MustCompile(`msg="loaded the node table" nodes=(\d+) good=(\d+)`)
)

func atLeast(n int) func(m []string) bool {
	return func(m []string) bool { v, _ := strconv.Atoi(m[1]); return v >= n }
}

// ask sends one query over UDP and returns the answer's addresses.
func ask(t *testing.T, server, name string, qt dnsmessage.Type) (dnsmessage.RCode, []netip.Addr) {
	t.Helper()
	m, _ := query(t, "udp", server, mkQuery(t, name, qt, 1232))
	var out []netip.Addr
	for _, a := range m.Answers {
		switch b := a.Body.(type) {
		case *dnsmessage.AResource:
			out = append(out, netip.AddrFrom4(b.A))
		case *dnsmessage.AAAAResource:
			out = append(out, netip.AddrFrom16(b.AAAA))
		}
	}
	return m.RCode, out
}

// TestDemo runs the program as a user runs it with -demo, asks it as dig
// would, and stops it with SIGINT.
func TestDemo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dump := filepath.Join(dir, "dnsseed.dump")
	c := startChild(t, "-demo", "-demo-peers", "60", "-listen", "127.0.0.1:0", "-db", filepath.Join(dir, "s.db"), "-dump", dump,
		"-metrics", "127.0.0.1:0", "-commit-interval", "200ms")
	server := c.waitFor(t, reServing, nil)[1]
	metricsURL := c.waitFor(t, reMetrics, nil)[1]
	c.waitFor(t, reGood, atLeast(30))
	res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ips, err := res.LookupNetIP(ctx, "ip4", "seed.demo.test")
	if err != nil || len(ips) != DefaultAnswers {
		t.Fatalf("A seed.demo.test: %d addresses, %v", len(ips), err)
	}
	for _, ip := range ips {
		if !netip.MustParsePrefix("127.1.0.0/16").Contains(ip) {
			t.Errorf("answered %v, not a demo node", ip)
		}
	}
	// Every demo node runs Core or btcd and announces NODE_NETWORK and
	// witness; x409 (network limited, witness, network) matches them all.
	if rc, got := ask(t, server, "x9.seed.demo.test.", dnsmessage.TypeA); rc != dnsmessage.RCodeSuccess || len(got) == 0 {
		t.Errorf("x9: %v, %d answers", rc, len(got))
	}
	// x800: one demo node in four (127.1.0.1, .5, .9, ...) speaks v2, and
	// others (.3, .7, ...) announce NODE_P2P_V2 without speaking it; only
	// the first are answered.
	if rc, got := ask(t, server, "x800.seed.demo.test.", dnsmessage.TypeA); rc != dnsmessage.RCodeSuccess || len(got) == 0 {
		t.Errorf("x800: %v, %d answers", rc, len(got))
	} else {
		for _, ip := range got {
			if (ip.As4()[3]-1)%4 != 0 {
				t.Errorf("x800 answered %v, which does not speak v2", ip)
			}
		}
	}
	if rc, _ := ask(t, server, "example.com.", dnsmessage.TypeA); rc != dnsmessage.RCodeRefused {
		t.Errorf("outside the zone: %v", rc)
	}
	// The metrics count what just happened, on every network: the onion
	// and I2P nodes and offline names are visited through the demo's
	// proxy double, each taking up to two seconds to set up.
	waitMetrics(t, metricsURL, []string{
		`seeder_nodes_good\{network="ipv4",transport="v[12]"\} [1-9]`,
		`seeder_nodes_known\{network="ipv4",transport="v2"\} [1-9]`,
		`seeder_visits_total\{network="ipv4",outcome="OK"\} [1-9]`,
		`seeder_visits_total\{network="onion",outcome="OK"\} [1-9]`,
		`seeder_visits_total\{network="i2p",outcome="OK"\} [1-9]`,
		`seeder_nodes_known\{network="onion",transport="v[12]"\} [1-9]`,
		`seeder_nodes_good\{network="i2p",transport="v[12]"\} [1-9]`,
		`seeder_visit_failures_total\{kind="onion-not-found",network="onion"\} [1-9]`,
		`seeder_visit_failures_total\{kind="i2p-not-found",network="i2p"\} [1-9]`,
		`seeder_dns_queries_total\{answer="refused",type="A"\} 1\n`,
		`seeder_dns_queries_total\{answer="noerror",type="A"\} [1-9]`,
		`seeder_commits_total\{result="ok"\} [1-9]`,
	})
	// SIGHUP does not reload, nor stop the seed: it says so and serves on.
	c.cmd.Process.Signal(syscall.SIGHUP)
	c.waitFor(t, regexp.MustCompile(`msg="SIGHUP: `), nil)
	if rc, got := ask(t, server, "seed.demo.test.", dnsmessage.TypeA); rc != dnsmessage.RCodeSuccess || len(got) == 0 {
		t.Errorf("after SIGHUP: %v, %d answers", rc, len(got))
	}
	c.cmd.Process.Signal(syscall.SIGINT)
	<-c.done
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGINT: %v\n%s", err, c.output())
	}
	if _, parsed := dumpLines(t, dump); parsed < 30 {
		t.Errorf("the dump written at exit has %d nodes, want at least 30", parsed)
	}
	// Every network's nodes are in the dump. The demo's onion names are on
	// the virtual port 8333, not the demo network's, so they are written
	// not good (makeseeds.py skips them, as it skips any node off the
	// network's port); the I2P ones, on port 0, are good and parse.
	lines := dumpNetworks(t, dump)
	if lines["onion"] == 0 || lines["i2p"] == 0 || lines["ipv4"] < 30 {
		t.Errorf("the dump's lines by network: %v, want onion and i2p ones", lines)
	}
	if good := seedLinesByNetwork(t, dump); good["i2p"] == 0 {
		t.Errorf("the dump's good lines by network, as makeseeds.py reads them: %v, want i2p ones", good)
	}
}

// waitMetrics fetches the metrics until every pattern matches, failing the
// test with the ones that do not after a minute.
func waitMetrics(t *testing.T, url string, patterns []string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var missing []string
		for _, re := range patterns {
			if !regexp.MustCompile(re).Match(body) {
				missing = append(missing, re)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a minute the metrics lack %q:\n%s", missing, body)
		}
		time.Sleep(100 * time.Millisecond) // polling another process's counters
	}
}

// dumpNetworks counts a dump's lines by the network of their address,
// good or not.
func dumpNetworks(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(line, "#") {
			net, ok := networkOf(f[0])
			if !ok {
				t.Errorf("dump line %q: no network's address", line)
			}
			n[net]++
		}
	}
	return n
}

// TestKillAndRestart kills the program with SIGKILL mid-crawl: the
// database keeps every node of the last commit logged, and the restarted
// program answers DNS from it before visiting anything, then crawls on.
func TestKillAndRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	// The demo network must come back on the same port.
	l, err := net.Listen("tcp", "127.1.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	args := []string{"-demo", "-demo-peers", "60", "-demo-port", port, "-listen", "127.0.0.1:0", "-db", db,
		"-commit-interval", "100ms", "-retest", "300ms", "-dump", filepath.Join(dir, "dnsseed.dump"), "-dump-interval", "100ms"}
	c := startChild(t, args...)
	c.waitFor(t, reGood, atLeast(30))
	committed, _ := strconv.Atoi(c.waitFor(t, reCommitted, atLeast(40))[1])
	dumped, _ := strconv.Atoi(c.waitFor(t, reDumped, atLeast(30))[1])
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
	c.cmd.Wait()

	sdb, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	var rows, good int
	sdb.QueryRow("SELECT count(*), coalesce(sum(good), 0) FROM nodes").Scan(&rows, &good)
	sdb.Close()
	if rows < committed || good < 30 {
		t.Fatalf("after SIGKILL the database has %d nodes (%d good); the last commit logged %d", rows, good, committed)
	}
	// No dump at exit after SIGKILL: the one there was written on the
	// -dump-interval, whole (temporary file and rename).
	if n, _ := dumpLines(t, filepath.Join(dir, "dnsseed.dump")); n < dumped {
		t.Errorf("the periodic dump has %d nodes, want at least the %d logged", n, dumped)
	}

	c = startChild(t, args...)
	loaded := c.waitFor(t, reLoaded, nil)
	if n, _ := strconv.Atoi(loaded[1]); n < committed {
		t.Errorf("restart loaded %d nodes, want at least %d", n, committed)
	}
	server := c.waitFor(t, reServing, nil)[1]
	if rc, got := ask(t, server, "seed.demo.test.", dnsmessage.TypeA); rc != dnsmessage.RCodeSuccess || len(got) != DefaultAnswers {
		t.Errorf("at once after the restart: %v, %d answers", rc, len(got))
	}
	c.waitFor(t, reCommitted, nil) // and the crawl goes on
	// SIGTERM, as service managers stop it: a clean exit.
	c.cmd.Process.Signal(syscall.SIGTERM)
	c.waitFor(t, regexp.MustCompile(`msg=stopped nodes=\d+ good=[1-9]`), nil)
	<-c.done
	if err := c.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// dumpLines counts the node lines of a dump (what "dump written" logs)
// and, parsing them as makeseeds.py does, the good ones it would take.
func dumpLines(t *testing.T, path string) (lines, good int) {
	t.Helper()
	for _, k := range dumpNetworks(t, path) {
		lines += k
	}
	for _, k := range seedLinesByNetwork(t, path) {
		good += k
	}
	return lines, good
}

// seedLinesByNetwork parses a dump as makeseeds.py does and counts its
// nodes by network.
func seedLinesByNetwork(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), dumpHeader) {
		t.Errorf("dump starts %q", b[:min(len(b), 40)])
	}
	parsed := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		if l, ok, err := parseSeedLine(line); err != nil {
			t.Fatalf("dump line %q: %v", line, err)
		} else if ok {
			parsed[l.net]++
		}
	}
	return parsed
}
