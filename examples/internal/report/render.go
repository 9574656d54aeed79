package report

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

//go:embed assets/page.html assets/sort.js
var assets embed.FS

// page is what the template sees.
type page struct {
	Facts                  Facts
	S                      Summary
	StartText, ElapsedText string
	V2Share                string
	Agents                 int
	MaxHeight              int32
	BadLines               int
	Malformed              []Malformed
	Charts                 []Chart
	Crawl                  bool // some rows are crawl records: show depth and addresses
	Rows                   []Node
	Hidden                 int // nodes beyond MaxRows, left out of the table
	CSP                    string
	Script                 template.JS
}

// MaxRows bounds the node table, so that a large crawl or seeder database
// still makes a page a browser opens quickly; the charts count every node.
const MaxRows = 10000

// tmpl parses the page once per Render: templates are cheap to parse and
// this keeps the package free of mutable globals.
func tmpl() (*template.Template, error) {
	return template.New("page.html").Funcs(template.FuncMap{
		"ms": func(v float64) string {
			if v <= 0 {
				return ""
			}
			return strconv.FormatFloat(v, 'f', 1, 64)
		},
		"shortAddr": shortAddr,
		"statusClass": func(s string) string {
			switch s {
			case StatusOK:
				return "OK"
			case StatusPartiallyOK:
				return "PARTIALLY"
			case StatusSkipped:
				return "SKIPPED"
			}
			return "FAILED"
		},
	}).ParseFS(assets, "assets/page.html")
}

// shortAddr keeps an onion or I2P address (56 or 52 characters of name)
// to one line of the node table: the name's first and last characters
// around an ellipsis, the network's suffix and the port kept; the page
// shows the whole address on hover and sorts by it.
func shortAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	for _, suffix := range []string{".onion", ".b32.i2p"} {
		name, ok := strings.CutSuffix(host, suffix)
		if ok && len(name) > 16 {
			return name[:5] + "…" + name[len(name)-3:] + suffix + ":" + port
		}
	}
	return addr
}

// Render writes d as one self-contained HTML page to w: the run's facts,
// the charts, and a table of nodes that sorts by any column. The page
// requests nothing from any host: its styles, script and charts are inline,
// and its Content-Security-Policy forbids everything else.
func Render(w io.Writer, d *Data) error {
	t, err := tmpl()
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	script, err := assets.ReadFile("assets/sort.js")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	sum := sha256.Sum256(script)
	s := Summarize(d)
	p := page{
		Facts: s.Facts, S: s, BadLines: d.BadLines, Malformed: d.Malformed,
		Charts: charts(&s), Rows: d.Nodes[:min(len(d.Nodes), MaxRows)], MaxHeight: s.MaxHeight,
		Hidden: max(0, len(d.Nodes)-MaxRows),
		Script: template.JS(script),
		CSP: "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; " +
			"script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'",
	}
	if !s.Facts.Start.IsZero() {
		p.StartText = s.Facts.Start.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	if s.Facts.Elapsed > 0 {
		p.ElapsedText = s.Facts.Elapsed.Round(time.Millisecond).String()
	}
	v1, v2 := 0, 0
	for _, t := range s.Transports {
		switch t.Label {
		case "v2":
			v2 += t.N
		default:
			v1 += t.N
		}
	}
	p.V2Share = "–"
	if v1+v2 > 0 {
		p.V2Share = fmt.Sprintf("%d%%", 100*v2/(v1+v2))
	}
	agents := map[string]bool{}
	for _, n := range d.Nodes {
		if n.HasPeer {
			agents[n.UserAgent] = true
		}
		p.Crawl = p.Crawl || n.HasAddrs
	}
	p.Agents = len(agents)
	if err := t.Execute(w, p); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// WriteFile writes the report of records — handshake.Result values, crawl
// records, anything that encodes to the JSON the programs print — to path.
// A record that is not one is counted as a malformed line, as in a file.
func WriteFile[T any](path string, f Facts, records []T) error {
	d := &Data{Facts: f}
	for _, r := range records {
		d.Collect(r)
	}
	return d.WriteFile(path)
}

// WriteFile renders d to path.
func (d *Data) WriteFile(path string) (err error) {
	file, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer func() { err = errors.Join(err, file.Close()) }()
	return Render(file, d)
}
