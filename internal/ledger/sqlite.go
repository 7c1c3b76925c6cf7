package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-llm/llmrouter/internal/billing"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver: pure Go, no cgo
)

// sqliteMigrations are the SQLite schema's versions, in order; a version is
// applied once, recorded in llm_schema_migrations. Append, never edit. The
// package doc lists the tables and llm_requests' columns.
//
// The writer's CPU per row is the point of this layout: the product wants
// the default ledger to cost a request at most a couple of microseconds.
// What it costs (BenchmarkSQLiteRecord, 1000-row transactions):
//
//   - A request row is three columns: the key (time_us, request_id) and
//     data, a JSON array of the other nineteen values, in llm_requests'
//     column order, all integers (the six low-variety strings as ids into
//     llm_names, booleans as 0 and 1). The driver's cost is per bound
//     parameter (each bind takes a lock and copies) and SQLite's per byte
//     of record: 3 parameters and ~60 bytes a row instead of 21 columns
//     took the benchmark from 5.4 to 3.0 µs a row. The same values as a JSON object
//     keyed by column name cost 4.8 µs (four times the bytes), with
//     one-letter keys 3.5 µs; client, model and vendor kept as columns of
//     their own (6 parameters) 3.2 µs.
//   - The llm_requests VIEW decodes data (->>, SQLite 3.38+) and joins the
//     names back, so that to plain sqlite3 the rows read as they are
//     written (SELECT * FROM llm_requests), with PostgreSQL's columns.
//   - Rows are WITHOUT ROWID, clustered on (time_us, request_id): rows
//     arrive in time order, so inserts append to the b-tree, and retention
//     deletes a range at its start without an index on time. A request
//     replays with its own time, so the key is still the idempotency key
//     (as in PostgreSQL, whose partitioned key must hold the time too). A
//     rowid table with UNIQUE (time_us, request_id) was no cheaper (two
//     b-trees to insert into); keyed on request_id with an index on time,
//     +1.9 µs.
//   - No secondary index: one on (client, time_us) cost 2.6 µs a row, and
//     no query of the ledger needs it (Clients and Usage read the rollups).
//     An ad hoc query of one client's rows scans the time range it names.
//
// Measured and dropped earlier: one bound parameter per batch (a JSON
// array of rows read back with json_each and ->>) cost 19 µs a row,
// jsonb_each 11 µs, the values inlined as SQL literals 7 µs; the page size
// (4 to 64 KiB), the rows per statement (50 to 1000) and calling the
// driver below database/sql made no measurable difference.
//
// The rollups are clustered on their key led by the bucket start, as Usage
// reads a range of buckets; Clients reads the whole daily table, one row
// per client, model, vendor and day, which stays small.
var sqliteMigrations = [][]string{
	1: {
		`CREATE TABLE llm_names (
			id INTEGER PRIMARY KEY,
			name TEXT NOT NULL UNIQUE
		)`,
		`CREATE TABLE llm_request_rows (
			time_us INTEGER NOT NULL,
			request_id TEXT NOT NULL,
			data TEXT NOT NULL, -- JSON array: llm_requests' columns from client on (sqliteStore.bindRows)
			PRIMARY KEY (time_us, request_id)
		) WITHOUT ROWID`,
		`CREATE VIEW llm_requests AS SELECT r.request_id, r.time_us,
			c.name AS client, e.name AS endpoint, m.name AS model, v.name AS vendor, ro.name AS routing,
			r.data->>5 AS attempts, o.name AS outcome, r.data->>7 AS billable,
			r.data->>8 AS prompt_tokens, r.data->>9 AS cached_tokens, r.data->>10 AS completion_tokens,
			r.data->>11 AS reasoning_tokens, r.data->>12 AS usage_estimated,
			r.data->>13 AS billable_cost_micro_usd, r.data->>14 AS absorbed_prompt_tokens,
			r.data->>15 AS absorbed_completion_tokens, r.data->>16 AS absorbed_cost_micro_usd,
			r.data->>17 AS ttft_us, r.data->>18 AS duration_us
		FROM llm_request_rows r
			JOIN llm_names c ON c.id = r.data->>0
			JOIN llm_names e ON e.id = r.data->>1
			JOIN llm_names m ON m.id = r.data->>2
			JOIN llm_names v ON v.id = r.data->>3
			JOIN llm_names ro ON ro.id = r.data->>4
			JOIN llm_names o ON o.id = r.data->>6`,
		sqliteRollupTable("llm_usage_daily"),
		sqliteRollupTable("llm_usage_hourly"),
	},
}

