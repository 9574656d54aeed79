package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"go.uber.org/goleak"

	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestCrawlProgram crawls a gossip graph of fake regtest nodes on
// regtest's default port, named by a local DNS seed, and checks that every
// node is found exactly once and every dead address reported as such.
func TestCrawlProgram(t *testing.T) {
	bin := cli.Build(t)
	cfgs := make([]handshaketest.Config, 300)
	for i := range cfgs {
		cfgs[i] = handshaketest.Config{ChainParams: &chaincfg.RegressionNetParams, V2: i%25 == 0, V1Only: i%25 != 0}
	}
	n, err := handshaketest.NewNetwork(handshaketest.NetworkConfig{
		Peers:   cfgs,
		Seeds:   []string{"seed.crawl.test."},
		FirstIP: netip.MustParseAddr("127.7.0.1"),
		Port:    "18444",
		Gossip:  &handshaketest.Gossip{Seeded: 3, Unreachable: 20},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	args := []string{"-network", "regtest", "-seed", "seed.crawl.test.", "-resolver", n.Seed.Addr(), "-timeout", "10s", "-depth", "50"}

	// The seed's loopback addresses are private: nothing to start from.
	out, _, code := cli.Run(t, bin, args...)
	if code != 1 || !strings.Contains(out, "Skipped 3 private") {
		t.Errorf("without -allow-private: exit %d, output:\n%s", code, out)
	}

	out, errOut, code := cli.Run(t, bin, append(args, "-allow-private", "-json", "-concurrency", "50")...)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	seen := map[string]string{}
	visitMS := 0.0
	for _, l := range records(t, out) {
		if _, dup := seen[l.Addr]; dup {
			t.Errorf("%s reported twice", l.Addr)
		}
		seen[l.Addr] = l.Status
		if l.Status == "OK" && (l.AddrsGiven < 12 || l.PingMS == nil || *l.PingMS <= 0) {
			t.Errorf("%s gave %d addresses, ping %v; want at least 12 and a ping", l.Addr, l.AddrsGiven, l.PingMS)
		}
		// The visit's time holds its handshake and its ping.
		var h struct {
			Total float64 `json:"total_ms"`
		}
		json.Unmarshal(l.Handshake, &h)
		switch {
		case l.ElapsedMS == nil || *l.ElapsedMS <= 0:
			t.Errorf("%s: elapsed_ms %v, want the visit's time", l.Addr, l.ElapsedMS)
		case l.Status == "OK" && *l.ElapsedMS < h.Total+*l.PingMS:
			t.Errorf("%s: elapsed_ms %v, less than the handshake's %v ms and the ping's %v ms", l.Addr, *l.ElapsedMS, h.Total, *l.PingMS)
		}
		visitMS += *l.ElapsedMS
	}
	// The closing lines give the ideal: the visits' time over the
	// concurrency, as the records sum it.
	m := regexp.MustCompile(`Visit time (\S+) in all; ideal at concurrency 50: (\S+); took [0-9.]+x the ideal`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("log lacks the ideal:\n%s", errOut)
	}
	total, err1 := time.ParseDuration(m[1])
	ideal, err2 := time.ParseDuration(m[2])
	summed := time.Duration(visitMS * float64(time.Millisecond))
	if err1 != nil || err2 != nil || (total-summed).Abs() > time.Millisecond || (ideal-total/50).Abs() > time.Microsecond {
		t.Errorf("%q, want the records' %v in all and a 50th of it", m[0], summed)
	}
	for _, a := range n.Addrs() {
		if seen[a] != "OK" {
			t.Errorf("node %s: %q, want OK", a, seen[a])
		}
	}
	for _, a := range n.Unreachable {
		if seen[a] != "FAILED" {
			t.Errorf("dead address %s: %q, want FAILED", a, seen[a])
		}
	}
	if len(seen) != 320 {
		t.Errorf("%d nodes reported, want 320", len(seen))
	}
	for _, want := range []string{
		"Finished! 320 nodes dialled: 300 reachable | 0 PARTIALLY OK | 20 unreachable",
		"Reachable nodes by network: ipv4 300",
		// Gossip carries each node's services: those with NODE_P2P_V2
		// are asked in v2, the others in v1, as Core would.
		"Transports: v1 288, v2 12",
		"Top user agents: /Satoshi:27.1.0/ 300",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("log lacks %q:\n%s", want, errOut)
		}
	}

	// Caps: -depth 0 dials the seeded nodes only, -max-nodes bounds dials.
	out, _, _ = cli.Run(t, bin, append(args, "-allow-private", "-depth", "0")...)
	if !strings.Contains(out, "Finished! 3 nodes dialled") {
		t.Errorf("-depth 0:\n%s", out)
	}
	out, _, _ = cli.Run(t, bin, append(args, "-allow-private", "-max-nodes", "10")...)
	if !strings.Contains(out, "Finished! 10 nodes dialled") {
		t.Errorf("-max-nodes 10:\n%s", out)
	}
}

// TestCrawlPrivateGossip: a node gossiping private addresses does not make
// the crawler dial them; -addr is the user's own choice and is dialled.
func TestCrawlPrivateGossip(t *testing.T) {
	bin := cli.Build(t)
	private := []wire.NetAddressV2{
		*wire.NetAddressV2FromBytes(time.Now(), 0, []byte{192, 168, 1, 1}, 18444),
		*wire.NetAddressV2FromBytes(time.Now(), 0, []byte{10, 0, 0, 1}, 18444),
		*wire.NetAddressV2FromBytes(time.Now(), 0, []byte{127, 0, 0, 1}, 18444),
		*wire.NetAddressV2FromBytes(time.Now(), 0, make([]byte, 32), 18444), // onion
	}
	p, err := handshaketest.NewPeer(handshaketest.Config{ChainParams: &chaincfg.RegressionNetParams, Addrs: private})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out, errOut, code := cli.Run(t, bin, "-network", "regtest", "-addr", p.Addr(), "-timeout", "2s")
	if code != 0 || !strings.Contains(out, "Finished! 1 nodes dialled: 1 reachable") ||
		!strings.Contains(out, "skipped: no dialer for onion 1; not followed: private 3") {
		t.Errorf("exit %d:\n%s%s", code, out, errOut)
	}
}

// A crawl in which no handshake completed, one node hanging up after its
// version and one address refusing, exits 1.
func TestCrawlProgramNoneCompleted(t *testing.T) {
	bin := cli.Build(t)
	p, err := handshaketest.NewPeer(handshaketest.Config{ChainParams: &chaincfg.RegressionNetParams, Behavior: handshaketest.CloseAfterVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	l.Close() // nothing listens there any more: the connect is refused
	out, errOut, code := cli.Run(t, bin, "-network", "regtest", "-addr", p.Addr(), "-addr", refused, "-timeout", "2s")
	if code != 1 || !strings.Contains(out, "Finished! 2 nodes dialled: 0 reachable | 1 PARTIALLY OK | 1 unreachable") {
		t.Errorf("exit %d:\n%s%s", code, out, errOut)
	}
}

func TestCrawlProgramDemo(t *testing.T) {
	bin := cli.Build(t)
	out, errOut, code := cli.Run(t, bin, "-demo", "-demo-peers", "200", "-demo-unreachable", "10", "-timeout", "10s")
	// 200 IPv4 nodes and 10 dead addresses; 20 IPv6 nodes, 40 onion and
	// 10 I2P ones, and 20 offline onion names and 4 offline I2P ones.
	want, ipv6 := "Finished! 304 nodes dialled: 269 reachable | 1 PARTIALLY OK | 34 unreachable", "ipv6 20"
	if strings.Contains(out, "no IPv6 nodes") {
		t.Log("this host has no [::1]: the demo ran without its IPv6 nodes")
		want, ipv6 = "Finished! 284 nodes dialled: 249 reachable | 1 PARTIALLY OK | 34 unreachable", ""
	}
	if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, ipv6) ||
		!strings.Contains(out, "onion 40") || !strings.Contains(out, "i2p 10") {
		t.Errorf("exit %d:\n%s%s", code, out, errOut)
	}
}

func TestCrawlProgramBadFlags(t *testing.T) {
	bin := cli.Build(t)
	for _, args := range [][]string{
		{"-network", "moon"},
		{"-concurrency", "0"},
		{"-timeout", "-1s"},
		{"-depth", "-1"},
		{"-max-nodes", "-1"},
		{"-connect-timeout", "0s"},
		{"-netgroup-cap", "-1"},
		{"-resolver", "nope"},
		{"-proxy", "nope"},
		{"-transport", "v3"},
		{"-demo-peers", "0"},
		{"-no-such-flag"},
		{"stray"},
		{"-addr", "127.0.0.1:99999"},
		{"-addr", "127.0.0.1:0"},
		{"-proxy", "127.0.0.1:70000"},
	} {
		out, errOut, code := cli.Run(t, bin, args...)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "crawl: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want one line on stderr and exit 2", args, code, out, errOut)
		}
		if len(args) == 2 && strings.Contains(args[1], ":") && !strings.Contains(errOut, args[0]+` "`+args[1]+`"`) {
			t.Errorf("%q: %q does not name the flag and the value", args, errOut)
		}
	}
	if _, errOut, _ := cli.Run(t, bin, "-addr", "127.0.0.1:0"); !strings.Contains(errOut, "port 0 is not a port a node listens on") {
		t.Errorf("-addr 127.0.0.1:0: %q", errOut)
	}
	// -h: the usage, the flags and the exit rule, and status 0.
	out, errOut, code := cli.Run(t, bin, "-h")
	if code != 0 || out != "" || !strings.HasPrefix(errOut, "usage: crawl [flags]\n") || !strings.Contains(errOut, cli.ExitRule) {
		t.Errorf("-h: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
}

// line is a -json record, every key of the schema in docs/crawl.md.
type line struct {
	Addr       string          `json:"addr"`
	Network    string          `json:"network"`
	Chain      string          `json:"chain"`
	Depth      *int            `json:"depth"`
	Services   *uint64         `json:"services"`
	Time       time.Time       `json:"time"`
	Status     string          `json:"status"`
	Handshake  json.RawMessage `json:"handshake"`
	PingMS     *float64        `json:"ping_ms"`
	ElapsedMS  *float64        `json:"elapsed_ms"`
	AddrsGiven int             `json:"addrs_given"`
	AddrsNew   *int            `json:"addrs_new"`
	Error      string          `json:"error"`
	ErrorKind  string          `json:"error_kind"`
	Skipped    string          `json:"skipped"`
}

// records parses -json output, checking every line against the schema.
func records(t *testing.T, out string) []line {
	t.Helper()
	var ls []line
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("stdout line %q: %v", sc.Text(), err)
		}
		var h struct{ Addr, Status string }
		switch {
		case l.Addr == "" || l.Chain == "" || l.Depth == nil || l.Services == nil || l.Time.IsZero() || l.AddrsNew == nil ||
			!slices.Contains([]string{"ipv4", "ipv6", "onion", "i2p", "cjdns"}, l.Network):
			t.Errorf("incomplete record %s", sc.Text())
		case l.Status == "SKIPPED":
			if l.Skipped == "" || l.Handshake != nil {
				t.Errorf("skipped record %s", sc.Text())
			}
		case json.Unmarshal(l.Handshake, &h) != nil || h.Addr != l.Addr || h.Status != l.Status:
			t.Errorf("record %s: its handshake disagrees", sc.Text())
		}
		ls = append(ls, l)
	}
	return ls
}

