package main

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
	"github.com/bitcoin-handshake/handshake/handshaketest"
	"github.com/btcsuite/btcd/chaincfg/v2"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSweepProgram runs the built program against nodes on regtest's
// default port, named by a local DNS seed that it is told to ask.
func TestSweepProgram(t *testing.T) {
	bin := cli.Build(t)
	cfgs := []handshaketest.Config{
		{Behavior: handshaketest.Core}, {Behavior: handshaketest.Btcd}, {Behavior: handshaketest.Old},
		{Behavior: handshaketest.CloseAfterVersion}, {Behavior: handshaketest.WrongMagic}, {Behavior: handshaketest.Silent},
	}
	for i := range cfgs {
		cfgs[i].ChainParams = &chaincfg.RegressionNetParams
	}
	cfgs[1].UserAgent = "/btcd:0.26.2/\x1b[2J" // a terminal escape, to be escaped
	n, err := handshaketest.NewNetwork(handshaketest.NetworkConfig{
		Peers:   cfgs,
		Seeds:   []string{"seed.regtest.test."},
		FirstIP: netip.MustParseAddr("127.6.0.1"),
		Port:    "18444",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	args := []string{"-network", "regtest", "-seed", "seed.regtest.test.", "-resolver", n.Seed.Addr(), "-timeout", "2s"}

	// Private addresses are skipped unless allowed: nothing to dial.
	out, _, code := cli.Run(t, bin, args...)
	if code != 1 || !strings.Contains(out, "Skipped 6 private") {
		t.Errorf("without -allow-private: exit %d, output:\n%s", code, out)
	}

	out, errOut, code := cli.Run(t, bin, append(args, "-allow-private")...)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	line := regexp.MustCompile(`(?m)^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (INFO |WARN |ERROR) sweep\] `)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if !line.MatchString(l) {
			t.Errorf("line not in the log format: %q", l)
		}
	}
	for _, want := range []string{
		"Resolving DNS seed `seed.regtest.test.`",
		"Resolved 6 addresses. Starting handshakes...",
		"INFO  sweep] `127.6.0.1:18444`: Handshake OK over v2: /Satoshi:27.1.0/, protocol 70016, height 0, negotiation [wtxidrelay sendaddrv2] in ",
		"INFO  sweep] `127.6.0.2:18444`: Handshake OK over v1 (fallback): /btcd:0.26.2/\\x1b\\x5b2J, protocol 70016",
		"WARN  sweep] `127.6.0.4:18444`: Handshake incomplete",
		"ERROR sweep] `127.6.0.5:18444`: Handshake attempt failed with: read version: wrong network magic",
		// A silent node never answers our v2 key.
		"ERROR sweep] `127.6.0.6:18444`: Handshake attempt failed with: key exchange: context deadline exceeded",
		"Finished! Handshake results: 3 OK | 1 PARTIALLY OK | 2 FAILED",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	if strings.Contains(out, "\x1b") {
		t.Errorf("a raw escape reached the output:\n%q", out)
	}

	// -json: one object per node on stdout, the log on stderr.
	out, errOut, code = cli.Run(t, bin, append(args, "-allow-private", "-json")...)
	if code != 0 || !strings.Contains(errOut, "Finished!") {
		t.Fatalf("-json: exit %d, stderr:\n%s", code, errOut)
	}
	// Each line reads back into a handshake.Result.
	statuses := map[string]handshake.Status{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r handshake.Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("stdout line %q: %v", sc.Text(), err)
		}
		statuses[r.Addr] = r.Status
	}
	if len(statuses) != 6 || statuses["127.6.0.2:18444"] != handshake.StatusOK || statuses["127.6.0.4:18444"] != handshake.StatusPartiallyOK {
		t.Errorf("json statuses %v", statuses)
	}

	// -addr skips DNS.
	out, _, code = cli.Run(t, bin, "-network", "regtest", "-addr", "127.6.0.3", "-addr", "127.6.0.3:18444")
	if code != 0 || !strings.Contains(out, "Resolved 1 addresses") || !strings.Contains(out, "1 OK | 0 PARTIALLY OK | 0 FAILED") {
		t.Errorf("-addr: exit %d:\n%s", code, out)
	}

	// Every address answered, none completed: exit 1.
	out, _, code = cli.Run(t, bin, "-network", "regtest", "-timeout", "2s", "-addr", "127.6.0.4", "-addr", "127.6.0.5")
	if code != 1 || !strings.Contains(out, "0 OK | 1 PARTIALLY OK | 1 FAILED") {
		t.Errorf("no handshake completed: exit %d:\n%s", code, out)
	}
}

func TestSweepProgramDemo(t *testing.T) {
	bin := cli.Build(t)
	page := filepath.Join(t.TempDir(), "report.html")
	out, errOut, code := cli.Run(t, bin, "-demo", "-demo-peers", "20", "-timeout", "300ms", "-concurrency", "7", "-report", page)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	// Mix(20) holds 14 completing, 2 partial and 4 failing behaviours.
	if !strings.Contains(out, "Finished! Handshake results: 14 OK | 2 PARTIALLY OK | 4 FAILED") ||
		!strings.Contains(out, "Wrote the report to "+page) {
		t.Errorf("demo output:\n%s", out)
	}
	// -report: the page counts the same, with the run's facts.
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<b>20</b><small>nodes</small>`, `<b>14</b><small>handshake OK</small>`,
		`<b>2</b><small>partial</small>`, `<b>4</b><small>failed</small>`,
		"<span>20 addresses</span>", "<span>concurrency 7</span>", "simulated on loopback",
		`<figure id="chart-outcome" class="chart">`,
	} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(string(html), `<tr><td class="addr">127.`); n != 20 {
		t.Errorf("report's table has %d nodes, want 20", n)
	}
	// An unwritable report is an error.
	if _, errOut, code := cli.Run(t, bin, "-demo", "-demo-peers", "2", "-report", filepath.Join(page, "x")); code != 1 {
		t.Errorf("-report into a file: exit %d\n%s", code, errOut)
	}
}

func TestSweepProgramBadFlags(t *testing.T) {
	bin := cli.Build(t)
	for _, args := range [][]string{
		{"-network", "moon"},
		{"-concurrency", "0"},
		{"-timeout", "-1s"},
		{"-resolver", "nope"},
		{"-services", "xyz"},
		{"-transport", "v3"},
		{"-no-such-flag"},
		{"stray"},
		{"-addr", "127.0.0.1:70000"},
		{"-addr", "127.0.0.1:0"},
		{"-addr", "[::1]:99999"},
		{"-resolver", "127.0.0.1:65536"},
	} {
		out, errOut, code := cli.Run(t, bin, args...)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "sweep: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want one line on stderr and exit 2", args, code, out, errOut)
		}
		if len(args) == 2 && strings.Contains(args[1], ":") && !strings.Contains(errOut, args[0]+` "`+args[1]+`"`) {
			t.Errorf("%q: %q does not name the flag and the value", args, errOut)
		}
	}
	// -h: the usage, the flags and the exit rule, and status 0.
	out, errOut, code := cli.Run(t, bin, "-h")
	if code != 0 || out != "" || !strings.HasPrefix(errOut, "usage: sweep [flags]\n") || !strings.Contains(errOut, cli.ExitRule) {
		t.Errorf("-h: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
}
