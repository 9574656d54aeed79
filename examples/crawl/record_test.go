package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/crawl"
	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
)

// TestLogNodeEscapes: a node's user agent and the error text it provokes
// reach the log escaped, never as raw terminal bytes, and the error loses
// the address prefix the line already shows.
func TestLogNodeEscapes(t *testing.T) {
	var buf bytes.Buffer
	lg := cli.NewLogger(&buf, "crawl")
	ok := crawl.Result{Target: crawl.Target{Addr: "127.0.0.1:8333"}, Status: handshake.StatusOK,
		Handshake: &handshake.Result{Peer: handshake.PeerVersion{UserAgent: "/evil\x1b[2J:1/"}}}
	logNode(lg, ok)
	bad := crawl.Result{Target: crawl.Target{Addr: "127.0.0.2:8333"}, Status: handshake.StatusFailed,
		Err: &handshake.Error{Addr: "127.0.0.2:8333", Step: handshake.StepReadVersion, Err: errors.New("odd \x07 byte")}}
	logNode(lg, bad)
	out := buf.String()
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Errorf("raw control bytes in the log: %q", out)
	}
	for _, want := range []string{`/evil\x1b\x5b2J:1/`, "unreachable: read version: odd \\x07 byte\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
