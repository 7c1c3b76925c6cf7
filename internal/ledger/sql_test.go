package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// testTuning makes the writer's housekeeping fast enough for tests.
var testTuning = tuning{openTimeout: 2 * time.Second, batchTimeout: 2 * time.Second, healthEvery: 50 * time.Millisecond,
	maintainEvery: 10 * time.Millisecond, retentionEvery: time.Hour}

// backend is a database the shared tests run against.
type backend struct {
	name string
	// fresh returns the config of an empty database of the test's own,
	// with a spill path in t.TempDir().
	fresh func(t *testing.T) SQLConfig
	// query runs q on cfg's database, the rows as Go values (integers as
	// int64), from a connection of its own.
	query func(t *testing.T, cfg SQLConfig, q string, args ...any) [][]any
	// timeUS is the SQL of a request row's time in Unix microseconds; ph
	// the first placeholder.
	timeUS, ph string
	// version is the dialect's latest schema version.
	version int64
}

var sqliteBackend = backend{
	name: "sqlite",
	fresh: func(t *testing.T) SQLConfig {
		dir := t.TempDir()
		return SQLConfig{Driver: "sqlite", DSN: filepath.Join(dir, "db", "ledger.db"),
			SpillPath: filepath.Join(dir, "spill", "ledger.jsonl"), FlushInterval: time.Hour}
	},
	query: func(t *testing.T, cfg SQLConfig, q string, args ...any) [][]any {
		t.Helper()
		db, err := sql.Open("sqlite", cfg.DSN+"?_busy_timeout=5000")
		require.NoError(t, err)
		defer db.Close()
		rows, err := db.Query(q, args...)
		require.NoError(t, err)
		defer rows.Close()
		cols, err := rows.Columns()
		require.NoError(t, err)
		var out [][]any
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			out = append(out, normalize(vals))
		}
		require.NoError(t, rows.Err())
		return out
	},
	timeUS: "time_us", ph: "?", version: int64(len(sqliteMigrations) - 1),
}

// normalize turns the integers and byte strings drivers return into int64
// and string.
func normalize(vals []any) []any {
	for i, v := range vals {
		switch x := v.(type) {
		case int32:
			vals[i] = int64(x)
		case int16:
			vals[i] = int64(x)
		case int:
			vals[i] = int64(x)
		case []byte:
			vals[i] = string(x)
		}
	}
	return vals
}

// backends are the databases the shared tests run against; postgres_test.go
// adds PostgreSQL.
var backends = []backend{sqliteBackend}

// forEachBackend runs test against each backend.
func forEachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}

// open opens a SQL ledger with testTuning, closed at the test's end.
func open(t *testing.T, cfg SQLConfig) *SQL {
	t.Helper()
	s, err := openSQL(t.Context(), cfg, testTuning)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// day0 is a fixed UTC day the tests record in.
var day0 = time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)

// sample is a set of entries: two clients, two days, billable, absorbed
// and failed requests, with costs exact in micro-dollars.
func sample() []Entry {
	return []Entry{
		{RequestID: "r1", Time: day0.Add(9*time.Hour + 5*time.Minute), Client: "bob", Endpoint: "chat/completions",
			Model: "gpt", Vendor: "openai", Routing: "perf", Attempts: 1, Outcome: "success", Billable: true,
			Usage:   billing.Usage{PromptTokens: 100, CachedTokens: 40, CompletionTokens: 20, ReasoningTokens: 5},
			CostUSD: 0.001234, TTFT: 250 * time.Millisecond, Duration: 1500 * time.Millisecond},
		// Zero completion insurance: an answer that broke off is not billed,
		// and the router absorbs its usage.
		{RequestID: "r2", Time: day0.Add(9*time.Hour + 30*time.Minute), Client: "bob", Endpoint: "chat/completions",
			Model: "gpt", Vendor: "openai", Routing: "perf", Attempts: 2, Outcome: "interrupted",
			Usage:    billing.Usage{PromptTokens: 50, CompletionTokens: 7, Estimated: true},
			Absorbed: billing.Usage{PromptTokens: 80, CompletionTokens: 7}, AbsorbedCostUSD: 0.0005,
			TTFT: time.Second, Duration: 2 * time.Second},
		{RequestID: "r3", Time: day0.Add(10 * time.Hour), Client: "alice", Endpoint: "embeddings",
			Model: "emb", Vendor: "mistral", Routing: "price", Attempts: 1, Outcome: "success", Billable: true,
			Usage: billing.Usage{PromptTokens: 10, CompletionTokens: 1}, CostUSD: 0.00001, Duration: time.Millisecond},
		{RequestID: "r4", Time: day0.Add(24*time.Hour + 3*time.Hour), Client: "bob", Endpoint: "chat/completions",
			Model: "gpt", Vendor: "azure", Routing: "perf", Attempts: 3, Outcome: "vendor_error",
			Absorbed: billing.Usage{PromptTokens: 30}, AbsorbedCostUSD: 0.000003, Duration: 3 * time.Second},
	}
}

