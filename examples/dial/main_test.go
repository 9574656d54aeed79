package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/bitcoin-handshake/handshake"
	"github.com/bitcoin-handshake/handshake/handshaketest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDialPrintsResults(t *testing.T) {
	ok, err := handshaketest.NewPeer(handshaketest.Config{UserAgent: "/Satoshi:27.1.0/", StartHeight: 42, V2: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ok.Close()
	bad, err := handshaketest.NewPeer(handshaketest.Config{Behavior: handshaketest.CloseAfterVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()

	var out, errOut bytes.Buffer
	code := run([]string{ok.Addr()}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), ok.Addr()+": OK over v2") ||
		!strings.Contains(out.String(), "session id   ") ||
		!strings.Contains(out.String(), "user agent   /Satoshi:27.1.0/") ||
		!strings.Contains(out.String(), "start height 42") ||
		!strings.Contains(out.String(), "negotiation  wtxidrelay, sendaddrv2\n") ||
		strings.Contains(out.String(), "features") || strings.Contains(out.String(), "ignored") {
		t.Errorf("exit %d, output:\n%s%s", code, &out, &errOut)
	}

	out.Reset()
	code = run([]string{"-transport", "v1", ok.Addr()}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), ok.Addr()+": OK over v1") || strings.Contains(out.String(), "session id") {
		t.Errorf("-transport v1: exit %d, output:\n%s", code, &out)
	}

	out.Reset()
	code = run([]string{"-json", ok.Addr(), bad.Addr()}, &out, &errOut)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("-json with one node completing and one failing: exit %d, output:\n%s", code, &out)
	}
	var r handshake.Result // the line reads back into a Result
	if err := json.Unmarshal([]byte(lines[1]), &r); err != nil || r.Status != handshake.StatusPartiallyOK || r.Err == nil || !strings.Contains(r.Err.Error(), "peer closed") {
		t.Errorf("second line %q: %+v %v", lines[1], r, err)
	}

	// No handshake completed: exit 1, a partial one not counting.
	out.Reset()
	if code = run([]string{bad.Addr(), bad.Addr()}, &out, &errOut); code != 1 {
		t.Errorf("no node completing: exit %d, output:\n%s", code, &out)
	}
}

// TestDialEscapesPeerStrings: a user agent, commands and feature IDs that
// carry terminal escapes are printed escaped, with the features and the
// ignored messages listed; -json keeps the raw bytes.
func TestDialEscapesPeerStrings(t *testing.T) {
	evil := handshaketest.Config{
		UserAgent:       "/Evil:1.0/\x1b]0;pwned\x07\x1b[2J",
		ProtocolVersion: 70017,
		Features:        []handshaketest.Feature{{ID: "BIP434", Data: []byte{1, 2}}, {ID: "id\x1b[31m", Data: nil}},
	}
	p, err := handshaketest.NewPeer(evil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	verackFirst, err := handshaketest.NewPeer(handshaketest.Config{Behavior: handshaketest.VerackBeforeVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer verackFirst.Close()

	var out, errOut bytes.Buffer
	if code := run([]string{p.Addr(), verackFirst.Addr()}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, &out, &errOut)
	}
	for _, want := range []string{
		`user agent   /Evil:1.0/\x1b\x5d0;pwned\x07\x1b\x5b2J`,
		`features     BIP434:0102, id\x1b\x5b31m:`,
		`ignored      verack (before version)`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
	if strings.ContainsAny(out.String(), "\x1b\x07") {
		t.Errorf("raw control bytes reached the output:\n%q", &out)
	}

	out.Reset()
	run([]string{"-json", p.Addr()}, &out, &errOut)
	var r struct {
		Peer struct {
			UserAgent string `json:"user_agent"`
		}
		Features []struct{ ID, Data string }
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Peer.UserAgent != evil.UserAgent ||
		len(r.Features) != 2 || r.Features[1].ID != "id\x1b[31m" || r.Features[0].Data != "0102" {
		t.Errorf("-json: %+v, %v (from %s)", r, err, &out)
	}
}

func TestDialBadInput(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-network", "moon", "127.0.0.1"},
		{"-timeout", "0s", "127.0.0.1"},
		{"-transport", "v9", "127.0.0.1"},
		{"-nope"},
		{"127.0.0.1:notaport"},
		{"127.0.0.1:70000"},
		{"127.0.0.1:0"},
		{"[::1]:65536"},
		{"host name"},
	} {
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		if code != 2 || out.Len() != 0 || strings.Count(errOut.String(), "\n") != 1 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want one line and exit 2", args, code, &out, &errOut)
		}
		if len(args) == 1 && !strings.HasPrefix(args[0], "-") && !strings.Contains(errOut.String(), "address \""+args[0]+"\"") {
			t.Errorf("%q: %q does not name the address", args, &errOut)
		}
	}
}

// The usage line, on -h and on a usage error, says the addresses are
// arguments; -h also gives the exit rule and ends with status 0.
func TestDialUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-h"}, &out, &errOut); code != 0 || out.Len() != 0 {
		t.Errorf("-h: exit %d, stdout %q", code, &out)
	}
	for _, want := range []string{"usage: dial [-network name] [-transport auto|v1|v2] [-json] [-timeout d] host[:port]...\n",
		"each node whose address is an argument", "-transport", "Exit status: 0 when at least one handshake completed"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("-h lacks %q:\n%s", want, &errOut)
		}
	}
	errOut.Reset()
	if code := run(nil, &out, &errOut); code != 2 || !strings.HasSuffix(errOut.String(), "host[:port]...)\n") {
		t.Errorf("no address: exit %d, %q", code, &errOut)
	}
}
