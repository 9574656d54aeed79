package report

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image/png"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// screenshot, when set, is where TestReportInBrowser saves its picture of
// the demo report (make screenshot sets it to docs/report.png).
var screenshot = flag.String("screenshot", "", "save a PNG of the demo report here")

// chromium finds the browser, or ends the test: it fails under CI, where
// .ci/run installs the browser, and skips with the reason elsewhere.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH, and CI=true: the browser test must run (.ci/run installs Debian's chromium)")
	}
	t.Skip("SKIPPED: no chromium on PATH; install it (apt-get install chromium) to run the browser test")
	return ""
}

// browser is a headless Chromium tab that records what a page must never
// do: write a console error, throw, open a dialog, or request anything but
// the page itself.
type browser struct {
	ctx context.Context

	mu       sync.Mutex
	allowed  string   // the one URL the tab may load
	problems []string // what it did wrong
}

func newBrowser(t *testing.T, path string) *browser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.DisableGPU,
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(acancel)
	b := &browser{}
	tctx, tcancel := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	t.Cleanup(tcancel)
	b.ctx = tctx
	return b
}

// listen runs on the tab's reading loop: it only records.
func (b *browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			b.problems = append(b.problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
		}
	case *runtime.EventExceptionThrown:
		b.problems = append(b.problems, "exception: "+ev.ExceptionDetails.Text)
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			b.problems = append(b.problems, fmt.Sprintf("console error (%s): %s", ev.Entry.Source, ev.Entry.Text))
		}
	case *network.EventRequestWillBeSent:
		if ev.Request.URL != b.allowed {
			b.problems = append(b.problems, "request: "+ev.Request.URL)
		}
	case *network.EventLoadingFailed:
		b.problems = append(b.problems, fmt.Sprintf("failed request %s: %s %s", ev.RequestID, ev.ErrorText, ev.BlockedReason))
	case *cdppage.EventJavascriptDialogOpening:
		b.problems = append(b.problems, "dialog: "+ev.Message)
	}
}

// open loads the file at path in the tab.
func (b *browser) open(t *testing.T, path string) {
	t.Helper()
	u := (&url.URL{Scheme: "file", Path: path}).String()
	b.mu.Lock()
	b.allowed = u
	b.mu.Unlock()
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(u)); err != nil {
		t.Fatal(err)
	}
}

// check fails the test on anything the page did wrong so far.
func (b *browser) check(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Error(p)
	}
	b.problems = nil
}

func eval[T any](t *testing.T, b *browser, js string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// demoPage runs the real crawl program on its simulated network with
// -report, as a user would, and returns the page it wrote.
func demoPage(t *testing.T) (page string, crawled map[string]int) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "crawl")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/bitcoin-handshake/handshake/examples/crawl").CombinedOutput(); err != nil {
		t.Fatalf("go build crawl: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	page = filepath.Join(dir, "report.html")
	var errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-demo", "-demo-peers", "300", "-demo-unreachable", "20", "-report", page)
	cmd.Stdout, cmd.Stderr = &errOut, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("crawl -demo -report: %v\n%s", err, errOut.Bytes())
	}
	// What the crawl says it crawled, network by network, is what the
	// page must show: the demo's IPv6 nodes depend on the host having [::1].
	crawled = map[string]int{}
	for _, m := range regexp.MustCompile(`Network (\w+): (\d+) addresses`).FindAllStringSubmatch(errOut.String(), -1) {
		crawled[m[1]], _ = strconv.Atoi(m[2])
	}
	if crawled["ipv4"] != 320 || crawled["onion"] == 0 || crawled["i2p"] == 0 {
		t.Fatalf("the demo crawl's networks: %v, want 320 IPv4 addresses and onion and I2P ones\n%s", crawled, errOut.Bytes())
	}
	return page, crawled
}

func writePage(t *testing.T, d *Data) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Render(f, d); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// minCell is the narrowest a table cell may be and still be read.
const minCell = 30

