package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bitcoin-handshake/handshake"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// farm runs run in-process and returns its listing, a function asking
// it a command, and one stopping it and returning its exit code.
func farm(t *testing.T, args ...string) ([]string, func(string) string, func() int) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(args, inR, outW, io.Discard)
		outW.Close()
	}()
	sc := bufio.NewScanner(outR)
	var lines []string
	for sc.Scan() && sc.Text() != "" {
		lines = append(lines, sc.Text())
	}
	ask := func(cmd string) string {
		io.WriteString(inW, cmd+"\n")
		sc.Scan()
		return sc.Text()
	}
	stop := func() int {
		inW.Close()
		go io.Copy(io.Discard, outR)
		return <-done
	}
	return lines, ask, stop
}

// TestFarm serves hanging addresses and nodes whose gossip names them and
// the refusing ones, and checks a node's answer and the counters.
func TestFarm(t *testing.T) {
	hang, _, stopHang := farm(t, "hang", "-first", "127.44.0.1", "-n", "3")
	defer stopHang()
	if len(hang) != 3 || !strings.HasPrefix(hang[0], "hang\t127.44.0.1:") {
		t.Fatalf("hang farm listed %q", hang)
	}
	_, port, _ := strings.Cut(hang[0], ":")
	lines, ask, stop := farm(t, "nodes", "-first", "127.45.0.1", "-n", "6", "-refusing", "2", "-seeded", "2",
		"-fanout", "3", "-hang-first", "127.44.0.1", "-hang-port", port, "-hang", "3")
	kinds := map[string][]string{}
	agents := map[string]string{} // node → the user agent of its release
	for _, l := range lines {
		f := strings.Split(l, "\t")
		kinds[f[0]] = append(kinds[f[0]], f[1])
		if f[0] == "node" {
			agents[f[1]] = f[3]
		}
	}
	if len(kinds["seed"]) != 2 || len(kinds["node"]) != 6 || len(kinds["refuse"]) != 2 {
		t.Fatalf("nodes farm listed %q", lines)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	named := map[string]bool{}
	releases := map[string]bool{}
	for _, n := range kinds["node"] {
		c, res, err := handshake.DialConn(ctx, n, handshake.Options{Transport: handshake.TransportV1})
		if err != nil {
			t.Fatal(err)
		}
		if res.Peer.UserAgent != agents[n] {
			t.Errorf("%s announces %q, listed as %q", n, res.Peer.UserAgent, agents[n])
		}
		releases[res.Peer.UserAgent] = true
		addrs, err := handshake.GetAddrs(ctx, c, handshake.AddrOptions{Quiet: 200 * time.Millisecond})
		c.Close()
		if err != nil || len(addrs) < 3 {
			t.Fatalf("%s gave %d addresses, %v", n, len(addrs), err)
		}
		for _, a := range addrs {
			named[a.String()] = true
		}
	}
	// The six nodes run a mix of releases (handshaketest.CoreMix).
	if len(releases) < 4 {
		t.Errorf("the nodes run %v, want a mix of releases", releases)
	}
	// Every address is gossiped by some node.
	for _, a := range append(append(kinds["node"][2:], kinds["refuse"]...), hangAddrs(hang)...) {
		if !named[a] {
			t.Errorf("no node gossips %s", a)
		}
	}
	if got := ask("accepted"); got != "6 1" {
		t.Errorf("accepted: %q, want 6 1", got)
	}
	if code := stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

func TestFarmBadArgs(t *testing.T) {
	for _, args := range [][]string{nil, {"moon"}, {"nodes", "-n", "0"}, {"nodes", "-first", "nope"}, {"nodes", "-hang", "1"}} {
		if code := run(args, strings.NewReader(""), io.Discard, io.Discard); code == 0 {
			t.Errorf("%q: exit 0", args)
		}
	}
}

func hangAddrs(lines []string) []string {
	var out []string
	for _, l := range lines {
		out = append(out, strings.TrimPrefix(l, "hang\t"))
	}
	return out
}
