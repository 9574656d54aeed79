package crawl_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// mainnetChildEnv names the file where BenchmarkMainnet, run again inside
// its namespace, writes its figures.
const mainnetChildEnv = "MAINNET_BENCH_CHILD_OUT"

// The namespace's firewall. Dead clearnet addresses drop their SYNs, and
// each attempt is recorded in a set keyed by address and source port, so
// that a second connection to one address shows; a numgen rule drops a
// share of every TCP packet, so that TCP retransmits as on a lossy path.
const mainnetRules = `table inet mainnet {
	set dead4 { type ipv4_addr . inet_service; size 1048576; flags dynamic; }
	set dead6 { type ipv6_addr . inet_service; size 1048576; flags dynamic; }
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr %s add @dead4 { ip daddr . tcp sport } drop
		ip6 daddr %s add @dead6 { ip6 daddr . tcp sport } drop
		meta l4proto tcp numgen random mod 100000 < %d counter drop
	}
}
`

// inNamespace makes a network namespace, runs BenchmarkMainnet in it,
// reads the firewall's record of the dead addresses tried, and removes the
// namespace (and its rules with it) whatever happened.
func inNamespace(b *testing.B, cfg mainnetConfig) mainnetFigures {
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Fatalf("BenchmarkMainnet needs %s as root (apt-get install -y iproute2 nftables): %v", tool, err)
		}
	}
	ns := fmt.Sprintf("handshake-mainnet-%d", os.Getpid())
	run := func(args ...string) {
		b.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("ip", "netns", "add", ns)
	b.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			b.Errorf("removing namespace %s: %v\n%s", ns, err, out)
		}
	})
	run("ip", "-n", ns, "link", "set", "lo", "up")
	// The IPv6 nodes' prefix, delivered locally, and bindable.
	run("ip", "-n", ns, "-6", "route", "add", "local", "2001:db8::/32", "dev", "lo")
	run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.ip_nonlocal_bind=1")
	rules := fmt.Sprintf(mainnetRules, "127.100.0.0/16", "2001:db8:dead::/48", int(cfg.LossPercent*1000))
	nft := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	nft.Stdin = strings.NewReader(rules)
	if out, err := nft.CombinedOutput(); err != nil {
		b.Fatalf("nft: %v\n%s\n%s", err, out, rules)
	}

	out := filepath.Join(b.TempDir(), "figures.json")
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0],
		"-test.run=^$", "-test.bench=^BenchmarkMainnet$", "-test.benchtime=1x", "-test.v")
	cmd.Env = append(os.Environ(), mainnetChildEnv+"="+out)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	err := cmd.Run()
	b.Logf("in namespace %s:\n%s", ns, log.String())
	if err != nil {
		b.Fatalf("the crawl in the namespace failed: %v", err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	var m mainnetFigures
	if err := json.Unmarshal(data, &m); err != nil {
		b.Fatal(err)
	}
	// Every SYN to a dead address is in the sets, by source port: one
	// element per connection attempt.
	perAddr := map[string]int{}
	for _, set := range []string{"dead4", "dead6"} {
		list, err := exec.Command("ip", "netns", "exec", ns, "nft", "-j", "list", "set", "inet", "mainnet", set).Output()
		if err != nil {
			b.Fatalf("nft list set %s: %v", set, err)
		}
		for _, addr := range deadAttempts(b, list) {
			perAddr[addr]++
			m.DeadSYNs++
		}
	}
	m.DeadSeen = len(perAddr)
	for _, n := range perAddr {
		m.MostSYNs = max(m.MostSYNs, n)
	}
	return m
}

// deadAttempts reads `nft -j list set` of address . port elements and
// returns each element's address.
func deadAttempts(b *testing.B, list []byte) []string {
	var doc struct {
		Nftables []struct {
			Set *struct {
				Elem []struct {
					Concat []any `json:"concat"`
				} `json:"elem"`
			} `json:"set"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(list, &doc); err != nil {
		b.Fatalf("nft's JSON: %v", err)
	}
	var addrs []string
	for _, o := range doc.Nftables {
		if o.Set == nil {
			continue
		}
		for _, e := range o.Set.Elem {
			if len(e.Concat) != 2 {
				b.Fatalf("nft set element %v: want address . port", e)
			}
			addrs = append(addrs, fmt.Sprint(e.Concat[0]))
		}
	}
	return addrs
}
