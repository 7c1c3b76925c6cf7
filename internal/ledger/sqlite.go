package ledger

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver: pure Go, no cgo

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// sqliteMigrations are the SQLite schema's versions, in order; a version is
// applied once, recorded in llm_schema_migrations. Append, never edit. The
// package doc lists the tables and llm_requests' columns.
//
// The writer's CPU per row is the point of this layout: the product wants
// the default ledger to cost a request at most a couple of microseconds,
// and in SQLite (modernc's, pure Go) every b-tree entry and every bound
// parameter costs a microsecond or so of it. So the request rows are kept
// as chunks: one llm_request_chunks row per write (usually one a batch, a
// thousand requests), its data a JSON array of the requests' arrays. The
// llm_requests VIEW unpacks them with json_each and joins the names back,
// so that to plain sqlite3 the rows read as they are written, one per
// request, with PostgreSQL's columns. (BenchmarkSQLiteRecord3Keys,
// 1000-row batches, a 2-core VM: a b-tree row per request cost 3.8 µs a
// request, chunks 2.4, the benchmark's own work included; BENCHMARKS.md.)
//
//   - A request's array: the ids (into llm_names) of client, endpoint,
//     model, vendor and routing, attempts, the outcome's id, then
//     llm_requests' columns from billable on (booleans as 0 and 1), then
//     time_us and request_id: all integers but the last.
//   - A chunk's settled_us is the earliest end (time_us + duration_us) of
//     its requests, and no request in it ended more than sqliteChunkSpan
//     later: so the chunk holding a given request is found from that
//     request alone, by a range of the index on settled_us. That is how
//     replay stays idempotent: a request read back from the spill file is
//     looked up there, and skipped if it was committed already (the batch
//     whose commit timed out, a replay cut short by a crash).
//   - Retention deletes whole chunks, by settled_us: a request is kept
//     until it ended longer ago than the retention, give or take the span.
//
// Version 1 kept a WITHOUT ROWID row per request, keyed (time_us,
// request_id), data the same array without its last two values; version
// 2 folds those rows into chunks. Measured and dropped on the way (each a
// row per request): an index on (client, time_us), +2.6 µs a row; the
// strings as columns instead of ids, +1.1 µs; a column per value instead of
// one JSON array, +2.4 µs; a batch bound as one JSON parameter and split by
// json_each in the INSERT, 19 µs; the page size (4 to 64 KiB) and the rows
// per statement (50 to 1000), nothing.
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
	2: {
		`CREATE TABLE llm_request_chunks (
			id INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: replays cache what a chunk holds by id
			settled_us INTEGER NOT NULL, -- the earliest time_us + duration_us in data
			data TEXT NOT NULL -- JSON array of requests, each an array (sqliteStore.appendRow)
		)`,
		`CREATE INDEX llm_request_chunks_settled ON llm_request_chunks (settled_us)`,
		`DROP VIEW llm_requests`,
		`CREATE VIEW llm_requests AS SELECT r.value->>20 AS request_id, r.value->>19 AS time_us,
			c.name AS client, e.name AS endpoint, m.name AS model, v.name AS vendor, ro.name AS routing,
			r.value->>5 AS attempts, o.name AS outcome, r.value->>7 AS billable,
			r.value->>8 AS prompt_tokens, r.value->>9 AS cached_tokens, r.value->>10 AS completion_tokens,
			r.value->>11 AS reasoning_tokens, r.value->>12 AS usage_estimated,
			r.value->>13 AS billable_cost_micro_usd, r.value->>14 AS absorbed_prompt_tokens,
			r.value->>15 AS absorbed_completion_tokens, r.value->>16 AS absorbed_cost_micro_usd,
			r.value->>17 AS ttft_us, r.value->>18 AS duration_us
		FROM llm_request_chunks k, json_each(k.data) r
			JOIN llm_names c ON c.id = r.value->>0
			JOIN llm_names e ON e.id = r.value->>1
			JOIN llm_names m ON m.id = r.value->>2
			JOIN llm_names v ON v.id = r.value->>3
			JOIN llm_names ro ON ro.id = r.value->>4
			JOIN llm_names o ON o.id = r.value->>6`,
	},
}

// sqliteMigrationSteps are done in Go after a version's statements, in
// the same transaction.
var sqliteMigrationSteps = map[int]func(ctx context.Context, tx *sql.Tx) error{
	2: foldVersion1Rows,
}