// sqliteRollupTable is a rollup table's DDL; start is the bucket's start in
// Unix seconds, UTC.
func sqliteRollupTable(name string) string {
	return `CREATE TABLE ` + name + ` (
		start INTEGER NOT NULL,
		client TEXT NOT NULL,
		model TEXT NOT NULL,
		vendor TEXT NOT NULL,
		` + strings.Join(rollupCols, " INTEGER NOT NULL,\n\t\t") + ` INTEGER NOT NULL,
		PRIMARY KEY (start, client, model, vendor)
	) WITHOUT ROWID`
}

// sqliteMaxRows is the most rows one INSERT binds (3 parameters each, well
// under SQLite's 32766): larger statements saved no more CPU.
const sqliteMaxRows = 256

// sqliteStore is the SQLite database. The writer has a connection of its
// own, with statements prepared once per size (powers of two, so that any
// batch is a few of them); reads use the pool's other connections, which
// WAL lets run beside the writer.
type sqliteStore struct {
	db      *sql.DB
	conn    *sql.Conn            // the writer's; nil until needed, and after a failure
	insert  map[int]*sql.Stmt    // n rows, ON CONFLICT DO NOTHING
	upserts [2]map[int]*sql.Stmt // daily, hourly: n keys
	args    []any                // scratch
	fresh   []Entry              // scratch: the rows a transaction inserted
	sums    [2]rollup            // scratch: daily, hourly
	tables  [2]string            // rollup tables, as upserts
	pers    [2]time.Duration     // their bucket sizes
	known   map[string]struct{}  // scratch: ids a RETURNING reported
	buf     []byte               // scratch: a chunk's data columns
	ends    []int                // scratch: where each row's data ends in buf

	// names caches the ids of llm_names rows, committed; added holds those the
	// transaction under way created or read, merged into names once it
	// commits: a rolled-back id may be handed to another name.
	names, added map[string]int64
}

// sqliteMaxCachedNames bounds the writer's cache of llm_names ids; beyond it
// the cache starts over (each name then costs one lookup again).
const sqliteMaxCachedNames = 100_000

// openSQLite opens (creating it and its directory) the database at path
// and migrates it.
func openSQLite(ctx context.Context, path string) (*sqliteStore, error) {
	if strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("ledger: sqlite path %q: give a plain file path", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("ledger: sqlite directory: %w", err)
	}
	db, err := sql.Open("sqlite", path+"?_busy_timeout=5000&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate&_pragma=temp_store(MEMORY)&_pragma=cache_size(-16000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	s := &sqliteStore{db: db, insert: map[int]*sql.Stmt{}, upserts: [2]map[int]*sql.Stmt{{}, {}},
		tables: [2]string{"llm_usage_daily", "llm_usage_hourly"}, pers: [2]time.Duration{24 * time.Hour, time.Hour},
		names: map[string]int64{}, added: map[string]int64{}}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger: sqlite %s: %w", path, err)
	}
	return s, nil
}

// migrate applies the migrations the database lacks, in one transaction.
func (s *sqliteStore) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil) // _txlock=immediate: a write lock from the start
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS llm_schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM llm_schema_migrations`).Scan(&have); err != nil {
		return err
	}
	if err := errorIfNewer(have, len(sqliteMigrations)-1); err != nil {
		return err
	}
	for v := have + 1; v < len(sqliteMigrations); v++ {
		for _, stmt := range sqliteMigrations[v] {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO llm_schema_migrations VALUES (?, ?)`, v, time.Now().Unix()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// errorIfNewer refuses a database migrated by a newer version of the
