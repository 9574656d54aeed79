package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestStoreRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "seeder.db")
	st, err := openStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1795980000, 0).UTC()
	full := record{Addr: "[2001:db8::1]:8333", Network: "ipv6", Source: "gossip", Services: 0xc09 | 1<<63,
		ProtocolVersion: 70016, UserAgent: "/Satoshi:28.1.0/", StartHeight: 870000, Transport: "v2",
		Negotiation: []string{"wtxidrelay", "sendaddrv2"}, Features: []feature{{ID: "example", Data: "00ff"}},
		PingMS: 12.5, HasPing: true, FirstSeen: at, LastTry: at, LastSuccess: at, NextTry: at.Add(time.Minute),
		Tries: 3, Successes: 2, FailuresInRow: 0, LastStatus: "OK", Good: true}
	for i := range full.Stats {
		full.Stats[i] = stat{Rel: 0.1 * float64(i+1), Count: float64(i), Weight: 0.5}
	}
	bare := record{Addr: "203.0.113.7:8333", Network: "ipv4", Source: "seed", FirstSeen: at, NextTry: at}
	gone := record{Addr: "198.51.100.1:8333", Network: "ipv4", FirstSeen: at}
	if err := st.save(ctx, []record{full, bare, gone}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.save(ctx, nil, []string{gone.Addr}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// Reopening migrates nothing and loads what was saved.
	st, err = openStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byAddr := map[string]record{}
	for _, r := range got {
		byAddr[r.Addr] = r
	}
	bare.Negotiation, bare.Features = []string{}, []feature{}
	if len(got) != 2 || !reflect.DeepEqual(byAddr[full.Addr], full) || !reflect.DeepEqual(byAddr[bare.Addr], bare) {
		t.Errorf("loaded %+v\nwant %+v\nand  %+v", got, full, bare)
	}
	// WAL mode, and the schema version set by the migration.
	var mode string
	var version int
	st.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
	st.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version)
	if mode != "wal" || version != 1 {
		t.Errorf("journal_mode %q, user_version %d", mode, version)
	}
}

// TestStoreNewerSchema: a database from a newer program is refused, not
// rewritten.
func TestStoreNewerSchema(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "seeder.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec("PRAGMA user_version = 99")
	db.Close()
	if _, err := openStore(context.Background(), path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("open: %v", err)
	}
}

// TestSchemaDocumentsEveryColumn: the columns the program writes are the
// ones schema.sql creates, so the documented schema is the real one.
func TestSchemaDocumentsEveryColumn(t *testing.T) {
	t.Parallel()
	st, err := openStore(context.Background(), filepath.Join(t.TempDir(), "seeder.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.db.Query("SELECT name FROM pragma_table_info('nodes') ORDER BY cid")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		rows.Scan(&c)
		cols = append(cols, c)
	}
	if !reflect.DeepEqual(cols, columns()) {
		t.Errorf("schema.sql columns %v\nprogram columns    %v", cols, columns())
	}
}

// TestStoreOddPathAndDurability: a -db path holding '?', '#' and '%'
// opens the file of that very name, and the connection runs in WAL mode
// with synchronous=FULL, so a power loss loses at most the last commit.
func TestStoreOddPathAndDurability(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a?b#c%25d e.db")
	st, err := openStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mode string
	var sync int
	if err := st.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := st.db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || sync != 2 {
		t.Errorf("journal_mode %q, synchronous %d; want wal, 2 (FULL)", mode, sync)
	}
	at := time.Unix(1795980000, 0).UTC()
	if err := st.save(ctx, []record{{Addr: "203.0.113.7:8333", Network: "ipv4", Source: "seed", FirstSeen: at, NextTry: at}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at the path given: %v", err)
	}
}