// foldVersion1Rows moves schema version 1's request rows into chunks and
// drops their table. A page of rows at a time, in key order, so that a
// large ledger migrates in bounded memory (SQL's GROUP BY would sort the
// whole table first); each page is chunked by end as a batch is, so
// chunks of neighbouring pages may overlap in time, which lookups allow.
func foldVersion1Rows(ctx context.Context, tx *sql.Tx) error {
	var (
		afterTime int64 = math.MinInt64
		afterID   string
		ends      []int64
		rows      []string
		order     []int
		buf       []byte
	)
	for {
		page, err := tx.QueryContext(ctx, `SELECT time_us, request_id, time_us + (data->>18),
			json_insert(data, '$[#]', time_us, '$[#]', request_id)
			FROM llm_request_rows WHERE (time_us, request_id) > (?, ?) ORDER BY time_us, request_id LIMIT 1000`,
			afterTime, afterID)
		if err != nil {
			return err
		}
		ends, rows = ends[:0], rows[:0]
		for page.Next() {
			var end int64
			var row string
			if err := page.Scan(&afterTime, &afterID, &end, &row); err != nil {
				page.Close()
				return err
			}
			ends, rows = append(ends, end), append(rows, row)
		}
		if err := page.Close(); err != nil {
			return err
		}
		if err := page.Err(); err != nil {
			return err
		}
		if len(rows) == 0 {
			break
		}
		order, err = chunkRuns(ends, order, func(pick []int, settled int64) error {
			buf = append(buf[:0], '[')
			for k := range picked(pick, len(rows)) {
				buf = append(append(buf, rows[k]...), ',')
			}
			buf[len(buf)-1] = ']'
			_, err := tx.ExecContext(ctx, sqliteInsertChunkSQL, settled, string(buf))
			return err
		})
		if err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `DROP TABLE llm_request_rows`)
	return err
}

// sqliteChunkSpan is the most a chunk's requests' ends lie apart: a replay
// looks a request up among the chunks settled in the span before its end.
// Longer, fewer chunks when the writer falls behind; shorter, less to read
// back per replayed batch. A batch's requests ended within a flush
// interval of each other (a second by default), so it is usually one chunk.
const sqliteChunkSpan = 2 * time.Second

// sqliteInsertChunkSQL inserts one chunk: its settled_us and data.
const sqliteInsertChunkSQL = `INSERT INTO llm_request_chunks (settled_us, data) VALUES (?, ?)`

// sqliteMaxChunkRows bounds a chunk, so that reading one back (a replay,
// the view) stays cheap whatever the batch size.
const sqliteMaxChunkRows = 1024

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

// sqliteMaxRows is the most rollup rows one upsert binds (15 parameters
// each, well under SQLite's 32766).
const sqliteMaxRows = 256

// sqliteStore is the SQLite database. The writer has a connection of its
// own, with statements prepared once (the upserts once per size, powers of
// two, so that any batch is a few of them); reads use the pool's other
// connections, which WAL lets run beside the writer.
type sqliteStore struct {
	db      *sql.DB
	conn    *sql.Conn            // the writer's; nil until needed, and after a failure
	insert  *sql.Stmt            // one chunk
	upserts [2]map[int]*sql.Stmt // daily, hourly: n keys
	args    []any                // scratch
	fresh   []Entry              // scratch: the rows to insert
	order   []int                // scratch: fresh by end, when it spans more than a chunk
	sums    [2]rollup            // scratch: daily, hourly (the daily one summed from the hourly)
	tables  [2]string            // rollup tables, as upserts
	seen    map[string]struct{}  // scratch: ids met in the batch, or stored already
	// chunkIDs are the request ids of chunks a replay read (storedIDs).
	chunkIDs map[int64][]string
	buf      []byte  // scratch: a chunk's data
	ends     []int64 // scratch: when each row ended (endUS)

	// names caches the ids of llm_names rows, committed; added holds those the
	// transaction under way created or read, merged into names once it
	// commits: a rolled-back id may be handed to another name. lastNames
	// are the previous row's, per column, forgotten with added.
	names, added map[string]int64
	lastNames    [6]lastName
}

// lastName is a name and its id in llm_names.
type lastName struct {
	name string
	id   int64
	ok   bool
}

// sqliteMaxCachedNames bounds the writer's cache of llm_names ids; beyond it
// the cache starts over (each name then costs one lookup again).
const sqliteMaxCachedNames = 100_000

// openSQLite opens (creating it and its directory) the database at path
// and migrates it.
func openSQLite(ctx context.Context, path string, log *zap.Logger) (*sqliteStore, error) {
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
	s := &sqliteStore{db: db, upserts: [2]map[int]*sql.Stmt{{}, {}}, seen: map[string]struct{}{},
		tables: [2]string{"llm_usage_daily", "llm_usage_hourly"},
		names:  map[string]int64{}, added: map[string]int64{}}
	if err := s.migrate(ctx, log.With(zap.String("path", path))); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger: sqlite %s: %w", path, err)
	}
	return s, nil
}