// memoryOf is what Memory reports for entries: the SQL ledger must agree.
func memoryOf(entries []Entry) []ClientSpend {
	m := NewMemory()
	for _, e := range entries {
		m.Record(e)
	}
	c, _ := m.Clients(context.Background())
	return c
}

func TestSQL_RowsAndRollups(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		cfg := b.fresh(t)
		s := open(t, cfg)
		for _, e := range sample() {
			s.Record(e)
		}
		got, err := s.Clients(t.Context()) // flushes first
		require.NoError(t, err)
		assert.Equal(t, memoryOf(sample()), got)

		rows := b.query(t, cfg, `SELECT client, endpoint, model, vendor, routing, outcome, attempts,
			CASE WHEN billable THEN 1 ELSE 0 END, prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens,
			CASE WHEN usage_estimated THEN 1 ELSE 0 END, billable_cost_micro_usd, absorbed_prompt_tokens,
			absorbed_completion_tokens, absorbed_cost_micro_usd, ttft_us, duration_us, `+b.timeUS+`
			FROM llm_requests ORDER BY request_id`)
		us := func(d time.Duration) int64 { return d.Microseconds() }
		assert.Equal(t, [][]any{
			{"bob", "chat/completions", "gpt", "openai", "perf", "success", int64(1), int64(1), int64(100), int64(40),
				int64(20), int64(5), int64(0), int64(1234), int64(0), int64(0), int64(0), int64(250_000),
				int64(1_500_000), day0.Add(9*time.Hour + 5*time.Minute).UnixMicro()},
			{"bob", "chat/completions", "gpt", "openai", "perf", "interrupted", int64(2), int64(0), int64(50), int64(0),
				int64(7), int64(0), int64(1), int64(0), int64(80), int64(7), int64(500), us(time.Second),
				us(2 * time.Second), day0.Add(9*time.Hour + 30*time.Minute).UnixMicro()},
			{"alice", "embeddings", "emb", "mistral", "price", "success", int64(1), int64(1), int64(10), int64(0),
				int64(1), int64(0), int64(0), int64(10), int64(0), int64(0), int64(0), int64(0), int64(1000),
				day0.Add(10 * time.Hour).UnixMicro()},
			{"bob", "chat/completions", "gpt", "azure", "perf", "vendor_error", int64(3), int64(0), int64(0), int64(0),
				int64(0), int64(0), int64(0), int64(0), int64(30), int64(0), int64(3), int64(0), us(3 * time.Second),
				day0.Add(27 * time.Hour).UnixMicro()},
		}, rows)

		// The daily rollup of bob's first day: billable tokens only from r1,
		// absorbed from r2.
		usage, err := s.Usage(t.Context(), UsageQuery{GroupBy: []string{GroupClient}})
		require.NoError(t, err)
		assert.Equal(t, []UsageRow{
			{Start: day0, Client: "alice", Requests: 1, Successes: 1, PromptTokens: 10, CompletionTokens: 1,
				BillableCostUSD: 0.00001},
			{Start: day0, Client: "bob", Requests: 2, Successes: 1, Failures: 1, PromptTokens: 100, CachedTokens: 40,
				CompletionTokens: 20, AbsorbedPromptTokens: 80, AbsorbedCompletionTokens: 7, BillableCostUSD: 0.001234,
				AbsorbedCostUSD: 0.0005},
			{Start: day0.Add(24 * time.Hour), Client: "bob", Requests: 1, Failures: 1, AbsorbedPromptTokens: 30,
				AbsorbedCostUSD: 0.000003},
		}, usage)
		assert.Equal(t, SQLStats{Queued: 4, Written: 4, Up: true}, s.Stats())
	})
}

