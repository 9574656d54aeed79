package main

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"

	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
)

// TestSweepHiddenNetworks sweeps onion and I2P nodes behind the proxy
// double: the reachable ones handshake, the others fail with Tor's and
// I2P's own codes, counted by kind per network in the summary and in -json.
func TestSweepHiddenNetworks(t *testing.T) {
	bin := cli.Build(t)
	h := cli.NewHidden(t, &chaincfg.RegressionNetParams, 2, 1, 20*time.Millisecond)
	i2pNoPort := strings.TrimSuffix(h.I2P[0], ":0") // given its port, 0, by the program
	args := []string{"-network", "regtest", "-timeout", "5s", "-json",
		"-proxy", h.Proxy.SOCKSAddr(), "-i2psam", h.Proxy.SAMAddr(),
		"-addr", h.Onion[0], "-addr", h.Onion[1], "-addr", h.Offline, "-addr", h.IntroFailed,
		"-addr", i2pNoPort, "-addr", h.I2POffline}
	out, errOut, code := cli.Run(t, bin, args...)
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, errOut)
	}
	kinds := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l struct {
			Addr, Network, Status string
			ErrorKind             string `json:"error_kind"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("-json line %q: %v", sc.Text(), err)
		}
		kinds[l.Addr] = l.Network + " " + l.Status + " " + l.ErrorKind
	}
	want := map[string]string{
		h.Onion[0]: "onion OK ", h.Onion[1]: "onion OK ",
		h.Offline: "onion FAILED onion-not-found", h.IntroFailed: "onion FAILED onion-intro-failed",
		h.I2P[0]: "i2p OK ", h.I2POffline: "i2p FAILED i2p-not-found",
	}
	for a, w := range want {
		if kinds[a] != w {
			t.Errorf("%s: -json says %q, want %q", a, kinds[a], w)
		}
	}
	for _, w := range []string{
		"Network onion: 4 addresses, 2 reachable (2 over v2, 100%), 2 failed (onion-intro-failed 1, onion-not-found 1)",
		"Network i2p: 2 addresses, 1 reachable (1 over v2, 100%), 1 failed (i2p-not-found 1)",
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("summary lacks %q:\n%s", w, errOut)
		}
	}
	// Isolation is on by default: one fresh credential per connection.
	creds := map[string]bool{}
	for _, c := range h.Proxy.Credentials() {
		if c.User == "" {
			t.Errorf("a connection without credentials: isolation off")
		}
		creds[c.User+":"+c.Password] = true
	}
	if n := len(h.Proxy.Credentials()); n < 4 || len(creds) != n {
		t.Errorf("%d credentials, %d distinct: want one fresh per onion connection", n, len(creds))
	}
}

// TestSweepProxyDown: a Tor proxy that is down is reported once, naming it
// and the addresses it cost, not as a failed node per address; with no
// handshake completed the sweep exits 1.
func TestSweepProxyDown(t *testing.T) {
	bin := cli.Build(t)
	h := cli.NewHidden(t, &chaincfg.RegressionNetParams, 3, 0, -1)
	dead := cli.DeadAddr(t)
	args := []string{"-network", "regtest", "-timeout", "5s", "-proxy", dead}
	for _, a := range h.Onion {
		args = append(args, "-addr", a)
	}
	out, errOut, code := cli.Run(t, bin, args...)
	if code != 1 {
		t.Errorf("exit %d, want 1 (no handshake completed)\n%s%s", code, out, errOut)
	}
	if n := strings.Count(out, "Proxy "+dead+" is down"); n != 1 {
		t.Errorf("the proxy reported down %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "Proxy "+dead+" was down: 3 addresses not reached") {
		t.Errorf("no closing line for the proxy:\n%s", out)
	}
	if strings.Contains(out, "Handshake attempt failed") {
		t.Errorf("an address logged as a failed node for its proxy:\n%s", out)
	}
	if !strings.Contains(out, "Network onion: 3 addresses, 0 reachable, 0 failed, 3 not reached (proxy down)") ||
		!strings.Contains(out, "0 OK | 0 PARTIALLY OK | 0 FAILED | 3 NOT REACHED (proxy down)") {
		t.Errorf("summary:\n%s", out)
	}
}

// TestSweepNetFlagsBadUsage: each bad value exits 2 with one line naming
// its flag; an onion address without -proxy is skipped, named.
func TestSweepNetFlagsBadUsage(t *testing.T) {
	bin := cli.Build(t)
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"-proxy", "127.0.0.1"}, "-proxy"},
		{[]string{"-proxy", "127.0.0.1:0"}, "-proxy"},
		{[]string{"-proxy", "127.0.0.1:9050", "-onion", "127.0.0.1:9050"}, "-proxy"},
		{[]string{"-i2psam", "localhost:99999"}, "-i2psam"},
		{[]string{"-proxy-max-pending", "0"}, "-proxy-max-pending"},
		{[]string{"-proxyrandomize=maybe"}, "-proxyrandomize"},
	} {
		_, errOut, code := cli.Run(t, bin, append(tc.args, "-addr", "127.0.0.1:1")...)
		if code != 2 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.flag) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line naming %s", tc.args, code, errOut, tc.flag)
		}
	}
	h := cli.NewHidden(t, &chaincfg.RegressionNetParams, 1, 0, -1)
	out, _, code := cli.Run(t, bin, "-network", "regtest", "-addr", h.Onion[0])
	if code != 1 || !strings.Contains(out, "Skipped 1 onion addresses: no way to reach them (see -proxy)") {
		t.Errorf("onion without -proxy: exit %d\n%s", code, out)
	}
}

// TestSweepProxyCap: -proxy-max-pending caps the connections a proxy has
// in flight, however many handshakes the sweep runs at once.
func TestSweepProxyCap(t *testing.T) {
	bin := cli.Build(t)
	h := cli.NewHidden(t, &chaincfg.RegressionNetParams, 4, 0, 50*time.Millisecond)
	args := []string{"-network", "regtest", "-timeout", "5s", "-proxy", h.Proxy.SOCKSAddr(), "-proxy-max-pending", "1"}
	for _, a := range h.Onion {
		args = append(args, "-addr", a)
	}
	if out, _, code := cli.Run(t, bin, args...); code != 0 || !strings.Contains(out, "Network onion: 4 addresses, 4 reachable") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if p := h.Proxy.MaxPending(); p != 1 {
		t.Errorf("%d connections in flight at once at the proxy, want 1", p)
	}
}
