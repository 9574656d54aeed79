// Package seeddb reads the seeder's SQLite database (its nodes table, see
// examples/seeder/schema.sql) into a report. It is a package of its own so
// that programs writing reports of their own runs do not link SQLite.
package seeddb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/bitcoin-handshake/handshake/examples/internal/report"
)

// query reads the columns the report shows; migrations only add columns.
const query = `SELECT addr, network, services, protocol_version, user_agent, start_height,
	transport, negotiation, features, ping_ms, last_try, last_status, last_error
	FROM nodes ORDER BY addr`

// dsn opens the database at the absolute path abs for reading alone, leaving
// its directory as it found it. mode=rw, not ro: in WAL mode any reader
// creates the -wal and -shm files, and only a connection that may write
// removes them again when it is the last to close, which mode=ro's cannot.
// query_only(1) refuses every change to the database itself, and mode=rw
// (no create) makes a missing file an error, never a new empty database. A
// file the user may not write is opened read-only by SQLite all the same.
// immutable=1 would create nothing either, but is wrong while the seeder
// writes the database.
func dsn(abs string) string {
	return "file:" + (&url.URL{Path: abs}).EscapedPath() + "?mode=rw&_pragma=query_only(1)&_pragma=busy_timeout(5000)"
}

// Load adds every node of the seeder's database at path to d, opened read
// only (the seeder may be running: the database is in WAL mode). A node
// never tried yet is counted in d.Facts.Skipped, not drawn. A row whose JSON
// columns do not parse is counted as malformed. d.Facts.Program is set to
// "seeder" when empty; the header's times span the nodes' last visits.
func Load(ctx context.Context, d *report.Data, path string) (err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("seeddb: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return fmt.Errorf("seeddb: %w", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("seeddb: %s: %w", path, err)
	}
	defer rows.Close()
	d.Facts.Sources = append(d.Facts.Sources, path)
	if d.Facts.Program == "" {
		d.Facts.Program = "seeder"
	}
	for row := 1; rows.Next(); row++ {
		var (
			n                     report.Node
			services              int64
			negotiation, features string
			ping                  sql.NullFloat64
			lastTry               int64
		)
		if err := rows.Scan(&n.Addr, &n.Network, &services, &n.Version, &n.UserAgent, &n.StartHeight,
			&n.Transport, &negotiation, &features, &ping, &lastTry, &n.Status, &n.Error); err != nil {
			return fmt.Errorf("seeddb: %s: %w", path, err)
		}
		if n.Status == "" {
			d.Facts.Skipped++
			continue
		}
		if err := json.Unmarshal([]byte(negotiation), &n.Negotiation); err != nil {
			d.AddMalformed(path, row, fmt.Errorf("%s: negotiation: %w", n.Addr, err), []byte(negotiation))
			continue
		}
		if err := json.Unmarshal([]byte(features), &n.Features); err != nil {
			d.AddMalformed(path, row, fmt.Errorf("%s: features: %w", n.Addr, err), []byte(features))
			continue
		}
		n.Services = uint64(services)
		n.Depth = -1
		// The version columns hold the last version received, which may
		// predate a failed last visit: they describe the node while its
		// last visit got that far.
		n.HasPeer = n.Version > 0 && n.Status != report.StatusFailed
		if !n.HasPeer {
			n.Transport = ""
		}
		if ping.Valid {
			n.PingMS, n.HasPing = ping.Float64, true
		}
		if lastTry > 0 {
			n.Time = time.Unix(lastTry, 0).UTC()
		}
		d.AddNode(n)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("seeddb: %s: %w", path, err)
	}
	return nil
}