// TestCrawlProgramInterrupt sends SIGINT to a crawl whose other addresses
// hang in their connects: it ends at once, every address written once (the
// node's result, the rest as interrupted), and the summary printed.
func TestCrawlProgramInterrupt(t *testing.T) {
	bin := cli.Build(t)
	p, err := handshaketest.NewPeer(handshaketest.Config{ChainParams: &chaincfg.RegressionNetParams})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	args := []string{"-network", "regtest", "-json", "-concurrency", "2", "-connect-timeout", "1h", "-timeout", "1s", "-addr", p.Addr()}
	var hanging []string
	for i := range 3 {
		h, err := handshaketest.NewHanging(fmt.Sprintf("127.7.9.%d:0", i+1))
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		hanging = append(hanging, h.Addr())
		args = append(args, "-addr", h.Addr())
	}
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut strings.Builder
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	defer func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
		}
	}()
	// The node's record comes first: the other slot hangs.
	r := bufio.NewReader(stdout)
	first, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("first record: %v; stderr:\n%s", err, errOut.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("still running a minute after SIGINT")
	}
	got := map[string]line{}
	for _, l := range records(t, first+string(rest)) {
		if _, dup := got[l.Addr]; dup {
			t.Errorf("%s written twice", l.Addr)
		}
		got[l.Addr] = l
	}
	if l := got[p.Addr()]; l.Status != "OK" || len(got) != 4 {
		t.Errorf("%d records, node %+v", len(got), l)
	}
	for _, a := range hanging {
		if l := got[a]; l.Status != "SKIPPED" || l.Skipped != "not visited (interrupted)" {
			t.Errorf("hanging %s: %+v", a, l)
		}
	}
	for _, want := range []string{"Crawl interrupted", "Finished! 1 nodes dialled: 1 reachable", "3 not visited (interrupted)", "Top user agents: /Satoshi:27.1.0/ 1"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, errOut.String())
		}
	}
}