// tableFits checks that no cell of the node table is squeezed to a sliver
// and that the table needs no sideways scrolling in its card.
func tableFits(t *testing.T, b *browser) {
	t.Helper()
	type cell struct {
		Col, Text string
		W         float64
	}
	narrow := eval[[]cell](t, b, `Array.from(document.querySelectorAll("#nodes tr")).flatMap(tr =>
		Array.from(tr.cells).map((c, i) => ({Col: document.querySelector("#nodes thead").rows[0].cells[i].textContent,
			Text: c.textContent, W: c.getBoundingClientRect().width})))
		.filter(c => c.W < `+fmt.Sprint(minCell)+`)`)
	if len(narrow) > 0 {
		t.Errorf("%d table cells narrower than %d px, the first: %+v", len(narrow), minCell, narrow[0])
	}
	if over := eval[float64](t, b, `(s => s.scrollWidth - s.clientWidth)(document.querySelector("#nodes").parentElement)`); over > 0 {
		t.Errorf("the node table is %v px wider than its card", over)
	}
}

// tableLayout checks the node table as first opened at 1440 px: it fits
// (tableFits), the columns that say what happened are in view and on one
// line, and a failed node's error shows as its step and class, with the
// whole error as the cell's title.
func tableLayout(t *testing.T, b *browser) {
	t.Helper()
	tableFits(t, b)
	hidden := eval[[]string](t, b, `(() => {
		const box = document.querySelector("#nodes").parentElement.getBoundingClientRect();
		return Array.from(document.querySelectorAll("#nodes th"))
			.filter(th => ["address", "status", "error", "user agent"].includes(th.textContent))
			.filter(th => th.getBoundingClientRect().right > box.right || th.getBoundingClientRect().width < 60)
			.map(th => th.textContent);
	})()`)
	if len(hidden) > 0 {
		t.Errorf("columns %q are not in view in the table's card", hidden)
	}
	// The demo's addresses, statuses, errors and user agents are short: each
	// on one line, none broken where it should not be.
	wrapped := eval[[]string](t, b, `(() => {
		const heads = Array.from(document.querySelector("#nodes thead").rows[0].cells).map(th => th.textContent);
		const cols = ["address", "status", "error", "user agent"].map(h => heads.indexOf(h));
		return Array.from(document.querySelectorAll("#nodes tbody tr")).flatMap(tr => cols.map(i => tr.cells[i]))
			.filter(td => {
				// The lines of the cell's text, whatever elements hold it.
				const lines = new Set(), w = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
				for (let n = w.nextNode(); n; n = w.nextNode()) {
					const r = document.createRange();
					r.selectNodeContents(n);
					for (const q of r.getClientRects()) lines.add(Math.round(q.top));
				}
				return lines.size > 1;
			}).map(td => td.textContent);
	})()`)
	if len(wrapped) > 0 {
		t.Errorf("%d cells wrap onto more lines, the first %q", len(wrapped), wrapped[0])
	}

	type failure struct {
		Addr, Status, Head, Text, Title string
		Lines                           int
	}
	f := eval[failure](t, b, `(() => {
		const tr = Array.from(document.querySelectorAll("#nodes tbody tr")).find(tr => tr.cells[2].dataset.v === "FAILED");
		if (!tr) return {};
		const td = tr.cells[3], r = document.createRange();
		r.selectNodeContents(td);
		return {Addr: tr.cells[0].textContent, Status: tr.cells[2].dataset.v,
			Head: document.querySelector("#nodes th:nth-child(4)").textContent,
			Text: td.textContent, Title: td.title, Lines: r.getClientRects().length};
	})()`)
	// The demo's unreachable peers refuse the connection.
	prefix := "handshake: " + f.Addr + ": connect: "
	if f.Status != "FAILED" || f.Head != "error" || f.Text != "connect · refused" || f.Lines != 1 ||
		!strings.HasPrefix(f.Title, prefix) || !strings.HasSuffix(f.Title, "connection refused") || len(f.Title) <= len(prefix) {
		t.Errorf("a failed node's error cell: %+v; want \"connect · refused\" on one line under \"error\", titled with the whole error", f)
	}
}

