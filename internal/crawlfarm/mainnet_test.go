package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
)

// TestMainnetFarm crawls a small mainnet-mode farm through its proxies:
// every node of every network is found with one connection, every onion
// and I2P name is asked of a proxy once, and the dead names fail as Tor
// and I2P say. (Its IPv6 nodes need a namespace: crawl's BenchmarkMainnet
// runs them.)
func TestMainnetFarm(t *testing.T) {
	lines, ask, stop := farm(t, "mainnet", "-ipv4", "20", "-ipv6", "0", "-onion", "8", "-i2p", "4",
		"-dead-ipv4", "0", "-dead-ipv6", "0", "-dead-onion", "3", "-dead-i2p", "2",
		"-proxies", "2", "-seeded", "4", "-fanout", "11", "-answer", "1ms,20ms", "-circuit", "1ms,30ms")
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("exit %d", code)
		}
	}()
	var socks []string
	var sam string
	var start []crawl.Target
	count := map[string]int{}
	for _, l := range lines {
		f := strings.Split(l, "\t")
		switch f[0] {
		case "proxy":
			socks, sam = append(socks, f[1]), f[2]
		case "seed":
			tg, err := crawl.ParseTarget(f[1], "")
			if err != nil {
				t.Fatal(err)
			}
			s, err := strconv.ParseUint(f[2], 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			tg.Services = wire.ServiceFlag(s) // so a v1 seed is not tried in v2 first
			start = append(start, tg)
		case "node", "dead":
			count[f[0]+" "+f[1]]++
		}
	}
	want := map[string]int{"node ipv4": 20, "node onion": 8, "node i2p": 4, "dead onion": 3, "dead i2p": 2}
	if fmt.Sprint(count) != fmt.Sprint(want) || len(socks) != 2 || len(start) != 4 {
		t.Fatalf("listed %v, %d proxies, %d seeds:\n%s", count, len(socks), len(start), strings.Join(lines, "\n"))
	}
	sum, err := crawl.Crawl(context.Background(), crawl.Options{
		AllowPrivate: true,
		Tor:          &handshake.TorOptions{Proxies: socks},
		I2P:          &handshake.I2POptions{SAM: sam},
	}, start, nil)
	if err != nil {
		t.Fatal(err)
	}
	for n, w := range map[handshake.AddrNetwork]int{handshake.NetIPv4: 20, handshake.NetTorV3: 8, handshake.NetI2P: 4} {
		if got := sum.Networks[n].Reachable(); got != w {
			t.Errorf("%v: %d reachable, want %d", n, got, w)
		}
	}
	if sum.Failures["onion-not-found"] != 3 || sum.Failures["i2p-not-found"] != 2 || sum.Failed != 5 {
		t.Errorf("failures %v, want 3 onion-not-found and 2 i2p-not-found", sum.Failures)
	}
	if got := ask("accepted"); !strings.HasPrefix(got, "32 ") {
		t.Errorf("accepted: %q, want 32 connections for 32 nodes", got)
	}
	if got := ask("proxied"); !strings.HasPrefix(got, "17 ") {
		t.Errorf("proxied: %q, want 17 requests for 17 names", got)
	}
}

func TestMainnetFarmBadArgs(t *testing.T) {
	for _, args := range [][]string{
		{"mainnet", "-fanout", "10"},
		{"mainnet", "-seeded", "0"},
		{"mainnet", "-ipv4", "3", "-seeded", "4"},
		{"mainnet", "-part", "2", "-parts", "2"},
		{"mainnet", "-answer", "1s"},
		{"mainnet", "-circuit", "2s,1s"},
		{"mainnet", "-proxies", "0"},
	} {
		if code := run(args, strings.NewReader(""), io.Discard, io.Discard); code == 0 {
			t.Errorf("%q: exit 0", args)
		}
	}
}