func TestSQL_Usage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := open(t, b.fresh(t))
		for _, e := range sample() {
			s.Record(e)
		}
		ctx := t.Context()

		// No groups: one row per day, everything summed.
		got, err := s.Usage(ctx, UsageQuery{})
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, UsageRow{Start: day0, Requests: 3, Successes: 2, Failures: 1, PromptTokens: 110,
			CachedTokens: 40, CompletionTokens: 21, AbsorbedPromptTokens: 80, AbsorbedCompletionTokens: 7,
			BillableCostUSD: 0.001244, AbsorbedCostUSD: 0.0005}, got[0])

		// Hours, by model and vendor, in start then group order.
		got, err = s.Usage(ctx, UsageQuery{Granularity: GranularityHour, GroupBy: []string{GroupVendor, GroupModel}})
		require.NoError(t, err)
		type key struct {
			start         time.Time
			model, vendor string
			requests      int64
		}
		var keys []key
		for _, r := range got {
			assert.Empty(t, r.Client)
			keys = append(keys, key{r.Start, r.Model, r.Vendor, r.Requests})
		}
		assert.Equal(t, []key{
			{day0.Add(9 * time.Hour), "gpt", "openai", 2},
			{day0.Add(10 * time.Hour), "emb", "mistral", 1},
			{day0.Add(27 * time.Hour), "gpt", "azure", 1},
		}, keys)

		// From is rounded down to its bucket; To is exclusive.
		got, err = s.Usage(ctx, UsageQuery{From: day0.Add(9*time.Hour + 40*time.Minute), To: day0.Add(27 * time.Hour),
			Granularity: GranularityHour})
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, day0.Add(9*time.Hour), got[0].Start)
		assert.Equal(t, day0.Add(10*time.Hour), got[1].Start)
		got, err = s.Usage(ctx, UsageQuery{From: day0.Add(time.Hour)}) // the whole first day
		require.NoError(t, err)
		require.Len(t, got, 2)
		got, err = s.Usage(ctx, UsageQuery{To: day0.Add(24 * time.Hour)})
		require.NoError(t, err)
		require.Len(t, got, 1)

		_, err = s.Usage(ctx, UsageQuery{GroupBy: []string{"region"}})
		assert.ErrorContains(t, err, `cannot group by "region"`)
		_, err = s.Usage(ctx, UsageQuery{Granularity: "week"})
		assert.ErrorContains(t, err, "use day or hour")
	})
}

func TestParseGroupByAndGranularity(t *testing.T) {
	g, err := ParseGroupBy(" model, client ")
	require.NoError(t, err)
	assert.Equal(t, []string{"model", "client"}, g)
	g, err = ParseGroupBy("")
	assert.NoError(t, err)
	assert.Nil(t, g)
	_, err = ParseGroupBy("client,client")
	assert.ErrorContains(t, err, "named twice")
	_, err = ParseGroupBy("client,,model")
	assert.ErrorContains(t, err, `cannot group by ""`)
	for in, want := range map[string]string{"": "day", "day": "day", "hour": "hour"} {
		got, err := ParseGranularity(in)
		assert.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err = ParseGranularity("minute")
	assert.Error(t, err)
}

// A request replayed (from the spill file, or recorded twice) is stored
// and counted once: in a batch with itself, and against a committed row.
func TestSQL_IdempotentReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		cfg := b.fresh(t)
		s := open(t, cfg)
		entries := sample()
		s.Record(entries[0])
		require.NoError(t, s.Close())

		// What a crash would leave: r1 (committed already), r2 twice.
		sp, err := openSpill(cfg.SpillPath)
		require.NoError(t, err)
		require.NoError(t, sp.append([]Entry{entries[0], entries[1], entries[1]}, true))
		require.NoError(t, sp.close())

		s = open(t, cfg)
		got, err := s.Clients(t.Context())
		require.NoError(t, err)
		assert.Equal(t, memoryOf(entries[:2]), got)
		assert.Equal(t, SQLStats{Written: 1, Replayed: 3, Up: true}, s.Stats())
		assert.Equal(t, [][]any{{int64(2)}}, b.query(t, cfg, `SELECT count(*) FROM llm_requests`))
		assert.False(t, s.spill.pending(), "the spill file is truncated once replayed")

		// The same id recorded twice in a batch counts once too.
		s.Record(entries[2])
		s.Record(entries[2])
		got, err = s.Clients(t.Context())
		require.NoError(t, err)
		assert.Equal(t, memoryOf(entries[:3]), got)
	})
}

