package report

import (
	"os"
	"strings"
	"testing"
)

func TestLoadCrawlRecords(t *testing.T) {
	f, err := os.Open("testdata/crawl.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var d Data
	if err := d.Load(f, "crawl.jsonl"); err != nil {
		t.Fatal(err)
	}
	if len(d.Nodes) != 42 || d.BadLines != 0 {
		t.Fatalf("%d nodes, %d bad lines; want 42, 0: %+v", len(d.Nodes), d.BadLines, d.Malformed)
	}
	byNet := map[string]int{}
	var features, pings, skipped int
	for _, n := range d.Nodes {
		byNet[n.Network]++
		features += len(n.Features)
		if n.HasPing {
			pings++
		}
		if n.Status == StatusSkipped {
			skipped++
			if n.Skipped != "no dialer for i2p" || n.HasPeer {
				t.Errorf("skipped record read as %+v", n)
			}
		}
		if !n.HasAddrs || n.Chain != "mainnet" || n.Depth < 0 {
			t.Errorf("crawl fields lost: %+v", n)
		}
	}
	if byNet["ipv4"] != 24 || byNet["ipv6"] != 8 || byNet["onion"] != 6 || byNet["cjdns"] != 2 || byNet["i2p"] != 2 {
		t.Errorf("networks %v", byNet)
	}
	if features == 0 || pings == 0 || skipped != 2 {
		t.Errorf("features %d, pings %d, skipped %d", features, pings, skipped)
	}
}

// A sweep's handshake results, in today's and older shapes, mixed with lines
// that are not records: each bad line is counted with its number, and the
// reading goes on.
func TestLoadResultsAndMalformedLines(t *testing.T) {
	in := strings.Join([]string{
		`{"addr":"198.51.100.1:8333","status":"OK","transport":"v2","peer":{"protocol_version":70016,"services":3081,"user_agent":"/Satoshi:29.0.0/","start_height":900000},"negotiation":["wtxidrelay"],"features":[{"id":"a:b/1","data":"01"}],"ignored":[{"command":"alert","reason":"obsolete"}],"connect_ms":1.5,"peer_version_ms":3,"peer_verack_ms":3.5,"total_ms":4,"unknown_key":true}`,
		`{"addr":"[2001:db8::1]:8333","status":"PARTIALLY OK","transport":"v1","peer":{"protocol_version":70015,"user_agent":"/old:1.0/"},"features":["wtxidrelay","sendaddrv2"],"error":"handshake: [2001:db8::1]:8333: read verack: context deadline exceeded"}`,
		``,
		`not json at all`,
		`{"addr":"198.51.100.2:8333"}`,
		`[1,2,3]`,
		`{"addr":"[fc00::1]:8333","status":"FAILED","transport":"v2","features":[],"error":"handshake: [fc00::1]:8333: connect: dial tcp [fc00::1]:8333: connect: connection refused"}`,
		`{"addr":"x.onion:8333","status":"FAILED","error":"handshake: x.onion:8333: key exchange: peer closed the connection"}`,
		`   `,
		`{"addr": 12}`,
		`{"addr":"198.51.100.3:8333","status":"OK",` + strings.Repeat(" ", MaxLine) + `}`,
		`{"addr":"198.51.100.4:8333","status":"FAILED"}`,
	}, "\n")
	var d Data
	if err := d.Load(strings.NewReader(in), "sweep.jsonl"); err != nil {
		t.Fatal(err)
	}
	if len(d.Nodes) != 5 {
		t.Fatalf("%d nodes, want 5", len(d.Nodes))
	}
	if d.BadLines != 5 || len(d.Malformed) != 5 {
		t.Fatalf("%d bad lines (%d kept), want 5: %+v", d.BadLines, len(d.Malformed), d.Malformed)
	}
	for i, want := range []int{4, 5, 6, 10, 11} {
		m := d.Malformed[i]
		if m.Line != want || m.Source != "sweep.jsonl" || m.Err == "" {
			t.Errorf("malformed[%d] = %+v, want line %d", i, m, want)
		}
	}
	if !strings.Contains(d.Malformed[4].Err, "longer than") || len(d.Malformed[4].Text) > 120 {
		t.Errorf("long line: %+v", d.Malformed[4])
	}
	ok, old := d.Nodes[0], d.Nodes[1]
	if ok.Network != "ipv4" || ok.Transport != "v2" || ok.UserAgent != "/Satoshi:29.0.0/" || ok.Services != 3081 ||
		ok.StartHeight != 900000 || len(ok.Features) != 1 || ok.Features[0].ID != "a:b/1" ||
		len(ok.Ignored) != 1 || ok.TotalMS != 4 || ok.Depth != -1 || ok.HasAddrs {
		t.Errorf("result read as %+v", ok)
	}
	if old.Network != "ipv6" || len(old.Features) != 0 || strings.Join(old.Negotiation, ",") != "wtxidrelay,sendaddrv2" ||
		old.Step != "read verack" || old.Class != "timeout" {
		t.Errorf("older result read as %+v", old)
	}
	if n := d.Nodes[2]; n.Network != "cjdns" || n.Step != "connect" || n.Class != "refused" {
		t.Errorf("cjdns failure read as %+v", n)
	}
	if n := d.Nodes[3]; n.Network != "onion" || n.Step != "key exchange" || n.Class != "peer closed" {
		t.Errorf("onion failure read as %+v", n)
	}
}

// Only the first MaxMalformed bad lines are kept to show; all are counted.
func TestLoadKeepsFewMalformed(t *testing.T) {
	var d Data
	if err := d.Load(strings.NewReader(strings.Repeat("garbage\n", 3*MaxMalformed)), "in"); err != nil {
		t.Fatal(err)
	}
	if d.BadLines != 3*MaxMalformed || len(d.Malformed) != MaxMalformed || len(d.Nodes) != 0 {
		t.Errorf("%d bad, %d kept, %d nodes", d.BadLines, len(d.Malformed), len(d.Nodes))
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct{ addr, msg, step, class string }{
		{"a:1", "", "", ""},
		{"a:1", "handshake: a:1: read version: wrong network magic", "read version", "wrong network"},
		{"[::1]:8333", "handshake: [::1]:8333: send verack: write tcp: i/o timeout", "send verack", "timeout"},
		{"a:1", "handshake: a:1: read version: malformed message: bad checksum", "read version", "malformed message"},
		{"a:1", "handshake: a:1: read: message too large", "read", "message too large"},
		{"a:1", "handshake: a:1: read version: peer protocol version too old", "read version", "version too old"},
		{"a:1", "handshake: a:1: key exchange: peer speaks only the v1 transport", "key exchange", "v1 only"},
		{"a:1", "handshake: a:1: read verack: protocol violation: version twice", "read verack", "protocol violation"},
		{"a:1", "handshake: a:1: read verack: connected to self", "read verack", "self connection"},
		{"a:1", "handshake: a:1: getaddr: limit exceeded", "getaddr", "limit exceeded"},
		{"a:1", "handshake: a:1: connect: dial tcp a:1: connect: network is unreachable", "connect", "unreachable"},
		{"a:1", "something odd", "other", "other"},
	} {
		step, class := classify(c.addr, c.msg)
		if step != c.step || class != c.class {
			t.Errorf("classify(%q) = %q, %q; want %q, %q", c.msg, step, class, c.step, c.class)
		}
	}
}

func TestNetworkOf(t *testing.T) {
	for addr, want := range map[string]string{
		"1.2.3.4:8333":            "ipv4",
		"[::ffff:1.2.3.4]:8333":   "ipv4",
		"[2001:db8::1]:8333":      "ipv6",
		"[fc00::1]:8333":          "cjdns",
		"abc.onion:8333":          "onion",
		"ABC.ONION:8333":          "onion",
		"abc.b32.i2p:0":           "i2p",
		"seed.example.org:8333":   "other",
		"not an address":          "other",
		"[fd00::1]:8333":          "ipv6",
		"[2001:db8::1%eth0]:8333": "ipv6",
	} {
		if got := networkOf(addr); got != want {
			t.Errorf("networkOf(%q) = %q, want %q", addr, got, want)
		}
	}
}

// The library's protocol version is a uint32: a peer announcing the largest
// one is a record like any other, drawn with its version as sent.
func TestLoadLargestProtocolVersion(t *testing.T) {
	in := `{"addr":"198.51.100.7:8333","status":"PARTIALLY OK","transport":"v1","peer":{"protocol_version":4294967295,"user_agent":"/liar/"},"error":"handshake: 198.51.100.7:8333: peer too old"}`
	var d Data
	if err := d.Load(strings.NewReader(in), "sweep.jsonl"); err != nil {
		t.Fatal(err)
	}
	if d.BadLines != 0 || len(d.Nodes) != 1 {
		t.Fatalf("%d nodes, %d bad lines: %+v", len(d.Nodes), d.BadLines, d.Malformed)
	}
	if n := d.Nodes[0]; !n.HasPeer || n.Version != 0xFFFFFFFF {
		t.Errorf("read as %+v", n)
	}
	if s := Summarize(&d); len(s.Versions) != 1 || s.Versions[0].Label != "4294967295" {
		t.Errorf("versions counted as %+v", s.Versions)
	}
}