// migrate applies the migrations the database lacks, in one transaction.
// Upgrading a database that holds rows may take a while (version 2 rewrites
// the request rows, a few seconds per million), so it is logged.
func (s *sqliteStore) migrate(ctx context.Context, log *zap.Logger) error {
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
	latest, start := len(sqliteMigrations)-1, time.Now()
	if err := errorIfNewer(have, latest); err != nil {
		return err
	}
	upgrade := have > 0 && have < latest
	if upgrade {
		log.Info("ledger: upgrading the SQLite schema", zap.Int("from", have), zap.Int("to", latest))
	}
	for v := have + 1; v < len(sqliteMigrations); v++ {
		for _, stmt := range sqliteMigrations[v] {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		if step := sqliteMigrationSteps[v]; step != nil {
			if err := step(ctx, tx); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO llm_schema_migrations VALUES (?, ?)`, v, time.Now().Unix()); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if upgrade {
		log.Info("ledger: SQLite schema upgraded", zap.Int("to", latest), zap.Duration("took", time.Since(start)))
	}
	return nil
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
	// The writer appends: a page it wrote is rarely read again, so a page
	// cache of its own larger than a few batches only keeps allocating
	// (and faulting in) fresh pages until it is full, 20 % of the writer's
	// CPU under load (BENCHMARKS.md). The readers keep the DSN's 16 MB.
	if _, err := c.ExecContext(ctx, "PRAGMA cache_size = -2000"); err != nil {
		c.Close()
		return nil, err
	}
	s.conn = c
	return c, nil
}

// dropConn forgets the writer's connection and its statements after a
// failure, so that the next write starts clean.
func (s *sqliteStore) dropConn() {
	if s.insert != nil {
		s.insert.Close()
		s.insert = nil
	}
	for _, m := range s.upserts {
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

func (s *sqliteStore) write(ctx context.Context, batch []Entry, replayed bool) (int, error) {
	conn, err := s.writerConn(ctx)
	if err != nil {
		return 0, err
	}
	n, err := s.writeTx(ctx, conn, batch, replayed)
	if err == nil {
		if len(s.names)+len(s.added) > sqliteMaxCachedNames {
			clear(s.names)
		}
		maps.Copy(s.names, s.added)
	}
	clear(s.added)
	if err != nil {
		s.lastNames = [6]lastName{}
	}
	clear(s.fresh[:cap(s.fresh)]) // let go of the strings
	clear(s.seen)
	if err != nil && s.conn != nil {
		if _, rerr := s.conn.ExecContext(context.Background(), "ROLLBACK"); rerr != nil && !strings.Contains(rerr.Error(), "no transaction") {
			s.dropConn()
		}
	}
	return n, err
}

// writeTx is one transaction of write: the batch's new requests as chunks,
// and exactly those added to the rollups.
func (s *sqliteStore) writeTx(ctx context.Context, conn *sql.Conn, batch []Entry, replayed bool) (int, error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return 0, err
	}
	fresh, err := s.unseen(ctx, conn, batch, replayed)
	if err != nil {
		return 0, err
	}
	if err := s.insertChunks(ctx, conn, fresh); err != nil {
		return 0, err
	}
	aggregate(fresh, bucketSize(GranularityHour), &s.sums[1])
	regroup(&s.sums[1], bucketSize(GranularityDay), &s.sums[0])
	for t := range s.tables {
		if err := s.upsert(ctx, conn, t); err != nil {
			return 0, err
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return 0, err
	}
	return len(fresh), nil
}

// unseen returns batch without the repeats of a request (the first is
// kept) and, for a replay, without the requests stored already. Only a
// replay is looked up: the router gives every request an id of its own,
// so a batch from the queue cannot hold a committed one; one read back
// from the spill file can (see sqliteMigrations).
func (s *sqliteStore) unseen(ctx context.Context, conn *sql.Conn, batch []Entry, replayed bool) ([]Entry, error) {
	if replayed {
		if err := s.storedIDs(ctx, conn, batch); err != nil {
			return nil, err
		}
	}
	fresh := batch
	for i := range batch {
		id := batch[i].RequestID
		if _, ok := s.seen[id]; ok {
			if len(fresh) == len(batch) { // the first left out: copy from here on
				fresh = append(s.fresh[:0], batch[:i]...)
			}
			continue
		}
		s.seen[id] = struct{}{}
		if len(fresh) < len(batch) {
			fresh = append(fresh, batch[i])
		}
	}
	if len(fresh) < len(batch) {
		s.fresh = fresh
	}
	return fresh, nil
}

// storedIDs adds to s.seen the ids of batch's requests that are stored
// already. A request is in a chunk settled in the span before its end, so
// those chunks are read; the ids of each are kept in s.chunkIDs, since a
// replay's batches look at the same chunks again and a chunk never changes.
func (s *sqliteStore) storedIDs(ctx context.Context, conn *sql.Conn, batch []Entry) error {
	want := make(map[string]struct{}, len(batch))
	ends := make([]int64, len(batch))
	for i := range batch {
		want[batch[i].RequestID] = struct{}{}
		ends[i] = endUS(&batch[i])
	}
	slices.Sort(ends)
	span := sqliteChunkSpan.Microseconds()
	var chunks []int64
	for i := 0; i < len(ends); {
		from, to := ends[i]-span, ends[i]
		for i++; i < len(ends) && ends[i]-span <= to; i++ { // windows that overlap: one read
			to = ends[i]
		}
		rows, err := conn.QueryContext(ctx, `SELECT id FROM llm_request_chunks WHERE settled_us BETWEEN ? AND ?`, from, to)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			chunks = append(chunks, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for _, chunk := range chunks {
		ids, err := s.idsIn(ctx, conn, chunk)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, ok := want[id]; ok {
				s.seen[id] = struct{}{}
			}
		}
	}
	return nil
}

// sqliteCachedChunks bounds storedIDs' cache: a replay looks at the chunks
// of a few seconds around each batch, a few dozen at thousands of requests
// a second.
const sqliteCachedChunks = 64

// idsIn returns the request ids in a committed chunk.
func (s *sqliteStore) idsIn(ctx context.Context, conn *sql.Conn, chunk int64) ([]string, error) {
	if ids, ok := s.chunkIDs[chunk]; ok {
		return ids, nil
	}
	var data string
	if err := conn.QueryRowContext(ctx, `SELECT data FROM llm_request_chunks WHERE id = ?`, chunk).Scan(&data); err != nil {
		return nil, err
	}
	ids := requestIDs(data)
	if s.chunkIDs == nil || len(s.chunkIDs) >= sqliteCachedChunks {
		s.chunkIDs = make(map[int64][]string, sqliteCachedChunks)
	}
	s.chunkIDs[chunk] = ids
	return ids, nil
}

// requestIDs returns the request ids in a chunk's data: its only strings
// (everything else in a request's array is an integer). Reading them here
// is some fifty times faster than json_each and ->> in SQL.
func requestIDs(data string) []string {
	var ids []string
	for i := 0; i < len(data); i++ {
		q := strings.IndexByte(data[i:], '"')
		if q < 0 {
			break
		}
		start, escaped := i+q, false
		end := start + 1
		for ; end < len(data) && data[end] != '"'; end++ {
			if data[end] == '\\' {
				escaped = true
				end++ // whatever it escapes
			}
		}
		if end >= len(data) {
			break // cut short: not what the writer wrote
		}
		id := data[start+1 : end]
		if escaped {
			if err := json.Unmarshal([]byte(data[start:end+1]), &id); err != nil {
				id = data[start+1 : end]
			}
		}
		ids = append(ids, id)
		i = end
	}
	return ids
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

// endUS is when e's request ended, in Unix microseconds, as the chunks
// count it (time_us + duration_us).
func endUS(e *Entry) int64 {
	return e.Time.UnixMicro() + e.Duration.Microseconds()
}

// insertChunks inserts rows as chunks (chunkRuns).
func (s *sqliteStore) insertChunks(ctx context.Context, conn *sql.Conn, rows []Entry) error {
	ends := s.ends[:0]
	for i := range rows {
		ends = append(ends, endUS(&rows[i]))
	}
	s.ends = ends
	var err error
	s.order, err = chunkRuns(ends, s.order, func(pick []int, settled int64) error {
		return s.insertChunk(ctx, conn, rows, pick, settled)
	})
	return err
}

// chunkRuns splits rows that ended at ends into chunks and calls insert
// for each, with the indexes of its rows (nil: all of them) and its
// settled_us. One chunk if the rows ended within sqliteChunkSpan of each
// other and are few enough, as a batch's usually are; else runs of them
// by end. order is scratch, returned for reuse.
func chunkRuns(ends []int64, order []int, insert func(pick []int, settled int64) error) ([]int, error) {
	if len(ends) == 0 {
		return order, nil
	}
	first, last := slices.Min(ends), slices.Max(ends)
	span := sqliteChunkSpan.Microseconds()
	if last-first <= span && len(ends) <= sqliteMaxChunkRows {
		return order, insert(nil, first)
	}
	order = order[:0]
	for i := range ends {
		order = append(order, i)
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(ends[a], ends[b]) })
	for rest := order; len(rest) > 0; {
		first, n := ends[rest[0]], 1
		for n < len(rest) && n < sqliteMaxChunkRows && ends[rest[n]]-first <= span {
			n++
		}
		if err := insert(rest[:n], first); err != nil {
			return order, err
		}
		rest = rest[n:]
	}
	return order, nil
}

// insertChunk inserts one chunk: rows[pick...] (all of rows if pick is
// nil), the earliest of which ended at settled.
func (s *sqliteStore) insertChunk(ctx context.Context, conn *sql.Conn, rows []Entry, pick []int, settled int64) error {
	buf := append(s.buf[:0], '[')
	var err error
	for i := range picked(pick, len(rows)) {
		if buf, err = s.appendRow(ctx, conn, buf, &rows[i]); err != nil {
			return err
		}
	}
	buf[len(buf)-1] = ']' // over the last row's comma
	s.buf = buf
	if s.insert == nil {
		if s.insert, err = conn.PrepareContext(ctx, sqliteInsertChunkSQL); err != nil {
			return err
		}
	}
	// A string, not the []byte: SQLite would take a BLOB for JSONB.
	_, err = s.insert.ExecContext(ctx, settled, string(buf))
	return err
}

// picked yields the indexes chunkRuns picked: pick's, or all n if nil.
func picked(pick []int, n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		if pick == nil {
			for i := range n {
				if !yield(i) {
					return
				}
			}
			return
		}
		for _, i := range pick {
			if !yield(i) {
				return
			}
		}
	}
}

// appendRow appends e's array to a chunk's data, and a comma: the ids of
// its names, its numbers, time_us and request_id, in the order the
// llm_requests view reads them. Appends, not encoding/json, which would
// reflect and allocate per row.
func (s *sqliteStore) appendRow(ctx context.Context, conn *sql.Conn, buf []byte, e *Entry) ([]byte, error) {
	var ids [6]int64
	for j, name := range [6]string{e.Client, e.Endpoint, e.Model, e.Vendor, e.Routing, e.Outcome} {
		if last := &s.lastNames[j]; last.ok && last.name == name { // a compare, not a map's hash
			ids[j] = last.id
			continue
		}
		id, err := s.nameID(ctx, conn, name)
		if err != nil {
			return buf, err
		}
		ids[j], s.lastNames[j] = id, lastName{name: name, id: id, ok: true}
	}
	for j, v := range [...]int64{ids[0], ids[1], ids[2], ids[3], ids[4], int64(e.Attempts), ids[5],
		boolInt(e.Billable), int64(e.Usage.PromptTokens), int64(e.Usage.CachedTokens),
		int64(e.Usage.CompletionTokens), int64(e.Usage.ReasoningTokens), boolInt(e.Usage.Estimated),
		billing.MicroUSD(e.CostUSD), int64(e.Absorbed.PromptTokens), int64(e.Absorbed.CompletionTokens),
		billing.MicroUSD(e.AbsorbedCostUSD), e.TTFT.Microseconds(), e.Duration.Microseconds(), e.Time.UnixMicro()} {
		if j == 0 {
			buf = append(buf, '[')
		} else {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, v, 10)
	}
	buf = append(buf, ',')
	buf = appendJSONString(buf, e.RequestID)
	return append(buf, ']', ','), nil
}

// appendJSONString appends s as a JSON string. Request ids are plain ASCII
// (the router's are hex), which is copied as it is; anything else goes
// through encoding/json.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			quoted, _ := json.Marshal(s)
			return append(buf, quoted...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
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

// sqlitePruneChunks is how many old chunks one DELETE removes: small enough
// to keep the write lock short (a chunk is a batch, up to a thousand rows).
const sqlitePruneChunks = 8

// prune deletes the chunks whose requests all ended before cutoff.
func (s *sqliteStore) prune(ctx context.Context, cutoff time.Time) (bool, error) {
	conn, err := s.writerConn(ctx)
	if err != nil {
		return false, err
	}
	res, err := conn.ExecContext(ctx, `DELETE FROM llm_request_chunks WHERE id IN
		(SELECT id FROM llm_request_chunks WHERE settled_us < ? ORDER BY settled_us LIMIT ?)`,
		cutoff.Add(-sqliteChunkSpan).UnixMicro(), sqlitePruneChunks)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == sqlitePruneChunks, err
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