type figure struct {
	ID, Class   string
	W, H, BoxW  float64
	Marks       int
	NoneVisible bool
}

// TestReportInBrowser opens the report of a demo crawl in headless
// Chromium: the page loads nothing, logs no error, draws every chart with a
// size, and its node table sorts on a click.
func TestReportInBrowser(t *testing.T) {
	b := newBrowser(t, chromium(t))
	page, crawled := demoPage(t)
	b.open(t, page)
	all := 0
	for _, n := range crawled {
		all += n
	}
	if rows := eval[int](t, b, `document.querySelectorAll("#nodes tbody tr").length`); rows != all {
		t.Errorf("the node table has %d rows, want the %d addresses crawled", rows, all)
	}

	figs := eval[[]figure](t, b, `Array.from(document.querySelectorAll("figure")).map(f => {
		const s = f.querySelector("svg"), r = s ? s.getBoundingClientRect() : {width: 0, height: 0};
		return {ID: f.id, Class: f.className, W: r.width, H: r.height,
			BoxW: s ? s.getBBox().width : 0, Marks: s ? s.querySelectorAll("path, text").length : 0};
	})`)
	want := []string{"outcome", "networks", "fail-steps", "fail-classes", "user-agents", "v2-share", "transports",
		"versions", "services", "features", "negotiation", "latency", "heights"}
	if len(figs) != len(want) {
		t.Errorf("%d figures, want %d", len(figs), len(want))
	}
	for i, f := range figs {
		if i < len(want) && f.ID != "chart-"+want[i] {
			t.Errorf("figure %d is %s, want chart-%s", i, f.ID, want[i])
		}
		if f.Class != "chart" || f.W < 200 || f.H < 40 || f.BoxW <= 0 || f.Marks < 5 {
			t.Errorf("%s not drawn: %+v", f.ID, f)
		}
	}

	tableLayout(t, b)

	// The by-network table counts every address crawled, by network.
	nets := eval[[][]string](t, b, `Array.from(document.querySelectorAll("#networks tbody tr")).map(tr =>
		[tr.dataset.network, tr.cells[1].innerText])`)
	shown := map[string]int{}
	for _, r := range nets {
		shown[r[0]], _ = strconv.Atoi(r[1])
	}
	if len(nets) == 0 || nets[0][0] != "ipv4" || !maps.Equal(shown, crawled) {
		t.Errorf("by-network rows %q, want ipv4 first and the crawl's own counts %v", nets, crawled)
	}

	// The table sorts by handshake time, as numbers (1.9 < 38.7 < 153.7, which
	// as text would not be), both ways, and by user agent.
	const times = `Array.from(document.querySelectorAll("#nodes tbody tr")).map(tr => tr.cells[10].textContent)`
	before := eval[[]string](t, b, times)
	num := func(s string) float64 {
		var f float64
		if _, err := fmt.Sscan(s, &f); err != nil {
			return -1 << 62
		}
		return f
	}
	cmpNum := func(x, y string) int { return cmpFloat(num(x), num(y)) }
	heads := eval[[]string](t, b, `[6, 11].map(i => document.querySelector("#nodes th:nth-child(" + i + ")").textContent)`)
	if !slices.Equal(heads, []string{"user agent", "handshake ms"}) {
		t.Fatalf("columns 6 and 11 are %q, want the user agent and handshake ms the clicks below sort by", heads)
	}
	if slices.IsSortedFunc(before, cmpNum) {
		t.Fatalf("the table is sorted by handshake time before any click; the test proves nothing: %q", before)
	}
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS("#nodes th:nth-child(11)"))); err != nil {
		t.Fatal(err)
	}
	up := eval[[]string](t, b, times)
	if !slices.IsSortedFunc(up, cmpNum) || !sameItems(before, up) {
		t.Errorf("after one click on handshake ms, not ascending: %q", up)
	}
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS("#nodes th:nth-child(11)"))); err != nil {
		t.Fatal(err)
	}
	down := eval[[]string](t, b, times)
	if !slices.IsSortedFunc(down, func(x, y string) int { return cmpNum(y, x) }) || !sameItems(before, down) {
		t.Errorf("after a second click on handshake ms, not descending: %q", down)
	}
	if sort := eval[string](t, b, `document.querySelector("#nodes th:nth-child(11)").getAttribute("aria-sort")`); sort != "descending" {
		t.Errorf("aria-sort %q", sort)
	}
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS("#nodes th:nth-child(6)"))); err != nil {
		t.Fatal(err)
	}
	agents := eval[[]string](t, b, `Array.from(document.querySelectorAll("#nodes tbody tr")).map(tr => tr.cells[5].textContent.toLowerCase())`)
	if !slices.IsSorted(agents) {
		t.Errorf("after a click on user agent, not in order: %q", agents)
	}

	if *screenshot != "" {
		// The picture shows the page as first opened.
		b.open(t, page)
		shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil || img.Bounds().Dx() != 1440 {
			t.Fatalf("screenshot: %v, %v", err, img)
		}
		if err := os.WriteFile(*screenshot, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%dx%d)", *screenshot, img.Bounds().Dx(), img.Bounds().Dy())
	}
	b.check(t)
}

