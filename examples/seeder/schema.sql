-- The seeder's SQLite schema. Operators may read it with the sqlite3 shell:
--
--   sqlite3 seeder.db "SELECT addr, transport, user_agent, rel_1d FROM nodes WHERE good = 1"
--
-- Times are Unix seconds (UTC; 0 = never): datetime(last_success, 'unixepoch').
-- The database runs in WAL mode, so reading it while the seeder runs is safe.
--
-- Migrations are numbered; the seeder applies, in one transaction each, each
-- one numbered above the database's PRAGMA user_version, then sets it. A
-- migration is never edited once released: changes come as a new one.

-- migration 1
CREATE TABLE nodes (
	addr             TEXT    PRIMARY KEY,        -- "host:port" as dialled ("[v6]:port", "name.onion:port")
	network          TEXT    NOT NULL,           -- ipv4 | ipv6 | onion | i2p | cjdns
	source           TEXT    NOT NULL DEFAULT '', -- how it was learned: seed | addr | gossip
	services         INTEGER NOT NULL DEFAULT 0, -- from its version message; as gossiped until then
	protocol_version INTEGER NOT NULL DEFAULT 0, -- from its version message (0 = never handshaken)
	user_agent       TEXT    NOT NULL DEFAULT '',
	start_height     INTEGER NOT NULL DEFAULT 0, -- the height in its last version message
	transport        TEXT    NOT NULL DEFAULT '', -- v1 | v2 | '' (never handshaken)
	negotiation      TEXT    NOT NULL DEFAULT '[]', -- JSON: commands between version and verack, e.g. ["wtxidrelay","sendaddrv2"]
	features         TEXT    NOT NULL DEFAULT '[]', -- JSON: BIP434 feature messages, [{"id":"...","data":"<hex>"}]
	ping_ms          REAL,                          -- round trip of the last successful visit; NULL when not measured
	first_seen       INTEGER NOT NULL,              -- when the address was first learned
	last_try         INTEGER NOT NULL DEFAULT 0,    -- the last visit's start
	last_success     INTEGER NOT NULL DEFAULT 0,    -- the last visit whose handshake completed
	next_try         INTEGER NOT NULL DEFAULT 0,    -- when the schedule visits it next
	tries            INTEGER NOT NULL DEFAULT 0,
	successes        INTEGER NOT NULL DEFAULT 0,
	failures_in_row  INTEGER NOT NULL DEFAULT 0,    -- consecutive failed visits (drives the back-off)
	last_status      TEXT    NOT NULL DEFAULT '',   -- OK | PARTIALLY OK | FAILED | '' (never tried)
	last_error       TEXT    NOT NULL DEFAULT '',
	good             INTEGER NOT NULL DEFAULT 0,    -- 1 when the good rule held at the last visit (see docs/seeder.md)
	-- Reliability as sipa's bitcoin-seeder keeps it: for each window (2 hours,
	-- 8 hours, 1 day, 1 week, 1 month), exponentially decaying with that time
	-- constant, rel = the decayed share of visits that succeeded, count = the
	-- decayed number of visits, weight = the decayed share of the window
	-- covered by observations (1 - exp(-observed/window)).
	rel_2h    REAL NOT NULL DEFAULT 0, count_2h REAL NOT NULL DEFAULT 0, weight_2h REAL NOT NULL DEFAULT 0,
	rel_8h    REAL NOT NULL DEFAULT 0, count_8h REAL NOT NULL DEFAULT 0, weight_8h REAL NOT NULL DEFAULT 0,
	rel_1d    REAL NOT NULL DEFAULT 0, count_1d REAL NOT NULL DEFAULT 0, weight_1d REAL NOT NULL DEFAULT 0,
	rel_1w    REAL NOT NULL DEFAULT 0, count_1w REAL NOT NULL DEFAULT 0, weight_1w REAL NOT NULL DEFAULT 0,
	rel_1m    REAL NOT NULL DEFAULT 0, count_1m REAL NOT NULL DEFAULT 0, weight_1m REAL NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE INDEX nodes_good ON nodes (good) WHERE good = 1;
CREATE INDEX nodes_next_try ON nodes (next_try);

-- Small facts the seeder keeps across restarts (e.g. "best_height").
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