// router: it might write rows this one cannot.
func errorIfNewer(have, known int) error {
	if have > known {
		return &newerSchemaError{have: have, known: known}
	}
	return nil
}

// newerSchemaError is a database migrated by a newer build: waiting will
// not fix it, so even PostgreSQL fails OpenSQL on it.
type newerSchemaError struct{ have, known int }

func (e *newerSchemaError) Error() string {
	return fmt.Sprintf("schema version %d is newer than this build knows (%d)", e.have, e.known)
}

// writerConn returns the writer's connection, opening it if needed.
func (s *sqliteStore) writerConn(ctx context.Context) (*sql.Conn, error) {
	if s.conn != nil {
		return s.conn, nil
	}
	c, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	s.conn = c
	return c, nil
}

// dropConn forgets the writer's connection and its statements after a
// failure, so that the next write starts clean.
func (s *sqliteStore) dropConn() {
	for _, m := range append([]map[int]*sql.Stmt{s.insert}, s.upserts[:]...) {
		for n, st := range m {
			st.Close()
			delete(m, n)
		}
	}
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// errDuplicates sends write to its slow path: some rows were there already.
var errDuplicates = errors.New("duplicates")

func (s *sqliteStore) write(ctx context.Context, batch []Entry) (int, error) {
	conn, err := s.writerConn(ctx)
	if err != nil {
		return 0, err
	}
	n, err := s.writeTx(ctx, conn, batch, false)
	if errors.Is(err, errDuplicates) {
		n, err = s.writeTx(ctx, conn, batch, true)
	}
	if err == nil {
		if len(s.names)+len(s.added) > sqliteMaxCachedNames {
			clear(s.names)
		}
		maps.Copy(s.names, s.added)
	}
	clear(s.added)
	if err != nil && s.conn != nil {
		if _, rerr := s.conn.ExecContext(context.Background(), "ROLLBACK"); rerr != nil && !strings.Contains(rerr.Error(), "no transaction") {
			s.dropConn()
		}
	}
	return n, err
}

// writeTx is one transaction of write. The fast path inserts every row and
// rolls them all up; if fewer rows were inserted than given (a replay), it
// fails with errDuplicates, and the slow path inserts with RETURNING to
// roll up only the rows it inserted.
func (s *sqliteStore) writeTx(ctx context.Context, conn *sql.Conn, batch []Entry, slow bool) (int, error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return 0, err
	}
	fresh := batch
	if slow {
		var err error
		if fresh, err = s.insertReturning(ctx, conn, batch); err != nil {
			return 0, err
		}
	} else {
		inserted := 0
		for rest := batch; len(rest) > 0; {
			n := chunk(len(rest), sqliteMaxRows)
			st, err := s.stmt(ctx, conn, s.insert, n, func() string { return sqliteInsertSQL(n, "") })
			if err != nil {
				return 0, err
			}
			if err := s.bindRows(ctx, conn, rest[:n]); err != nil {
				return 0, err
			}
			res, err := st.ExecContext(ctx, s.args...)
			if err != nil {
				return 0, err
			}
			k, _ := res.RowsAffected()
			inserted += int(k)
			rest = rest[n:]
		}
		if inserted != len(batch) {
			if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
				return 0, err
			}
			clear(s.added)
			return 0, errDuplicates
		}
	}
	for t := range s.tables {
		aggregate(fresh, s.pers[t], &s.sums[t])
		if err := s.upsert(ctx, conn, t); err != nil {
			return 0, err
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return 0, err
	}
	return len(fresh), nil
}

