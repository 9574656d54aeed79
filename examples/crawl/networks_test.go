package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"

	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
)

// TestCrawlHiddenNetworks crawls from a clearnet node that gossips onion
// and I2P addresses, reached through the proxy double: each network's
// nodes are found, its failures counted by Tor's and I2P's codes, in the
// summary and in -json.
func TestCrawlHiddenNetworks(t *testing.T) {
	bin := cli.Build(t)
	h := cli.NewHidden(t, &chaincfg.RegressionNetParams, 3, 2, 20*time.Millisecond)
	start := h.Gossiper(t, &chaincfg.RegressionNetParams)
	page := filepath.Join(t.TempDir(), "report.html")
	out, errOut, code := cli.Run(t, bin, "-network", "regtest", "-addr", start, "-json", "-report", page,
		"-proxy", h.Proxy.SOCKSAddr(), "-i2psam", h.Proxy.SAMAddr())
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	got := map[string]string{}
	for _, l := range records(t, out) {
		got[l.Addr] = l.Network + " " + l.Status + " " + l.ErrorKind
	}
	want := map[string]string{
		start: "ipv4 OK ", h.Onion[0]: "onion OK ", h.Onion[2]: "onion OK ", h.I2P[1]: "i2p OK ",
		h.Offline: "onion FAILED onion-not-found", h.IntroFailed: "onion FAILED onion-intro-failed",
		h.I2POffline: "i2p FAILED i2p-not-found", cli.CJDNS: "cjdns SKIPPED ",
	}
	for a, w := range want {
		if got[a] != w {
			t.Errorf("%s: %q, want %q", a, got[a], w)
		}
	}
	if len(got) != 1+5+3+1 {
		t.Errorf("%d records, want 10: %v", len(got), got)
	}
	for _, w := range []string{
		"Network ipv4: 1 addresses, 1 reachable",
		"Network onion: 5 addresses, 3 reachable (3 over v2, 100%), 2 failed (onion-intro-failed 1, onion-not-found 1)",
		"Network i2p: 3 addresses, 2 reachable (2 over v2, 100%), 1 failed (i2p-not-found 1)",
		"Network cjdns: 1 addresses, 0 reachable, 0 failed, 1 not dialled",
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("summary lacks %q:\n%s", w, errOut)
		}
	}
	// An I2P name given alone gets I2P's port, 0, not the network's.
	out, errOut, code = cli.Run(t, bin, "-network", "regtest", "-json", "-i2psam", h.Proxy.SAMAddr(),
		"-addr", strings.TrimSuffix(h.I2P[0], ":0"))
	if rs := records(t, out); code != 0 || len(rs) != 1 || rs[0].Addr != h.I2P[0] || rs[0].Status != "OK" {
		t.Errorf("-addr an I2P name alone: exit %d, %+v\n%s", code, rs, errOut)
	}

	// The report's by-network table, from the same records.
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		`<tr data-network="onion"><td>onion</td><td class="num">5</td><td class="num">3</td><td class="num v2">100%</td><td class="num">0</td><td class="num">2</td><td class="kinds">onion-intro-failed 1, onion-not-found 1</td>`,
		`<tr data-network="i2p"><td>i2p</td><td class="num">3</td><td class="num">2</td><td class="num v2">100%</td><td class="num">0</td><td class="num">1</td><td class="kinds">i2p-not-found 1</td>`,
	} {
		if !strings.Contains(string(b), w) {
			t.Errorf("the report lacks %s", w)
		}
	}
}

// TestCrawlProxyDown: a Tor proxy and an I2P router that are down are
// reported once each, with the addresses they cost, which -json marks as
// skipped for that reason, not as dead nodes; the clearnet node's
// handshake makes the exit status 0.
func TestCrawlProxyDown(t *testing.T) {
	bin := cli.Build(t)
	h := cli.NewHidden(t, &chaincfg.RegressionNetParams, 3, 2, -1)
	start := h.Gossiper(t, &chaincfg.RegressionNetParams)
	tor, sam := cli.DeadAddr(t), cli.DeadAddr(t)
	out, errOut, code := cli.Run(t, bin, "-network", "regtest", "-addr", start, "-json", "-v", "-proxy", tor, "-i2psam", sam)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, l := range records(t, out) {
		if l.Network != "ipv4" && l.Network != "cjdns" && (l.Status != "SKIPPED" || l.ErrorKind != "proxy-down" || !strings.HasPrefix(l.Skipped, "proxy ")) {
			t.Errorf("%s: %s %q %q, want SKIPPED for its proxy", l.Addr, l.Status, l.Skipped, l.ErrorKind)
		}
	}
	for p, n := range map[string]int{tor: 5, sam: 3} {
		if c := strings.Count(errOut, "Proxy "+p+" is down"); c != 1 {
			t.Errorf("proxy %s reported down %d times, want once:\n%s", p, c, errOut)
		}
		if w := fmt.Sprintf("Proxy %s was down: %d addresses not reached", p, n); !strings.Contains(errOut, w) {
			t.Errorf("no %q:\n%s", w, errOut)
		}
	}
	if strings.Contains(errOut, "unreachable:") {
		t.Errorf("an address logged as a dead node for its proxy:\n%s", errOut)
	}

	// No handshake completed: exit 1.
	_, errOut, code = cli.Run(t, bin, "-network", "regtest", "-addr", h.Onion[0], "-proxy", tor)
	if code != 1 {
		t.Errorf("onion start behind a dead proxy: exit %d, want 1\n%s", code, errOut)
	}
}
