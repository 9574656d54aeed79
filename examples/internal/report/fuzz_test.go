package report

import (
	"bytes"
	"os"
	"testing"
)

// FuzzLoadRender: any input is read without a panic, every non-blank line
// becomes a node or a bad line, and the page renders.
func FuzzLoadRender(f *testing.F) {
	crawl, err := os.ReadFile("testdata/crawl.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range bytes.Split(crawl, []byte("\n"))[:4] {
		f.Add(line)
	}
	f.Add([]byte(`{"addr":"a:1","status":"OK","peer":{"user_agent":"\u0000\n<x>","start_height":-2147483648},"features":["x",{"id":"y"}]}`))
	f.Add([]byte(`{"addr":"a:1","status":"SKIPPED","network":"i2p","depth":-5,"ping_ms":-1}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d := &Data{}
		if err := d.Load(bytes.NewReader(in), "fuzz"); err != nil {
			t.Fatal(err)
		}
		lines := 0
		for _, l := range bytes.Split(in, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				lines++
			}
		}
		if got := len(d.Nodes) + d.BadLines; got != lines {
			t.Fatalf("%d nodes + %d bad lines from %d lines", len(d.Nodes), d.BadLines, lines)
		}
		if err := Render(&bytes.Buffer{}, d); err != nil {
			t.Fatal(err)
		}
	})
}
