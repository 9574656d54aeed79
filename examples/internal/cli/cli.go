// Package cli holds what the bundled programs share: their log format,
// their progress line, repeatable flags and how they print an error.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bitcoin-handshake/handshake"
)

// Cause is err without the "handshake: addr:" prefix of a *handshake.Error,
// for a line that already shows the address: "read verack: peer closed the
// connection". Other errors print whole. Either is escaped (Printable), as
// an error may quote a peer's bytes.
func Cause(err error) string {
	var he *handshake.Error
	if errors.As(err, &he) {
		return Printable(fmt.Sprintf("%s: %v", he.Step, he.Err))
	}
	return Printable(fmt.Sprint(err))
}

// List is a repeatable string flag.
type List []string

func (l *List) String() string     { return strings.Join(*l, ",") }
func (l *List) Set(v string) error { *l = append(*l, v); return nil }

// Logger writes timestamped lines, "[2026-11-25T01:40:07Z INFO  name]
// message", a format that scripts reading such logs already parse. It is
// safe for concurrent use.
type Logger struct {
	mu   sync.Mutex
	w    io.Writer
	name string
}

// NewLogger returns a Logger writing to w under the program's name.
func NewLogger(w io.Writer, name string) *Logger { return &Logger{w: w, name: name} }

// RunLogger returns the log of a run of the program name: on stdout, or on
// stderr when stdout carries the -json records (asJSON).
func RunLogger(name string, asJSON bool, stdout, stderr io.Writer) *Logger {
	if asJSON {
		return NewLogger(stderr, name)
	}
	return NewLogger(stdout, name)
}

// Log writes one line at level (INFO, WARN or ERROR).
func (l *Logger) Log(level, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "[%s %-5s %s] %s\n", time.Now().UTC().Format("2006-01-02T15:04:05Z"), level, l.name, fmt.Sprintf(format, args...))
}

// Progress keeps a one-line count on w while a program works, when w is a
// terminal; otherwise it does nothing, so logs and pipes stay clean.
type Progress struct {
	mu          sync.Mutex
	w           io.Writer
	on          bool
	format      string // with two %d: done, total
	done, total int
}

// NewProgress returns a Progress drawing format (two %d verbs: done and
// total) on w.
func NewProgress(w io.Writer, format string) *Progress {
	p := &Progress{w: w, format: format}
	if f, ok := w.(*os.File); ok {
		st, err := f.Stat()
		p.on = err == nil && st.Mode()&os.ModeCharDevice != 0
	}
	return p
}

// SetTotal sets the count to reach.
func (p *Progress) SetTotal(total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = total
	p.draw()
}

// Done counts one more unit done.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.draw()
}

// Clear erases the line so a log line can take its place.
func (p *Progress) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func (p *Progress) draw() {
	if p.on && p.total > 0 {
		fmt.Fprintf(p.w, "\r\033[K"+p.format, p.done, p.total)
	}
}
