package main

import (
	"bytes"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
	_ "modernc.org/sqlite"

	"github.com/bitcoin-handshake/handshake/examples/internal/cli"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const result = `{"addr":"192.0.2.1:8333","status":"OK","transport":"v2","peer":{"protocol_version":70016,"user_agent":"/Satoshi:29.0.0/","start_height":7},"features":[],"total_ms":3}`

// The built program reads files and standard input, counts bad lines, and
// writes one page.
func TestReportProgram(t *testing.T) {
	bin := cli.Build(t)
	dir := t.TempDir()
	sweep := filepath.Join(dir, "sweep.jsonl")
	if err := os.WriteFile(sweep, []byte(result+"\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "report.html")
	out, errOut, code := cli.Run(t, bin, "-o", page, "-title", "Two inputs", sweep, "../internal/report/testdata/crawl.jsonl")
	if code != 0 || out != "" || !strings.Contains(errOut, "1 malformed line(s) left out") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"<h1>Two inputs</h1>", `<b>43</b><small>nodes</small>`, "1 input line could not be read",
		sweep + " line 2", "<span>mainnet</span>", "/Satoshi:29.0.0/",
	} {
		if !strings.Contains(string(html), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestReportStdin(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-network", "signet"}, strings.NewReader(result+"\n"), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"<span>signet</span>", "standard input", `<b>1</b><small>nodes</small>`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Nothing at all is still a page.
	out.Reset()
	if code := run(nil, strings.NewReader(""), &out, &errOut); code != 0 || !strings.Contains(out.String(), "held no nodes") {
		t.Errorf("empty input: exit %d", code)
	}
}

func TestReportErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"-h"}, 0, "usage: report [flags] [file.jsonl|-]..."},
		{[]string{"-bogus"}, 2, "flag provided but not defined"},
		{[]string{filepath.Join(t.TempDir(), "missing.jsonl")}, 1, "no such file"},
		{[]string{"-o", filepath.Join(t.TempDir(), "no", "dir", "r.html")}, 1, "no such file"},
	} {
		var out, errOut bytes.Buffer
		code := run(c.args, strings.NewReader(result), &out, &errOut)
		if code != c.code || !strings.Contains(errOut.String(), c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", c.args, code, errOut.String(), c.code, c.msg)
		}
	}
}

// -db reads a real database built from the seeder's schema; without files
// it does not wait for standard input.
func TestReportDB(t *testing.T) {
	schema, err := os.ReadFile("../seeder/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "seeder.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{string(schema), `INSERT INTO nodes (addr, network, protocol_version, user_agent, transport,
		first_seen, last_try, last_status) VALUES ('203.0.113.5:8333', 'ipv4', 70016, '/Satoshi:28.1.0/', 'v2', 1, 1764443000, 'OK')`} {
		if _, err := db.Exec(stmt); err != nil {
			db.Close()
			t.Fatal(err)
		}
	}
	db.Close()
	var out, errOut bytes.Buffer
	if code := run([]string{"-db", path}, failingReader{t}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"/Satoshi:28.1.0/", `<b>1</b><small>nodes</small>`, "<span>seeder</span>", "100%"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if code := run([]string{"-db", filepath.Join(t.TempDir(), "none.db")}, failingReader{t}, &out, &errOut); code != 1 {
		t.Errorf("a missing database: exit %d", code)
	}
}

type failingReader struct{ t *testing.T }

func (r failingReader) Read([]byte) (int, error) {
	r.t.Error("standard input read")
	return 0, io.EOF
}

// Reading a database the seeder wrote leaves its directory as it was: no
// -wal or -shm file is left behind, whether the seeder has stopped (the
// database alone) or still runs (its connection holds the -wal and -shm,
// with rows not yet checkpointed, which the report still sees).
func TestReportDBLeavesNoFiles(t *testing.T) {
	schema, err := os.ReadFile("../seeder/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, running := range []bool{false, true} {
		dir := t.TempDir()
		path := filepath.Join(dir, "seeder.db")
		// As the seeder opens it (examples/seeder/store.go).
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		for _, stmt := range []string{string(schema), `INSERT INTO nodes (addr, network, protocol_version, user_agent, transport,
			first_seen, last_try, last_status) VALUES ('203.0.113.5:8333', 'ipv4', 70016, '/Satoshi:28.1.0/', 'v2', 1, 1764443000, 'OK')`} {
			if _, err := db.Exec(stmt); err != nil {
				db.Close()
				t.Fatal(err)
			}
		}
		if !running {
			db.Close()
		}
		before := listDir(t, dir)
		var out, errOut bytes.Buffer
		code := run([]string{"-db", path}, failingReader{t}, &out, &errOut)
		after := listDir(t, dir)
		if running {
			db.Close()
		}
		if code != 0 || !strings.Contains(out.String(), "/Satoshi:28.1.0/") {
			t.Fatalf("running %v: exit %d, node missing: %s", running, code, errOut.String())
		}
		if before != after {
			t.Errorf("running %v: the directory held %s before the report read it and %s after", running, before, after)
		}
	}
}

func listDir(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.Name()
	}
	return "[" + strings.Join(names, " ") + "]"
}
