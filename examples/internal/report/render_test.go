package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/bitcoin-handshake/handshake"
)

const hostile = `</script><img src=x onerror=alert(1)>`

// parsePage parses a rendered page the way a browser does and returns its
// root, failing the test on elements the page never draws itself.
func parsePage(t *testing.T, page []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{}
	for _, e := range strings.Fields(`html head meta title style body header h1 h2 p span div b small i ul li code
		main figure section table thead tbody tr th td footer script
		svg g path text rect line polyline circle`) {
		allowed[e] = true
	}
	scripts := 0
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if !allowed[n.Data] {
				t.Errorf("element <%s> in the page", n.Data)
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(strings.ToLower(a.Key), "on") || a.Key == "src" || a.Key == "href" {
					t.Errorf("attribute %s=%q on <%s>", a.Key, a.Val, n.Data)
				}
			}
			if n.Data == "script" {
				scripts++
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if scripts != 1 {
		t.Errorf("%d scripts, want the table's one", scripts)
	}
	return doc
}

// texts returns the text of every element named tag, in order.
func texts(n *html.Node, tag string) []string {
	var out []string
	var text func(n *html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(text(c))
		}
		return b.String()
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == tag {
			out = append(out, text(n))
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

// titles returns the title attribute of every td of class err, in order.
func titles(n *html.Node) []string {
	var out []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "td" {
			class, title := "", ""
			for _, a := range n.Attr {
				switch a.Key {
				case "class":
					class = a.Val
				case "title":
					title = a.Val
				}
			}
			if slices.Contains(strings.Fields(class), "err") {
				out = append(out, title)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

// byID is the element of doc with id, nil when there is none.
func byID(doc *html.Node, id string) *html.Node {
	if doc.Type == html.ElementNode {
		for _, a := range doc.Attr {
			if a.Key == "id" && a.Val == id {
				return doc
			}
		}
	}
	for c := doc.FirstChild; c != nil; c = c.NextSibling {
		if n := byID(c, id); n != nil {
			return n
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

// Strings the peer controls reach the page, the charts included, as text
// and never as markup.
func TestRenderEscapesPeerStrings(t *testing.T) {
	rec := map[string]any{
		"addr": "198.51.100.9:8333", "status": "PARTIALLY OK", "transport": "v2",
		"peer":        map[string]any{"protocol_version": 70016, "services": 1, "user_agent": hostile, "start_height": 5},
		"negotiation": []string{hostile + "cmd"},
		"features":    []map[string]string{{"id": hostile + "feature", "data": "00"}},
		"error":       "handshake: 198.51.100.9:8333: read verack: " + hostile,
		"total_ms":    3,
	}
	d := &Data{Facts: Facts{Title: hostile + "title", Network: hostile + "net"}}
	if err := d.Add(rec); err != nil {
		t.Fatal(err)
	}
	if err := d.Load(strings.NewReader(hostile+"\n"), hostile+"source"); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Render(&b, d); err != nil {
		t.Fatal(err)
	}
	doc := parsePage(t, b.Bytes())
	if tds := texts(doc, "td"); !contains(tds, hostile) || !contains(tds, hostile+"feature") {
		t.Errorf("the hostile strings are not in the table as text: %q", tds)
	}
	// The error cell shows the step and class; its title, the whole error.
	if tds, ts := texts(doc, "td"), titles(doc); !contains(tds, "read verack · other") ||
		len(ts) != 1 || ts[0] != "handshake: 198.51.100.9:8333: read verack: "+hostile {
		t.Errorf("the error cell is not the step and class titled with the whole error: %q", ts)
	}
	// The charts label bars with the user agent, shortened, and the command.
	if svgText := texts(doc, "text"); !contains(svgText, label(hostile)) || !contains(svgText, label(hostile+"cmd")) {
		t.Errorf("the charts lack the hostile labels as text: %q", svgText)
	}
	if !contains(texts(doc, "code"), hostile) || !contains(texts(doc, "h1"), hostile+"title") {
		t.Error("the malformed line or the title is not shown as text")
	}
}

// The page's policy allows its one script by hash and nothing from any
// host.
func TestRenderPolicy(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, &Data{}); err != nil {
		t.Fatal(err)
	}
	script, err := assets.ReadFile("assets/sort.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(script)
	page := b.String()
	if !strings.Contains(page, "<script>"+string(script)+"</script>") {
		t.Error("the script is not inlined as is")
	}
	csp := "default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;; img-src data:; base-uri &#39;none&#39;; form-action &#39;none&#39;; script-src &#39;sha256-" +
		base64.StdEncoding.EncodeToString(sum[:]) + "&#39;"
	if !strings.Contains(page, `<meta http-equiv="Content-Security-Policy" content="`+csp+`">`) {
		t.Errorf("no policy naming the script's hash in:\n%s", page[:600])
	}
	if strings.Contains(page, "http://") && !strings.Contains(page, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Error("the page names a host")
	}
}

// An empty input is a readable page saying so; a few nodes draw what they
// can and say why the rest is empty.
func TestRenderEmptyAndTiny(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, &Data{}); err != nil {
		t.Fatal(err)
	}
	doc := parsePage(t, b.Bytes())
	if !contains(texts(doc, "div"), "held no nodes") || len(texts(doc, "svg")) != 0 {
		t.Error("an empty input is not said to be empty, or draws charts")
	}
	if got := len(texts(doc, "figure")); got != 13 {
		t.Errorf("%d figures, want 13, each saying why it is empty", got)
	}

	d := &Data{}
	if err := d.AddJSON([]byte(`{"addr":"192.0.2.1:8333","status":"FAILED","error":"handshake: 192.0.2.1:8333: connect: connection refused"}`)); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := Render(&b, d); err != nil {
		t.Fatal(err)
	}
	doc = parsePage(t, b.Bytes())
	// Outcome, networks, failure step and class.
	if got := len(texts(doc, "svg")); got != 4 {
		t.Errorf("one failed node draws %d charts, want 4", got)
	}
	if !contains(texts(doc, "div"), "No node sent its version.") {
		t.Error("the empty charts do not say why")
	}
}

// WriteFile takes the programs' own values: here the library's Result.
func TestWriteFileResults(t *testing.T) {
	results := []handshake.Result{
		{Addr: "192.0.2.1:8333", Status: handshake.StatusOK, Transport: handshake.TransportV2,
			Peer:    handshake.PeerVersion{ProtocolVersion: 70016, UserAgent: "/Satoshi:29.0.0/", StartHeight: 10},
			Timings: handshake.Timings{Connect: time.Millisecond, PeerVersion: 2 * time.Millisecond, PeerVerack: 3 * time.Millisecond, Total: 4 * time.Millisecond}},
		{Addr: "192.0.2.2:8333", Status: handshake.StatusFailed, Transport: handshake.TransportV2,
			Err: &handshake.Error{Addr: "192.0.2.2:8333", Step: handshake.StepConnect, Err: errors.New("connection refused")}},
	}
	path := filepath.Join(t.TempDir(), "report.html")
	f := Facts{Program: "sweep", Network: "mainnet", Start: time.Date(2026, 11, 29, 19, 0, 0, 0, time.UTC),
		Elapsed: 1500 * time.Millisecond, Addresses: 2, Skipped: 3, Concurrency: 16}
	if err := WriteFile(path, f, results); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := parsePage(t, page)
	facts := strings.Join(texts(doc, "p"), "\n")
	for _, want := range []string{"mainnet", "started 2026-11-29 19:00:00 UTC", "ran 1.5s", "2 addresses", "3 skipped", "concurrency 16"} {
		if !strings.Contains(facts, want) {
			t.Errorf("the header lacks %q:\n%s", want, facts)
		}
	}
	tds := texts(doc, "td")
	if !contains(tds, "/Satoshi:29.0.0/") || !contains(tds, "connect · refused") ||
		!slices.Equal(titles(doc), []string{"handshake: 192.0.2.2:8333: connect: connection refused"}) {
		t.Errorf("table %q, error titles %q", tds, titles(doc))
	}
	// A value that is no record is counted, as a bad line would be.
	if err := WriteFile(path, f, []json.RawMessage{json.RawMessage(`{"no":"record"}`)}); err != nil {
		t.Fatal(err)
	}
	if page, _ := os.ReadFile(path); !bytes.Contains(page, []byte("1 input line could not be read")) {
		t.Error("a record that is no record was not reported")
	}
	if err := WriteFile(filepath.Join(t.TempDir(), "no", "such", "dir"), f, results); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

// A large input draws every node in the charts and the first MaxRows in
// the table.
func TestRenderBoundsTable(t *testing.T) {
	d := &Data{}
	for i := range MaxRows + 5 {
		d.AddNode(Node{Addr: fmt.Sprintf("10.%d.%d.%d:8333", i>>16, i>>8&255, i&255), Network: "ipv4", Status: StatusOK, Depth: -1})
	}
	var b bytes.Buffer
	if err := Render(&b, d); err != nil {
		t.Fatal(err)
	}
	doc := parsePage(t, b.Bytes())
	if rows := len(texts(byID(doc, "nodes"), "tr")); rows != MaxRows+1 { // and the head
		t.Errorf("%d table rows, want %d", rows, MaxRows+1)
	}
	if !contains(texts(doc, "p"), "the first 10000 nodes; 5 more are counted in the charts only") {
		t.Error("the page does not say the table is cut")
	}
	if !contains(texts(doc, "b"), "10005") {
		t.Error("the tiles do not count every node")
	}
}

// BenchmarkRender renders a 10,000-node crawl; page/input is the page's size
// against the JSON lines it was made from.
func BenchmarkRender(b *testing.B) {
	lines, err := os.ReadFile("testdata/crawl.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	var in bytes.Buffer
	for in.Len() == 0 || bytes.Count(in.Bytes(), []byte("\n")) < 10000 {
		in.Write(lines)
	}
	d := &Data{}
	if err := d.Load(bytes.NewReader(in.Bytes()), "bench"); err != nil {
		b.Fatal(err)
	}
	var page bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		page.Reset()
		if err := Render(&page, d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(page.Len())/float64(in.Len()), "page/input")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(d.Nodes)), "ns/node")
}

// Every row has a cell under every heading, whatever its outcome, and the
// error column says what went wrong in a few words: nothing, the step and
// class, or why the address was skipped.
func TestRenderErrorColumn(t *testing.T) {
	d := &Data{}
	for _, rec := range []string{
		`{"addr":"192.0.2.1:8333","status":"OK","transport":"v1","peer":{"protocol_version":70016,"user_agent":"/a/"},"total_ms":1}`,
		`{"addr":"192.0.2.2:8333","status":"FAILED","error":"handshake: 192.0.2.2:8333: key exchange: i/o timeout"}`,
		`{"addr":"10.0.0.1:8333","status":"SKIPPED","skipped":"private address","depth":1,"addrs_given":0}`,
	} {
		if err := d.AddJSON([]byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := Render(&b, d); err != nil {
		t.Fatal(err)
	}
	doc := parsePage(t, b.Bytes())
	var rows [][]string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "tr" {
			var cells []string
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode {
					cells = append(cells, texts(c, c.Data)[0])
				}
			}
			rows = append(rows, cells)
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(byID(doc, "nodes"))
	if len(rows) != 4 {
		t.Fatalf("%d rows, want a heading and 3 nodes: %q", len(rows), rows)
	}
	if rows[0][3] != "error" {
		t.Fatalf("column 4 is %q, want the error", rows[0][3])
	}
	for i, want := range []string{"", "key exchange · timeout", "private address"} {
		if r := rows[i+1]; len(r) != len(rows[0]) || r[3] != want {
			t.Errorf("row %d: %q; want %d cells, the error column %q", i+1, r, len(rows[0]), want)
		}
	}
	if ts := titles(doc); !slices.Equal(ts, []string{"handshake: 192.0.2.2:8333: key exchange: i/o timeout"}) {
		t.Errorf("error titles %q", ts)
	}
}

func TestShortAddr(t *testing.T) {
	onion := strings.Repeat("a", 50) + "bcdefg.onion:8333"
	i2p := "ovkb7mn4rd4s2m5us2t5ztjleiasknh43rxzvx7ty7zgqqcs2mgq.b32.i2p:0"
	for in, want := range map[string]string{
		onion:                "aaaaa…efg.onion:8333",
		i2p:                  "ovkb7…mgq.b32.i2p:0",
		"203.0.113.7:8333":   "203.0.113.7:8333",
		"[2001:db8::1]:8333": "[2001:db8::1]:8333",
		"short.onion:8333":   "short.onion:8333",
		"no port.onion":      "no port.onion",
	} {
		if got := shortAddr(in); got != want {
			t.Errorf("shortAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
