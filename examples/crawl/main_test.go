package main

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

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
		cfgs[i] = handshaketest.Config{Net: wire.TestNet, V2: i%25 == 0, V1Only: i%25 != 0}
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

	out, errOut, code := cli.Run(t, bin, append(args, "-allow-private", "-json")...)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	seen := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct {
			Addr, Status string
			AddrsGiven   int `json:"addrs_given"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("stdout line %q: %v", sc.Text(), err)
		}
		if _, dup := seen[l.Addr]; dup {
			t.Errorf("%s reported twice", l.Addr)
		}
		seen[l.Addr] = l.Status
		if l.Status == "OK" && l.AddrsGiven < 12 {
			t.Errorf("%s gave %d addresses, want at least 12", l.Addr, l.AddrsGiven)
		}
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
	p, err := handshaketest.NewPeer(handshaketest.Config{Net: wire.TestNet, Addrs: private})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out, errOut, code := cli.Run(t, bin, "-network", "regtest", "-addr", p.Addr(), "-timeout", "2s")
	if code != 0 || !strings.Contains(out, "Finished! 1 nodes dialled: 1 reachable") ||
		!strings.Contains(out, "private (no -allow-private) 3, onion (no -proxy) 1") {
		t.Errorf("exit %d:\n%s%s", code, out, errOut)
	}
}

func TestCrawlProgramDemo(t *testing.T) {
	bin := cli.Build(t)
	out, errOut, code := cli.Run(t, bin, "-demo", "-demo-peers", "200", "-demo-unreachable", "10", "-timeout", "10s")
	if code != 0 || !strings.Contains(out, "Finished! 210 nodes dialled: 200 reachable | 0 PARTIALLY OK | 10 unreachable") {
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
		{"-max-nodes", "0"},
		{"-resolver", "nope"},
		{"-proxy", "nope"},
		{"-transport", "v3"},
		{"-demo-peers", "0"},
		{"-no-such-flag"},
		{"stray"},
	} {
		out, errOut, code := cli.Run(t, bin, args...)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "crawl: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want one line on stderr and exit 2", args, code, out, errOut)
		}
	}
}
