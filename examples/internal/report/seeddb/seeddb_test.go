package seeddb

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bitcoin-handshake/handshake/examples/internal/report"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// schema is the seeder's own schema file, so the reader is tested against
// the tables the seeder really makes.
func schema(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../../seeder/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// newDB builds a real database from the schema, in WAL mode as the seeder
// runs it, holding rows.
func newDB(t *testing.T, rows ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "seeder.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range append([]string{"PRAGMA journal_mode=WAL", schema(t)}, rows...) {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return path
}

const hostile = `</script><img src=x onerror=alert(1)>`

func TestLoad(t *testing.T) {
	now := time.Date(2026, 11, 29, 19, 0, 0, 0, time.UTC).Unix()
	path := newDB(t,
		`INSERT INTO nodes (addr, network, services, protocol_version, user_agent, start_height, transport,
			negotiation, features, ping_ms, first_seen, last_try, last_status, last_error, good)
		VALUES
		('203.0.113.1:8333', 'ipv4', 3081, 70016, '/Satoshi:29.0.0/', 900000, 'v2',
			'["wtxidrelay","sendaddrv2"]', '[{"id":"a:b/1","data":"01"}]', 41.5, 1, `+itoa(now)+`, 'OK', '', 1),
		('[2001:db8::1]:8333', 'ipv6', 1033, 70016, '`+strings.ReplaceAll(hostile, "'", "''")+`', 899990, 'v1',
			'[]', '[]', NULL, 1, `+itoa(now+5)+`, 'PARTIALLY OK', 'handshake: [2001:db8::1]:8333: read verack: context deadline exceeded', 0),
		('abc.onion:8333', 'onion', 1033, 70015, '/Satoshi:25.0.0/', 800000, 'v1',
			'[]', '[]', NULL, 1, `+itoa(now+9)+`, 'FAILED', 'handshake: abc.onion:8333: connect: connection refused', 0),
		('198.51.100.9:8333', 'ipv4', 0, 0, '', 0, '', '[]', '[]', NULL, 1, 0, '', '', 0),
		('198.51.100.10:8333', 'ipv4', 0, 0, '', 0, '', 'not json', '[]', NULL, 1, `+itoa(now)+`, 'FAILED', 'x', 0)`,
		`INSERT INTO meta (key, value) VALUES ('best_height', '900000')`,
	)
	d := &report.Data{}
	if err := Load(context.Background(), d, path); err != nil {
		t.Fatal(err)
	}
	if len(d.Nodes) != 3 || d.Facts.Skipped != 1 || d.BadLines != 1 || d.Facts.Program != "seeder" {
		t.Fatalf("%d nodes, %d skipped, %d bad, program %q", len(d.Nodes), d.Facts.Skipped, d.BadLines, d.Facts.Program)
	}
	if m := d.Malformed[0]; m.Line != 1 || !strings.Contains(m.Err, "198.51.100.10:8333: negotiation") {
		t.Errorf("malformed row %+v", m)
	}
	// Ordered by address.
	ok, partial, fail := d.Nodes[0], d.Nodes[1], d.Nodes[2]
	if ok.Addr != "203.0.113.1:8333" || ok.Status != report.StatusOK || !ok.HasPeer || ok.Transport != "v2" ||
		ok.Services != 3081 || ok.Version != 70016 || ok.StartHeight != 900000 || !ok.HasPing || ok.PingMS != 41.5 ||
		len(ok.Negotiation) != 2 || len(ok.Features) != 1 || ok.Features[0].ID != "a:b/1" || ok.Time.Unix() != now || ok.Depth != -1 {
		t.Errorf("OK node read as %+v", ok)
	}
	if partial.UserAgent != hostile || partial.HasPing || partial.Step != "read verack" || partial.Class != "timeout" {
		t.Errorf("partial node read as %+v", partial)
	}
	// The failed node's version columns are from an earlier visit.
	if fail.Network != "onion" || fail.HasPeer || fail.Transport != "" || fail.Class != "refused" {
		t.Errorf("failed node read as %+v", fail)
	}

	// The page draws them, with the hostile agent as text.
	var b bytes.Buffer
	if err := report.Render(&b, d); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{`<b>3</b><small>nodes</small>`, "<span>1 skipped</span>", "&lt;/script&gt;&lt;img src=x", path} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, hostile) {
		t.Error("the hostile user agent reached the page unescaped")
	}
}