// TestReportInBrowserHostile opens a page holding a hostile user agent and
// a malformed line: the browser shows them as text and runs nothing.
func TestReportInBrowserHostile(t *testing.T) {
	b := newBrowser(t, chromium(t))
	d := &Data{}
	in := `{"addr":"198.51.100.7:8333","status":"OK","transport":"v2","peer":{"protocol_version":70016,"user_agent":"` +
		strings.ReplaceAll(hostile, `"`, `\"`) + `","start_height":1},"features":[{"id":"<svg onload=alert(2)>","data":""}],"total_ms":2,` +
		`"error":"handshake: 198.51.100.7:8333: read verack: ` + strings.ReplaceAll(hostile, `"`, `\"`) + `"}` +
		"\n" + hostile + "\n" +
		// The longest strings a peer or an address can bring wrap in their
		// cells and leave the other columns readable.
		`{"addr":"` + strings.Repeat("a", 56) + `.onion:8333","status":"OK","transport":"v2","peer":{"protocol_version":70016,` +
		`"user_agent":"/` + strings.Repeat("x", 254) + `/","start_height":1},"features":[{"id":"` + strings.Repeat("f", 200) +
		`","data":""}],"total_ms":2}` + "\n"
	if err := d.Load(strings.NewReader(in), "hostile"); err != nil {
		t.Fatal(err)
	}
	b.open(t, writePage(t, d))
	tableFits(t, b)
	got := eval[map[string]any](t, b, `({
		imgs: document.querySelectorAll("img").length,
		scripts: document.scripts.length,
		ua: document.querySelector("#nodes td.ua").textContent,
		err: document.querySelector("#nodes td.err").textContent,
		title: document.querySelector("#nodes td.err").title,
		bad: document.querySelector("#malformed code").textContent,
		svgs: document.querySelectorAll("figure svg").length,
		inner: document.querySelectorAll("figure svg svg").length,
	})`)
	if got["imgs"] != float64(0) || got["scripts"] != float64(1) || got["ua"] != hostile || got["bad"] != hostile ||
		got["inner"] != float64(0) || got["err"] != "read verack · other" ||
		got["title"] != "handshake: 198.51.100.7:8333: read verack: "+hostile {
		t.Errorf("the hostile strings became markup: %v", got)
	}
	b.check(t)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sameItems(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
