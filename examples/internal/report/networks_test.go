package report

import (
	"reflect"
	"strings"
	"testing"
)

// everyNetworkLines are records of every network as the programs write
// them: crawl -json records (with "depth" and "error_kind"), sweep -json
// lines (with "network" and "error_kind" beside the handshake's keys), and
// an older sweep line with neither.
const everyNetworkLines = `{"addr":"203.0.113.1:8333","network":"ipv4","chain":"mainnet","depth":0,"services":1,"time":"2026-12-06T20:00:00Z","status":"OK","handshake":{"addr":"203.0.113.1:8333","status":"OK","transport":"v1"},"addrs_given":0,"addrs_new":0}
{"addr":"203.0.113.2:8333","network":"ipv4","chain":"mainnet","depth":1,"services":1,"time":"2026-12-06T20:00:00Z","status":"FAILED","handshake":{"addr":"203.0.113.2:8333","status":"FAILED","transport":"v2"},"error":"handshake: 203.0.113.2:8333: connect: context deadline exceeded","error_kind":"timeout","addrs_given":0,"addrs_new":0}
{"addr":"aaaa.onion:8333","network":"onion","chain":"mainnet","depth":1,"services":1,"time":"2026-12-06T20:00:00Z","status":"OK","handshake":{"addr":"aaaa.onion:8333","status":"OK","transport":"v2"},"addrs_given":0,"addrs_new":0}
{"addr":"bbbb.onion:8333","network":"onion","chain":"mainnet","depth":1,"services":1,"time":"2026-12-06T20:00:00Z","status":"FAILED","handshake":{"addr":"bbbb.onion:8333","status":"FAILED","transport":"v2"},"error":"handshake: bbbb.onion:8333: connect: proxy 127.0.0.1:9050: bbbb.onion:8333: proxy could not connect: socks5 reply 0xf0: onion service descriptor can not be found","error_kind":"onion-not-found","addrs_given":0,"addrs_new":0}
{"addr":"cccc.onion:8333","network":"onion","chain":"mainnet","depth":1,"services":1,"time":"2026-12-06T20:00:00Z","status":"SKIPPED","skipped":"proxy 127.0.0.1:9050 down","error_kind":"proxy-down","addrs_given":0,"addrs_new":0}
{"network":"i2p","error_kind":"","addr":"dddd.b32.i2p:0","status":"OK","transport":"v2","negotiation":[],"received":[],"bytes_sent":1,"bytes_received":1}
{"network":"i2p","error_kind":"i2p-not-found","addr":"eeee.b32.i2p:0","status":"FAILED","transport":"v2","negotiation":[],"received":[],"bytes_sent":0,"bytes_received":0,"error":"handshake: eeee.b32.i2p:0: connect: proxy 127.0.0.1:7656: eeee.b32.i2p:0: proxy could not connect: sam result KEY_NOT_FOUND"}
{"addr":"ffff.onion:8333","status":"FAILED","transport":"v2","negotiation":[],"received":[],"bytes_sent":0,"bytes_received":0,"error":"handshake: ffff.onion:8333: connect: proxy 127.0.0.1:9050: ffff.onion:8333: proxy could not connect: socks5 reply 0xf2: onion service introduction failed"}
`

func everyNetwork(t *testing.T) *Data {
	t.Helper()
	d := &Data{}
	if err := d.Load(strings.NewReader(everyNetworkLines), "nodes.jsonl"); err != nil || d.BadLines != 0 {
		t.Fatalf("%v, %d bad lines: %+v", err, d.BadLines, d.Malformed)
	}
	return d
}

// TestSummaryByNetwork: every figure by network, from crawl records, sweep
// lines with their kinds, and an older line whose kind is read from the
// proxy's answer in its error.
func TestSummaryByNetwork(t *testing.T) {
	s := Summarize(everyNetwork(t))
	want := []NetworkRow{
		{Network: "ipv4", Nodes: 2, OK: 1, Failed: 1, Failures: []Count{{"timeout", 1}}},
		{Network: "onion", Nodes: 4, OK: 1, Failed: 2, Skip: 1, V2: 1, Failures: []Count{{"onion-intro-failed", 1}, {"onion-not-found", 1}}},
		{Network: "i2p", Nodes: 2, OK: 1, Failed: 1, V2: 1, Failures: []Count{{"i2p-not-found", 1}}},
	}
	if !reflect.DeepEqual(s.ByNetwork, want) {
		t.Errorf("by network:\n got %+v\nwant %+v", s.ByNetwork, want)
	}
	if got := []string{s.ByNetwork[0].V2Share(), s.ByNetwork[1].V2Share()}; !reflect.DeepEqual(got, []string{"0%", "100%"}) {
		t.Errorf("v2 shares %v", got)
	}
}

// TestKindOfText: a failure known only by its text (the seeder's database)
// gets the kind the library gives it.
func TestKindOfText(t *testing.T) {
	for msg, want := range map[string]string{
		"connect: proxy 127.0.0.1:9050: x.onion:8333: proxy could not connect: socks5 reply 0xf0: onion service descriptor can not be found": "onion-not-found",
		"connect: proxy 127.0.0.1:9050: x.onion:8333: proxy could not connect: socks5 reply 0xf7: onion service introduction timed out":      "onion-intro-timeout",
		"connect: proxy 127.0.0.1:9050: x.onion:8333: proxy could not connect: socks5 reply 0x99: unknown":                                   "socks-unknown-code",
		"connect: proxy 127.0.0.1:7656: y.b32.i2p:0: proxy could not connect: sam result CANT_REACH_PEER":                                    "i2p-cant-reach-peer",
		"connect: proxy 127.0.0.1:9050: x.onion:8333: proxy down: cannot connect: connection refused":                                        "proxy-down",
		"handshake: 192.0.2.1:8333: connect: dial tcp 192.0.2.1:8333: connect: connection refused":                                           "refused",
	} {
		_, class := classify("", msg)
		if got := kindOf(msg, class); got != want {
			t.Errorf("%q: %q, want %q", msg, got, want)
		}
	}
}

// TestReportNetworksInBrowser: Chromium renders the by-network table of a
// report of every network: a row per network in order, with its reached
// count, v2 share and failure kinds, laid out within its card.
func TestReportNetworksInBrowser(t *testing.T) {
	b := newBrowser(t, chromium(t))
	b.open(t, writePage(t, everyNetwork(t)))
	rows := eval[[][]string](t, b, `Array.from(document.querySelectorAll("#networks tbody tr")).map(tr =>
		Array.from(tr.cells).map(c => c.innerText.trim()))`)
	want := [][]string{
		{"ipv4", "2", "1", "0%", "0", "1", "timeout 1", "0"},
		{"onion", "4", "1", "100%", "0", "2", "onion-intro-failed 1, onion-not-found 1", "1"},
		{"i2p", "2", "1", "100%", "0", "1", "i2p-not-found 1", "0"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("by-network rows as rendered:\n got %q\nwant %q", rows, want)
	}
	type box struct{ W, H, Over float64 }
	bx := eval[box](t, b, `(s => { const r = s.getBoundingClientRect();
		return {W: r.width, H: r.height, Over: s.scrollWidth - s.clientWidth}; })(document.querySelector("#by-network"))`)
	if bx.W < 300 || bx.H < 60 || bx.Over > 0 {
		t.Errorf("the by-network section is not laid out in view: %+v", bx)
	}
}