// A node announcing the largest protocol version (a uint32 in the library)
// is stored by the seeder as it came, and read back as such: one hostile
// node must not break the report of the whole database.
func TestLoadLargestProtocolVersion(t *testing.T) {
	path := newDB(t,
		`INSERT INTO nodes (addr, network, services, protocol_version, user_agent, start_height, transport,
			first_seen, last_try, last_status, last_error)
		VALUES
		('203.0.113.7:8333', 'ipv4', 1, 4294967295, '/liar/', 1, 'v1', 1, 1, 'PARTIALLY OK', 'handshake: 203.0.113.7:8333: peer too old'),
		('203.0.113.8:8333', 'ipv4', 1, 70016, '/Satoshi:29.0.0/', 1, 'v1', 1, 1, 'OK', '')`,
	)
	d := &report.Data{}
	if err := Load(context.Background(), d, path); err != nil {
		t.Fatal(err)
	}
	if len(d.Nodes) != 2 || d.BadLines != 0 {
		t.Fatalf("%d nodes, %d bad: %+v", len(d.Nodes), d.BadLines, d.Malformed)
	}
	if n := d.Nodes[0]; n.Version != 0xFFFFFFFF || !n.HasPeer {
		t.Errorf("hostile node read as %+v", n)
	}
	var b bytes.Buffer
	if err := report.Render(&b, d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), ">4294967295<") {
		t.Error("the page lacks the version as sent")
	}
}

func TestLoadErrors(t *testing.T) {
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "missing.db")
	if err := Load(ctx, &report.Data{}, missing); err == nil {
		t.Error("a missing database loaded")
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Error("loading a missing database created it")
	}
	// A database without the seeder's table.
	other := filepath.Join(t.TempDir(), "other.db")
	db, err := sql.Open("sqlite", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := Load(ctx, &report.Data{}, other); err == nil || !strings.Contains(err.Error(), "no such table: nodes") {
		t.Errorf("no nodes table: %v", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := Load(canceled, &report.Data{}, newDB(t)); err == nil {
		t.Error("a canceled context loaded")
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// TestLoadByNetwork: the seeder's onion and I2P rows count in their
// networks, their failures by the kind the library gives the proxy's
// answer kept in last_error.
func TestLoadByNetwork(t *testing.T) {
	path := newDB(t,
		`INSERT INTO nodes (addr, network, services, protocol_version, user_agent, start_height, transport,
			negotiation, features, first_seen, last_try, last_status, last_error, good)
		VALUES
		('a.onion:8333', 'onion', 1, 70016, '/Satoshi:29.0.0/', 900000, 'v2', '[]', '[]', 1, 2, 'OK', '', 1),
		('b.onion:8333', 'onion', 1, 0, '', 0, '', '[]', '[]', 1, 2, 'FAILED',
			'handshake: b.onion:8333: connect: proxy 127.0.0.1:9050: b.onion:8333: proxy could not connect: socks5 reply 0xf0: onion service descriptor can not be found', 0),
		('c.b32.i2p:0', 'i2p', 1, 0, '', 0, '', '[]', '[]', 1, 2, 'FAILED',
			'handshake: c.b32.i2p:0: connect: proxy 127.0.0.1:7656: c.b32.i2p:0: proxy could not connect: sam result CANT_REACH_PEER', 0)`)
	d := &report.Data{}
	if err := Load(context.Background(), d, path); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range report.Summarize(d).ByNetwork {
		var kinds []string
		for _, c := range r.Failures {
			kinds = append(kinds, c.Label+" "+strconv.Itoa(c.N))
		}
		got[r.Network] = strconv.Itoa(r.Reached()) + " reached, " + r.V2Share() + " v2, failed: " + strings.Join(kinds, ", ")
	}
	want := map[string]string{
		"onion": "1 reached, 100% v2, failed: onion-not-found 1",
		"i2p":   "0 reached, – v2, failed: i2p-cant-reach-peer 1",
	}
	for n, w := range want {
		if got[n] != w {
			t.Errorf("%s: %q, want %q", n, got[n], w)
		}
	}
}

// The report's connection refuses to change the database it reads.
func TestReadOnly(t *testing.T) {
	path := newDB(t)
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM nodes`); err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Errorf("a write through the report's connection: %v, want a read-only error", err)
	}
}
