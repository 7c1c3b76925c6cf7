package ledger

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// A batch is kept as chunks of requests that ended within sqliteChunkSpan
// of each other, at most sqliteMaxChunkRows each, and a replay of all of
// it (the spill file of a crash after the commit) adds nothing.
func TestSQLite_Chunks(t *testing.T) {
	cfg := sqliteBackend.fresh(t)
	cfg.BatchSize = 2000 // the replay's batch: more than a chunk holds
	s := open(t, cfg)
	var err error
	var entries []Entry
	for i := range 1500 {
		entries = append(entries, Entry{RequestID: fmt.Sprint("a", i), Time: day0.Add(time.Duration(i) * time.Microsecond),
			Client: "bob", Outcome: "success"})
	}
	for i, at := range []time.Duration{1500 * time.Millisecond, 3 * time.Second, 3500 * time.Millisecond, time.Hour} {
		// Ended at day0+at: started a second before.
		entries = append(entries, Entry{RequestID: fmt.Sprint("b", i), Time: day0.Add(at - time.Second),
			Client: "bob", Outcome: "success", Duration: time.Second})
	}
	// One write, as a full queue's batch (Record could be drained early by
	// the writer's housekeeping tick).
	var written int
	s.onWriter(func() { written, err = s.store.write(t.Context(), entries, false) })
	require.NoError(t, err)
	require.Equal(t, len(entries), written)
	d := day0.UnixMicro()
	chunks := `SELECT settled_us, json_array_length(data) FROM llm_request_chunks ORDER BY settled_us`
	want := [][]any{{d, int64(1024)}, {d + 1024, int64(477)}, {d + 3_000_000, int64(2)}, {d + 3_600_000_000, int64(1)}}
	assert.Equal(t, want, sqliteBackend.query(t, cfg, chunks))
	require.NoError(t, s.Close())

	// A crash after the commit and before the spill file was truncated
	// replays the lot, with one request that was not committed.
	sp, err := openSpill(cfg.SpillPath)
	require.NoError(t, err)
	late := Entry{RequestID: "late", Time: day0.Add(2 * time.Second), Client: "bob", Outcome: "success"}
	require.NoError(t, sp.append(append(entries, late), true))
	require.NoError(t, sp.close())
	s = open(t, cfg)
	require.NoError(t, s.Flush(t.Context()))
	assert.Equal(t, SQLStats{Written: 1, Replayed: uint64(len(entries) + 1), Up: true}, s.Stats())
	assert.Equal(t, [][]any{{int64(len(entries) + 1), int64(len(entries) + 1)}},
		sqliteBackend.query(t, cfg, `SELECT count(*), count(DISTINCT request_id) FROM llm_requests`))
	assert.Equal(t, [][]any{{int64(len(entries) + 1)}},
		sqliteBackend.query(t, cfg, `SELECT sum(requests) FROM llm_usage_daily`))
	assert.Equal(t, [][]any{want[0], want[1], {d + 2_000_000, int64(1)}, want[2], want[3]},
		sqliteBackend.query(t, cfg, chunks), "the late request is a chunk of its own")
}

// A database of schema version 1 (a WITHOUT ROWID row per request) is
// migrated: its requests read as a new database's would, and replaying one
// of them adds nothing.
func TestSQLite_MigratesVersion1(t *testing.T) {
	entries := sample()
	entries = append(entries, Entry{RequestID: `odd "id" \ é`, Time: day0.Add(11 * time.Hour), Client: "carol",
		Endpoint: "chat/completions", Model: "gpt", Vendor: "openai", Routing: "perf", Attempts: 1, Outcome: "success",
		Billable: true, Usage: billing.Usage{PromptTokens: 3, CompletionTokens: 4}, CostUSD: 0.000007,
		Duration: 1500 * time.Millisecond})

	fresh := sqliteBackend.fresh(t)
	s := open(t, fresh)
	for _, e := range entries {
		s.Record(e)
	}
	require.NoError(t, s.Close())

	old := sqliteBackend.fresh(t)
	writeVersion1(t, old.DSN, entries)
	core, logs := observer.New(zap.InfoLevel)
	old.Logger = zap.New(core)
	s = open(t, old)
	assert.Equal(t, []string{"ledger: upgrading the SQLite schema", "ledger: SQLite schema upgraded"},
		messages(logs.All()), "a slow start is explained")
	old.Logger = nil
	all := `SELECT * FROM llm_requests ORDER BY request_id`
	assert.Equal(t, sqliteBackend.query(t, fresh, all), sqliteBackend.query(t, old, all))
	assert.Equal(t, [][]any{{int64(0)}},
		sqliteBackend.query(t, old, `SELECT count(*) FROM sqlite_schema WHERE name = 'llm_request_rows'`))
	require.NoError(t, s.Close())

	sp, err := openSpill(old.SpillPath)
	require.NoError(t, err)
	require.NoError(t, sp.append(entries[3:], true))
	require.NoError(t, sp.close())
	s = open(t, old)
	require.NoError(t, s.Flush(t.Context()))
	assert.Equal(t, SQLStats{Replayed: 2, Up: true}, s.Stats())
	assert.Equal(t, [][]any{{int64(len(entries))}}, sqliteBackend.query(t, old, `SELECT count(*) FROM llm_requests`))
}