// Migrations run once: a second open finds the schema and the rows.
func TestSQL_MigrationsRunOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		cfg := b.fresh(t)
		s := open(t, cfg)
		s.Record(sample()[0])
		require.NoError(t, s.Close())
		s = open(t, cfg)
		require.NoError(t, s.Close())
		assert.Equal(t, [][]any{{b.version, b.version}},
			b.query(t, cfg, `SELECT count(*), max(version) FROM llm_schema_migrations`))
		assert.Equal(t, [][]any{{int64(1)}}, b.query(t, cfg, `SELECT count(*) FROM llm_requests`))
	})
}

// Retention deletes old request rows and keeps the rollups.
func TestSQL_Retention(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		cfg := b.fresh(t)
		cfg.Retention = 30 * 24 * time.Hour
		s := open(t, cfg)
		now := time.Now()
		old := Entry{RequestID: "old", Time: now.Add(-90 * 24 * time.Hour), Client: "bob", Outcome: "success"}
		recent := Entry{RequestID: "new", Time: now.Add(-time.Hour), Client: "bob", Outcome: "success"}
		s.Record(old)
		s.Record(recent)
		before, err := s.Clients(t.Context())
		require.NoError(t, err)
		s.onWriter(func() { s.prune(time.Now()) })
		assert.Equal(t, [][]any{{"new"}}, b.query(t, cfg, `SELECT request_id FROM llm_requests`))
		after, err := s.Clients(t.Context())
		require.NoError(t, err)
		assert.Equal(t, before, after)
		assert.Equal(t, int64(2), after[0].Requests)
	})
}

// Close writes everything queued, however long the flush interval.
func TestSQL_CloseFlushesEverything(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		cfg := b.fresh(t)
		cfg.FlushInterval = time.Hour
		s := open(t, cfg)
		for i := range 2500 { // more than two batches
			s.Record(Entry{RequestID: fmt.Sprint("c", i), Time: day0, Client: "bob", Outcome: "success"})
		}
		require.NoError(t, s.Close())
		require.NoError(t, s.Close(), "idempotent")
		assert.Equal(t, [][]any{{int64(2500)}}, b.query(t, cfg, `SELECT count(*) FROM llm_requests`))
		assert.Equal(t, [][]any{{int64(2500)}}, b.query(t, cfg, `SELECT CAST(sum(requests) AS BIGINT) FROM llm_usage_hourly`))
		assert.Equal(t, uint64(2500), s.Stats().Written)

		// A Record after Close goes to the spill file, which the next open
		// replays: nothing is lost.
		s.Record(Entry{RequestID: "late", Time: day0, Client: "bob"})
		s = open(t, cfg)
		got, err := s.Clients(t.Context())
		require.NoError(t, err)
		assert.Equal(t, int64(2501), got[0].Requests)
	})
}

// With FlushInterval 0 a Record returns once its row is committed, and
// concurrent Records share transactions.
func TestSQL_Synchronous(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		cfg := b.fresh(t)
		cfg.FlushInterval = 0
		s := open(t, cfg)
		s.Record(Entry{RequestID: "one", Time: day0, Client: "bob"})
		assert.Equal(t, [][]any{{int64(1)}}, b.query(t, cfg, `SELECT count(*) FROM llm_requests`))

		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := range 50 {
					s.Record(Entry{RequestID: fmt.Sprint(w, "-", i), Time: day0, Client: "bob"})
				}
			})
		}
		wg.Wait()
		assert.Equal(t, [][]any{{int64(201)}}, b.query(t, cfg, `SELECT count(*) FROM llm_requests`))
		assert.Equal(t, [][]any{{int64(201)}}, b.query(t, cfg, `SELECT CAST(sum(requests) AS BIGINT) FROM llm_usage_daily`))
	})
}

// A full queue spills instead of blocking; the writer replays the spill
// file, and nothing is lost or counted twice.
func TestSQL_QueueFullSpillsThenReplays(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		cfg := b.fresh(t)
		cfg.QueueSize = 10
		s := open(t, cfg)
		for i := range 50 {
			s.Record(Entry{RequestID: fmt.Sprint("q", i), Time: day0, Client: "bob", Outcome: "success"})
		}
		st := s.Stats()
		assert.Equal(t, uint64(10), st.Queued)
		assert.Equal(t, uint64(40), st.Spilled)
		require.Eventually(t, func() bool { return s.Stats().Replayed == 40 }, 5*time.Second, 10*time.Millisecond)
		got, err := s.Clients(t.Context())
		require.NoError(t, err)
		assert.Equal(t, int64(50), got[0].Requests)
		assert.False(t, s.spill.pending())
	})
}

