// Command peerfarm serves a simulated network of handshaketest peers in a
// process of its own, for tests and benchmarks that need more peers than
// the race detector allows goroutines (8,128) or whose heap figures must be
// the client's alone. It is built without -race by the tests that use it.
//
// Usage:
//
//	peerfarm [-first 127.40.0.1] [-drip 1s] Core=7000,Silent=500,PingFlood=400,...
//
// Each name is a handshaketest.Behavior, or Sink,
// optionally followed by /v2 for the same peer accepting v2 too (Core
// always does):
// a peer that, like Silent, never writes and holds the connection, and that
// counts the connections on which it has received a first byte. The peers
// are placed on consecutive loopback addresses from -first, sharing one
// port, in a fixed shuffled order so that hostile peers spread across a
// sweep. peerfarm prints one "address<TAB>name" line per peer, then an
// empty line, and then answers commands read from standard input, one per
// line:
//
//	accepted        the number of connections accepted so far
//	touched         the number of connections on which a Sink received a byte
//	received CMD    the number of CMD messages received so far
//
// It closes every peer and exits when its standard input closes, so that it
// never outlives the process that started it.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/bitcoin-handshake/handshake/handshaketest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main with its streams, for tests: it returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("peerfarm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	first := fs.String("first", "127.40.0.1", "loopback address of the first peer")
	drip := fs.Duration("drip", handshaketest.DefaultDripInterval, "pause between the bytes of trickling peers")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "peerfarm:", err)
		return 1
	}
	if fs.NArg() != 1 {
		return fail(errors.New("want one spec argument, such as Core=10,Silent=2"))
	}
	ip, err := netip.ParseAddr(*first)
	if err != nil {
		return fail(err)
	}
	var touched atomic.Int64
	configs := newConfigs(&touched)
	names, err := parseSpec(fs.Arg(0), configs)
	if err != nil {
		return fail(err)
	}
	cfgs := make([]handshaketest.Config, len(names))
	for i, name := range names {
		cfgs[i] = configs[name]
		cfgs[i].DripInterval = *drip
	}
	n, err := handshaketest.NewNetwork(handshaketest.NetworkConfig{Peers: cfgs, FirstIP: ip})
	if err != nil {
		return fail(err)
	}
	defer n.Close()

	w := bufio.NewWriter(stdout)
	for i, a := range n.Addrs() {
		fmt.Fprintf(w, "%s\t%s\n", a, names[i])
	}
	fmt.Fprintln(w)
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		total := 0
		switch cmd {
		case "accepted":
			for _, p := range n.Peers {
				total += p.Accepted()
			}
		case "touched":
			total = int(touched.Load())
		case "received":
			for _, p := range n.Peers {
				for _, c := range p.Received() {
					if c == arg {
						total++
					}
				}
			}
		default:
			fmt.Fprintf(w, "error: unknown command %q\n", cmd)
			w.Flush()
			continue
		}
		fmt.Fprintln(w, total)
		w.Flush()
	}
	return 0
}

// sink returns a handler that never writes: it counts in touched the
// connections on which it received a first byte (the client has sent its
// first message, whatever the transport, and waits), then swallows the rest
// until the client leaves or the farm closes.
func sink(touched *atomic.Int64) func(context.Context, *handshaketest.Conn) error {
	return func(ctx context.Context, c *handshaketest.Conn) error {
		var b [1]byte
		if _, err := io.ReadFull(c.Net(), b[:]); err != nil {
			return err
		}
		touched.Add(1)
		_, err := io.Copy(io.Discard, c.Net())
		return err
	}
}

// newConfigs maps every behaviour's name (hostile ones included), and
// Sink, to its Config.
func newConfigs(touched *atomic.Int64) map[string]handshaketest.Config {
	m := map[string]handshaketest.Config{"Sink": {Handler: sink(touched)}}
	for _, b := range handshaketest.Behaviors() {
		m[b.String()] = handshaketest.Config{Behavior: b}
	}
	// Name/v2: the same peer accepting the v2 transport too.
	for name, cfg := range maps.Clone(m) {
		cfg.V2 = true
		m[name+"/v2"] = cfg
	}
	return m
}

// maxPeers keeps a farm within what one port on consecutive loopback
// addresses and a process's file descriptors can serve.
const maxPeers = 50000

// parseSpec expands "Core=3,Silent=1" into one name per peer, in a fixed
// shuffled order.
func parseSpec(spec string, configs map[string]handshaketest.Config) ([]string, error) {
	var names []string
	for part := range strings.SplitSeq(spec, ",") {
		name, count, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(count)
		if _, known := configs[name]; !ok || !known || err != nil || n < 0 {
			return nil, fmt.Errorf("bad spec item %q: want Name=count with a handshaketest behaviour or hostile peer", part)
		}
		if len(names)+n > maxPeers {
			return nil, fmt.Errorf("more than %d peers", maxPeers)
		}
		for range n {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, errors.New("no peers")
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(names), func(i, j int) {
		names[i], names[j] = names[j], names[i]
	})
	return names, nil
}
