package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"regexp"
	"testing"

	"github.com/bitcoin-handshake/handshake"
)

func TestLoggerFormat(t *testing.T) {
	var b bytes.Buffer
	NewLogger(&b, "sweep").Log("WARN", "`%s`: %d", "1.2.3.4:8333", 7)
	if !regexp.MustCompile("^\\[\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ WARN  sweep\\] `1.2.3.4:8333`: 7\n$").Match(b.Bytes()) {
		t.Errorf("line %q", b.String())
	}
}

// TestProgressQuietOffTerminal: a pipe or file gets no progress line.
func TestProgressQuietOffTerminal(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, "%d/%d")
	p.SetTotal(3)
	p.Done()
	p.Clear()
	if b.Len() != 0 {
		t.Errorf("wrote %q to a non-terminal", b.String())
	}
}

func TestList(t *testing.T) {
	var l List
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.Var(&l, "seed", "")
	if err := fs.Parse([]string{"-seed", "a", "-seed", "b"}); err != nil || l.String() != "a,b" {
		t.Errorf("List = %q, %v", l, err)
	}
}

func TestCause(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &handshake.Error{Addr: "203.0.113.7:8333", Step: handshake.StepReadVerack, Err: handshake.ErrPeerClosed})
	if got := Cause(err); got != "read verack: peer closed the connection" {
		t.Errorf("Cause = %q", got)
	}
	if got := Cause(errors.New("plain")); got != "plain" {
		t.Errorf("Cause of a plain error = %q", got)
	}
}

// TestCauseEscapes: an error quoting a peer's bytes prints escaped.
func TestCauseEscapes(t *testing.T) {
	err := &handshake.Error{Addr: "a:1", Step: handshake.StepReadVersion, Err: fmt.Errorf("command %s", "\x1b[2J")}
	if got := Cause(err); got != `read version: command \x1b[2J` {
		t.Errorf("Cause = %q", got)
	}
}
