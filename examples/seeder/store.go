package main

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver: no C toolchain needed
)

// schema holds the numbered migrations, each after a "-- migration N" line.
//
//go:embed schema.sql
var schema string

// store persists the node table in SQLite.
type store struct {
	db *sql.DB
}

// openStore opens (creating) the database at path in WAL mode and brings
// its schema up to date.
func openStore(ctx context.Context, path string) (*store, error) {
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serialises writes anyway
	s := &store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

// dsn is the file: URI naming path. The path is escaped, so that a '?',
// '#' or '%' in it is part of the name, not the start of the parameters.
// busy_timeout: an operator's sqlite3 shell holding a read lock makes a
// commit wait rather than fail. synchronous=FULL: in WAL mode NORMAL may
// lose several commits to a power loss; FULL syncs the log at each
// commit, so at most the commit under way is lost.
func dsn(path string) string {
	q := url.Values{"_pragma": {"journal_mode(WAL)", "busy_timeout(5000)", "synchronous(FULL)"}}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

func (s *store) Close() error { return s.db.Close() }

// migrations splits schema.sql into its numbered migrations, each
// starting at a line "-- migration N".
func migrations() (map[int]string, int, error) {
	out := make(map[int]string)
	last := 0
	var body *strings.Builder
	for line := range strings.Lines(schema) {
		num, ok := strings.CutPrefix(strings.TrimSpace(line), "-- migration ")
		n, err := strconv.Atoi(num)
		if ok && err == nil {
			if n != last+1 {
				return nil, 0, fmt.Errorf("schema.sql: migration %q out of order", num)
			}
			if body != nil {
				out[last] = body.String()
			}
			last, body = n, &strings.Builder{}
			continue
		}
		if body != nil {
			body.WriteString(line)
		}
	}
	if body != nil {
		out[last] = body.String()
	}
	return out, last, nil
}

func (s *store) migrate(ctx context.Context) error {
	migs, last, err := migrations()
	if err != nil {
		return err
	}
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > last {
		return fmt.Errorf("database schema version %d is newer than this program's %d", v, last)
	}
	for n := v + 1; n <= last; n++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migs[n]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", n, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", n)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", n, err)
		}
	}
	return nil
}

// columns returns the nodes table's columns in the order save and load use.
func columns() []string {
	return []string{"addr", "network", "source", "services", "protocol_version", "user_agent",
		"start_height", "transport", "negotiation", "features", "ping_ms", "first_seen", "last_try",
		"last_success", "next_try", "tries", "successes", "failures_in_row", "last_status", "last_error", "good",
		"rel_2h", "count_2h", "weight_2h", "rel_8h", "count_8h", "weight_8h", "rel_1d", "count_1d", "weight_1d",
		"rel_1w", "count_1w", "weight_1w", "rel_1m", "count_1m", "weight_1m"}
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func fromUnix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// save writes changed records and deletes forgotten ones in one
// transaction, so a crash leaves either all of them or none.
func (s *store) save(ctx context.Context, recs []record, removed []string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	defer tx.Rollback() // after Commit, a no-op
	ph := strings.TrimSuffix(strings.Repeat("?,", len(columns())), ",")
	up, err := tx.PrepareContext(ctx, "INSERT OR REPLACE INTO nodes ("+strings.Join(columns(), ",")+") VALUES ("+ph+")")
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	defer up.Close()
	for i := range recs {
		r := &recs[i]
		neg, _ := json.Marshal(nonNil(r.Negotiation))
		feat, _ := json.Marshal(nonNilF(r.Features))
		var ping any
		if r.HasPing {
			ping = r.PingMS
		}
		args := []any{r.Addr, r.Network, r.Source, int64(r.Services), r.ProtocolVersion, r.UserAgent,
			r.StartHeight, r.Transport, string(neg), string(feat), ping, unix(r.FirstSeen), unix(r.LastTry),
			unix(r.LastSuccess), unix(r.NextTry), r.Tries, r.Successes, r.FailuresInRow, r.LastStatus, r.LastError, r.Good}
		for _, st := range r.Stats {
			args = append(args, st.Rel, st.Count, st.Weight)
		}
		if _, err := up.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("save %s: %w", r.Addr, err)
		}
	}
	for _, a := range removed {
		if _, err := tx.ExecContext(ctx, "DELETE FROM nodes WHERE addr = ?", a); err != nil {
			return fmt.Errorf("save: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilF(s []feature) []feature {
	if s == nil {
		return []feature{}
	}
	return s
}

// load reads every record.
func (s *store) load(ctx context.Context) ([]record, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+strings.Join(columns(), ",")+" FROM nodes")
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer rows.Close()
	var out []record
	for rows.Next() {
		var r record
		var services int64
		var neg, feat string
		var ping sql.NullFloat64
		var first, lastTry, lastSuccess, next int64
		dst := []any{&r.Addr, &r.Network, &r.Source, &services, &r.ProtocolVersion, &r.UserAgent,
			&r.StartHeight, &r.Transport, &neg, &feat, &ping, &first, &lastTry, &lastSuccess, &next,
			&r.Tries, &r.Successes, &r.FailuresInRow, &r.LastStatus, &r.LastError, &r.Good}
		for i := range r.Stats {
			dst = append(dst, &r.Stats[i].Rel, &r.Stats[i].Count, &r.Stats[i].Weight)
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		r.Services = uint64(services)
		r.PingMS, r.HasPing = ping.Float64, ping.Valid
		r.FirstSeen, r.LastTry, r.LastSuccess, r.NextTry = fromUnix(first), fromUnix(lastTry), fromUnix(lastSuccess), fromUnix(next)
		// Malformed JSON (an operator's hand edit) leaves the lists empty.
		json.Unmarshal([]byte(neg), &r.Negotiation)
		json.Unmarshal([]byte(feat), &r.Features)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	return out, nil
}
