package cli

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	for a, want := range map[string]string{
		"127.0.0.1":              "",
		"127.0.0.1:8333":         "",
		"127.0.0.1:65535":        "",
		"seed.example.org":       "",
		"[2001:db8::1]:1":        "",
		"2001:db8::1":            "",
		"127.0.0.1:0":            `-addr "127.0.0.1:0": port 0 is not a port a node listens on (1 to 65535)`,
		"127.0.0.1:70000":        `-addr "127.0.0.1:70000": port 70000 is over 65535`,
		"127.0.0.1:99999":        `-addr "127.0.0.1:99999": port 99999 is over 65535`,
		"h:99999999999999999999": `-addr "h:99999999999999999999": port 99999999999999999999 is over 65535`,
		"127.0.0.1:-1":           `-addr "127.0.0.1:-1": port "-1" is not a number`,
		"127.0.0.1:x":            `-addr "127.0.0.1:x": port "x" is not a number`,
		"[::1]:":                 `-addr "[::1]:": port "" is not a number`,
		"host name":              `-addr "host name": not a host name or IP address`,
		":8333":                  `-addr ":8333": not a host name or IP address`,
		"a/b:8333":               `-addr "a/b:8333": not a host name or IP address`,
	} {
		err := CheckAddr("-addr", a)
		if got := errString(err); got != want {
			t.Errorf("CheckAddr(%q) = %q, want %q", a, got, want)
		}
	}
}

func TestCheckHostPort(t *testing.T) {
	for _, c := range []struct {
		v      string
		listen bool
		want   string
	}{
		{"", false, ""},
		{"127.0.0.1:53", false, ""},
		{"127.0.0.1:0", true, ""},
		{":53", true, ""},
		{"127.0.0.1:0", false, `-x "127.0.0.1:0": port 0 cannot be dialled (1 to 65535)`},
		{"127.0.0.1:65536", true, `-x "127.0.0.1:65536": port 65536 is over 65535`},
		{"127.0.0.1", false, `-x "127.0.0.1": want host:port`},
	} {
		if got := errString(CheckHostPort("-x", c.v, c.listen)); got != c.want {
			t.Errorf("CheckHostPort(%q, listen %v) = %q, want %q", c.v, c.listen, got, c.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestStatus(t *testing.T) {
	if Status(0) != 1 || Status(1) != 0 || Status(7) != 0 {
		t.Errorf("Status(0, 1, 7) = %d, %d, %d; want 1, 0, 0", Status(0), Status(1), Status(7))
	}
}

// -h prints the usage line, the flags and the exit rule, and ends with
// status 0; a bad flag is one line and status 2.
func TestParseAndUsageError(t *testing.T) {
	fs := NewFlagSet("dial", "dial [flags] host[:port]...", "About dial.", ExitRule)
	fs.Bool("json", false, "print JSON")
	var stderr bytes.Buffer
	err := Parse(fs, []string{"-h"}, &stderr)
	if !errors.Is(err, flag.ErrHelp) || UsageError(&stderr, "dial", err) != ExitOK {
		t.Errorf("-h: %v", err)
	}
	for _, want := range []string{"usage: dial [flags] host[:port]...\n", "About dial.", "-json", "Exit status: 0 when at least one handshake completed"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("-h lacks %q:\n%s", want, &stderr)
		}
	}
	stderr.Reset()
	err = Parse(fs, []string{"-nope"}, &stderr)
	if code := UsageError(&stderr, "dial", err); code != ExitUsage || stderr.String() != "dial: flag provided but not defined: -nope\n" {
		t.Errorf("bad flag: exit %d, %q", code, &stderr)
	}
}