func TestSQL_ConcurrentRecords(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		cfg := b.fresh(t)
		cfg.FlushInterval = 5 * time.Millisecond
		cfg.BatchSize = 100
		s := open(t, cfg)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range 500 {
					s.Record(Entry{RequestID: fmt.Sprint(w, "-", i), Time: day0.Add(time.Duration(i) * time.Minute),
						Client: fmt.Sprint("c", w%3), Billable: true, Usage: billing.Usage{CompletionTokens: 1}})
					if i%100 == 0 {
						_, err := s.Clients(context.Background())
						assert.NoError(t, err)
					}
				}
			})
		}
		wg.Wait()
		got, err := s.Clients(t.Context())
		require.NoError(t, err)
		var requests, tokens int64
		for _, c := range got {
			requests += c.Requests
			tokens += c.BillableCompletionTokens
		}
		assert.Equal(t, int64(4000), requests)
		assert.Equal(t, int64(4000), tokens)
	})
}

// flakyStore fails on demand: the outage path without a real outage.
type flakyStore struct {
	store
	down atomic.Bool
}

var errFlaky = errors.New("database unreachable")

func (f *flakyStore) write(ctx context.Context, batch []Entry, replayed bool) (int, error) {
	if f.down.Load() {
		return 0, errFlaky
	}
	return f.store.write(ctx, batch, replayed)
}

func (f *flakyStore) ping(ctx context.Context) error {
	if f.down.Load() {
		return errFlaky
	}
	return f.store.ping(ctx)
}

// While the database fails, batches spill; when it is back they are
// replayed, and the totals are exact.
func TestSQL_OutageSpillsAndReplays(t *testing.T) {
	cfg := sqliteBackend.fresh(t)
	cfg.FlushInterval = 5 * time.Millisecond
	s := open(t, cfg)
	flaky := &flakyStore{store: s.store}
	s.onWriter(func() { s.store = flaky })

	record := func(from, to int) {
		for i := from; i < to; i++ {
			s.Record(Entry{RequestID: fmt.Sprint("o", i), Time: day0, Client: "bob", Outcome: "success"})
		}
	}
	record(0, 100)
	require.NoError(t, s.Flush(t.Context()))
	flaky.down.Store(true)
	record(100, 300)
	require.NoError(t, s.Flush(t.Context()))
	st := s.Stats()
	assert.False(t, st.Up)
	assert.Equal(t, uint64(200), st.Spilled)
	flaky.down.Store(false)
	record(300, 400) // spilled too until the next health check
	require.Eventually(t, func() bool { st = s.Stats(); return st.Up && st.Replayed == st.Spilled && !s.spill.pending() },
		5*time.Second, 10*time.Millisecond, "%+v", &st)
	assert.GreaterOrEqual(t, st.Spilled, uint64(200))
	got, err := s.Clients(t.Context())
	require.NoError(t, err)
	assert.Equal(t, int64(400), got[0].Requests)
	assert.Equal(t, uint64(400), s.Stats().Written)
}

// A line cut by a crash is skipped, and appends after it stay readable.
func TestSpill_CutLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spill.jsonl")
	sp, err := openSpill(path)
	require.NoError(t, err)
	require.NoError(t, sp.append([]Entry{{RequestID: "a"}}, true))
	_, err = sp.f.Write([]byte(`{"RequestID":"b","Cli`))
	require.NoError(t, err)
	require.NoError(t, sp.close())

	sp, err = openSpill(path)
	require.NoError(t, err)
	defer sp.close()
	require.NoError(t, sp.append([]Entry{{RequestID: "c"}}, true))
	got, next, skipped, err := sp.read(0, 10, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, skipped)
	require.Len(t, got, 2)
	assert.Equal(t, "a", got[0].RequestID)
	assert.Equal(t, "c", got[1].RequestID)
	ok, err := sp.truncateAt(next)
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestOpenSQL_Errors(t *testing.T) {
	dir := t.TempDir()
	_, err := OpenSQL(t.Context(), SQLConfig{DSN: filepath.Join(dir, "x.db")})
	assert.ErrorContains(t, err, "SpillPath is required")
	_, err = OpenSQL(t.Context(), SQLConfig{Driver: "mysql", DSN: "x", SpillPath: filepath.Join(dir, "s")})
	assert.ErrorContains(t, err, `unknown driver "mysql"`)
}
