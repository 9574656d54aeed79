package main

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// progress keeps a "done/found" line on stderr while crawling, when stderr
// is a terminal; otherwise it does nothing, so logs and pipes stay clean.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	on       bool
	n, total int
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	if !ok {
		return &progress{}
	}
	st, err := f.Stat()
	return &progress{w: w, on: err == nil && st.Mode()&os.ModeCharDevice != 0}
}

func (p *progress) found(total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = total
	p.draw()
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	p.draw()
}

// clear erases the line so a log line can take its place.
func (p *progress) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func (p *progress) draw() {
	if p.on && p.total > 0 {
		fmt.Fprintf(p.w, "\r\033[K%d of %d addresses found dialled", p.n, p.total)
	}
}