// messages are the log entries' messages.
func messages(entries []observer.LoggedEntry) []string {
	out := []string{}
	for _, e := range entries {
		out = append(out, e.Message)
	}
	return out
}

// writeVersion1 creates at path a database of schema version 1 holding
// entries, as that version's writer left them (rollups aside).
func writeVersion1(t *testing.T, path string, entries []Entry) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	exec := func(q string, args ...any) {
		_, err := db.Exec(q, args...)
		require.NoError(t, err, q)
	}
	exec(`CREATE TABLE llm_schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)`)
	for _, stmt := range sqliteMigrations[1] {
		exec(stmt)
	}
	exec(`INSERT INTO llm_schema_migrations VALUES (1, 0)`)
	id := func(name string) int64 {
		exec(`INSERT OR IGNORE INTO llm_names (name) VALUES (?)`, name)
		var id int64
		require.NoError(t, db.QueryRow(`SELECT id FROM llm_names WHERE name = ?`, name).Scan(&id))
		return id
	}
	for _, e := range entries {
		vals := []int64{id(e.Client), id(e.Endpoint), id(e.Model), id(e.Vendor), id(e.Routing), int64(e.Attempts),
			id(e.Outcome), boolInt(e.Billable), int64(e.Usage.PromptTokens), int64(e.Usage.CachedTokens),
			int64(e.Usage.CompletionTokens), int64(e.Usage.ReasoningTokens), boolInt(e.Usage.Estimated),
			billing.MicroUSD(e.CostUSD), int64(e.Absorbed.PromptTokens), int64(e.Absorbed.CompletionTokens),
			billing.MicroUSD(e.AbsorbedCostUSD), e.TTFT.Microseconds(), e.Duration.Microseconds()}
		data := strings.Trim(strings.ReplaceAll(fmt.Sprint(vals), " ", ","), "[]")
		exec(`INSERT INTO llm_request_rows VALUES (?, ?, ?)`, e.Time.UnixMicro(), e.RequestID, "["+data+"]")
	}
}

// A chunk's request ids are JSON strings, whatever they hold, and read back
// as they were given.
func TestChunkRequestIDs(t *testing.T) {
	ids := []string{"", "gen-0123abcd", `a"b`, `a\b`, `\"`, "tab\there", "é", "\x7f", "<html>"}
	data := []byte("[")
	for i, id := range ids {
		var s string
		require.NoError(t, json.Unmarshal(appendJSONString(nil, id), &s), id)
		assert.Equal(t, id, s)
		data = fmt.Appendf(data, "[1,2,%d,", i)
		data = append(appendJSONString(data, id), "],"...)
	}
	data[len(data)-1] = ']'
	require.True(t, json.Valid(data), string(data))
	assert.Equal(t, ids, requestIDs(string(data)))
	assert.Equal(t, ids[:2], requestIDs(`[[1,"",2],[3,"gen-0123abcd"],[4,"cut`), "a string cut short is not an id")
}

// requestIDs never panics, and reads back any valid id a chunk was written
// with. (`make fuzz` runs it; not `make test`: instrumenting modernc's SQLite
// for the fuzzer takes minutes.)
func FuzzRequestIDs(f *testing.F) {
	f.Add(`gen-0123`, `[[1,"a\"b"],[2,"c`)
	f.Add(`a\"b`, `"\`)
	f.Fuzz(func(t *testing.T, id, data string) {
		requestIDs(data)
		if !utf8.ValidString(id) {
			return
		}
		chunk := append(appendJSONString([]byte(`[[1,`), id), "]]"...)
		assert.Equal(t, []string{id}, requestIDs(string(chunk)))
	})
}