// insertReturning inserts batch and returns the rows it inserted: those
// whose id was not there, the first of ids repeated within the batch.
func (s *sqliteStore) insertReturning(ctx context.Context, conn *sql.Conn, batch []Entry) ([]Entry, error) {
	if s.known == nil {
		s.known = make(map[string]struct{})
	}
	clear(s.known)
	for rest := batch; len(rest) > 0; {
		n := min(len(rest), sqliteMaxRows)
		if err := s.bindRows(ctx, conn, rest[:n]); err != nil {
			return nil, err
		}
		rows, err := conn.QueryContext(ctx, sqliteInsertSQL(n, " RETURNING request_id"), s.args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			s.known[id] = struct{}{}
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		rest = rest[n:]
	}
	fresh := s.fresh[:0]
	for i := range batch {
		if _, ok := s.known[batch[i].RequestID]; ok {
			delete(s.known, batch[i].RequestID)
			fresh = append(fresh, batch[i])
		}
	}
	s.fresh = fresh
	return fresh, nil
}

// upsert adds the rollup s.sums[t] to its table.
func (s *sqliteStore) upsert(ctx context.Context, conn *sql.Conn, t int) error {
	r := &s.sums[t]
	for off := 0; off < len(r.keys); {
		n := chunk(len(r.keys)-off, sqliteMaxRows)
		st, err := s.stmt(ctx, conn, s.upserts[t], n, func() string { return sqliteUpsertSQL(s.tables[t], n) })
		if err != nil {
			return err
		}
		s.args = s.args[:0]
		for i := off; i < off+n; i++ {
			k, v := &r.keys[i], &r.sums[i]
			s.args = append(s.args, k.start, k.client, k.model, k.vendor, v.requests, v.successes, v.failures,
				v.billableRequests, v.prompt, v.cached, v.completion, v.absorbedPrompt, v.absorbedCompletion,
				v.billableMicroUSD, v.absorbedMicroUSD)
		}
		if _, err := st.ExecContext(ctx, s.args...); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// stmt returns the statement for n rows from cache, preparing it once.
func (s *sqliteStore) stmt(ctx context.Context, conn *sql.Conn, cache map[int]*sql.Stmt, n int, text func() string) (*sql.Stmt, error) {
	if st := cache[n]; st != nil {
		return st, nil
	}
	st, err := conn.PrepareContext(ctx, text())
	if err != nil {
		return nil, err
	}
	cache[n] = st
	return st, nil
}

// chunk is the size of the next statement for rest rows: the largest power
// of two up to max, so that few statements are prepared.
func chunk(rest, max int) int {
	if rest >= max {
		return max
	}
	return 1 << (bits.Len(uint(rest)) - 1)
}

// bindRows sets s.args to the values of rows, in sqliteInsertSQL's order:
// time_us, request_id and data for each. data is the JSON array that the
// llm_requests view decodes, built here with appends (encoding/json would
// reflect and allocate per row); the chunk's arrays are one string, each
// row's a substring of it, so that the chunk costs one allocation.
func (s *sqliteStore) bindRows(ctx context.Context, conn *sql.Conn, rows []Entry) error {
	s.args = s.args[:0]
	buf, ends := s.buf[:0], s.ends[:0]
	for i := range rows {
		e := &rows[i]
		var ids [6]int64
		for j, name := range [6]string{e.Client, e.Endpoint, e.Model, e.Vendor, e.Routing, e.Outcome} {
			id, err := s.nameID(ctx, conn, name)
			if err != nil {
				return err
			}
			ids[j] = id
		}
		for j, v := range [...]int64{ids[0], ids[1], ids[2], ids[3], ids[4], int64(e.Attempts), ids[5],
			boolInt(e.Billable), int64(e.Usage.PromptTokens), int64(e.Usage.CachedTokens),
			int64(e.Usage.CompletionTokens), int64(e.Usage.ReasoningTokens), boolInt(e.Usage.Estimated),
			billing.MicroUSD(e.CostUSD), int64(e.Absorbed.PromptTokens), int64(e.Absorbed.CompletionTokens),
			billing.MicroUSD(e.AbsorbedCostUSD), e.TTFT.Microseconds(), e.Duration.Microseconds()} {
			if j == 0 {
				buf = append(buf, '[')
			} else {
				buf = append(buf, ',')
			}
			buf = strconv.AppendInt(buf, v, 10)
		}
		buf = append(buf, ']')
		ends = append(ends, len(buf))
		s.args = append(s.args, e.Time.UnixMicro(), e.RequestID, nil)
	}
	s.buf, s.ends = buf, ends
	// A string, not the []byte: SQLite would take a BLOB for JSONB.
	all, from := string(buf), 0
	for i, end := range ends {
		s.args[3*i+2] = all[from:end]
		from = end
	}
	return nil
}

// boolInt is b as SQLite keeps booleans.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// nameID returns name's id in llm_names, adding it there if needed, within the
// writer's transaction.
func (s *sqliteStore) nameID(ctx context.Context, conn *sql.Conn, name string) (int64, error) {
	if id, ok := s.names[name]; ok {
		return id, nil
	}
	if id, ok := s.added[name]; ok {
		return id, nil
	}
	var id int64
	err := conn.QueryRowContext(ctx, `SELECT id FROM llm_names WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = conn.QueryRowContext(ctx, `INSERT INTO llm_names (name) VALUES (?) RETURNING id`, name).Scan(&id)
	}
	if err != nil {
		return 0, err
	}
	s.added[name] = id
	return id, nil
}

// sqliteInsertSQL inserts n request rows, skipping those already there.
// OR IGNORE rather than ON CONFLICT DO NOTHING: no constraint is then left
// that could abort the statement halfway, so SQLite keeps no statement
// journal for it.
func sqliteInsertSQL(n int, returning string) string {
	return "INSERT OR IGNORE INTO llm_request_rows (time_us, request_id, data) VALUES " + valuesList(n, 3) + returning
}

// sqliteUpsertSQL adds n rollup rows to table.
func sqliteUpsertSQL(table string, n int) string {
	set := make([]string, len(rollupCols))
	for i, c := range rollupCols {
		set[i] = c + " = " + c + " + excluded." + c
	}
	return "INSERT INTO " + table + " (start, client, model, vendor, " + strings.Join(rollupCols, ", ") + ") VALUES " +
		valuesList(n, 4+len(rollupCols)) + " ON CONFLICT (start, client, model, vendor) DO UPDATE SET " +
		strings.Join(set, ", ")
}

// valuesList is n tuples of cols "?" placeholders.
func valuesList(n, cols int) string {
	tuple := "(" + strings.Repeat("?, ", cols-1) + "?)"
	var b strings.Builder
	b.Grow(n * (len(tuple) + 2))
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tuple)
	}
	return b.String()
}

func (s *sqliteStore) ping(ctx context.Context) error {
	var v int
	return s.db.QueryRowContext(ctx, "SELECT count(*) FROM llm_schema_migrations").Scan(&v)
}

// sqlitePruneRows is how many old rows one DELETE removes: small enough to
// keep the write lock short.
const sqlitePruneRows = 5000

func (s *sqliteStore) prune(ctx context.Context, cutoff time.Time) (bool, error) {
	conn, err := s.writerConn(ctx)
	if err != nil {
		return false, err
	}
	res, err := conn.ExecContext(ctx, `DELETE FROM llm_request_rows WHERE (time_us, request_id) IN
		(SELECT time_us, request_id FROM llm_request_rows WHERE time_us < ? ORDER BY time_us LIMIT ?)`, cutoff.UnixMicro(), sqlitePruneRows)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == sqlitePruneRows, err
}

func (s *sqliteStore) clients(ctx context.Context) ([]ClientSpend, error) {
	rows, err := s.db.QueryContext(ctx, sqliteDialect.clientsSQL())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ClientSpend{}
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	sortClients(out)
	return out, rows.Err()
}

func (s *sqliteStore) usage(ctx context.Context, q UsageQuery, gran string, groups [3]bool) ([]UsageRow, error) {
	text, args := sqliteDialect.usageSQL(q, gran, groups)
	rows, err := s.db.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []UsageRow{}
	for rows.Next() {
		u, err := scanUsage(rows, groups)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	sortUsage(out)
	return out, rows.Err()
}

func (s *sqliteStore) close() error {
	s.dropConn()
	return s.db.Close()
}
