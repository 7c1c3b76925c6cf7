package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/testservices"
)

func init() { backends = append(backends, postgresBackend) }

var postgresBackend = backend{
	name: "postgres",
	fresh: func(t *testing.T) SQLConfig {
		dir := t.TempDir()
		return SQLConfig{Driver: "postgres", DSN: freshPostgres(t),
			SpillPath: filepath.Join(dir, "spill", "ledger.jsonl"), FlushInterval: time.Hour}
	},
	query: func(t *testing.T, cfg SQLConfig, q string, args ...any) [][]any {
		t.Helper()
		conn, err := pgx.Connect(t.Context(), cfg.DSN)
		require.NoError(t, err)
		defer conn.Close(context.Background())
		rows, err := conn.Query(t.Context(), q, args...)
		require.NoError(t, err)
		var out [][]any
		for rows.Next() {
			vals, err := rows.Values()
			require.NoError(t, err)
			out = append(out, normalize(vals))
		}
		require.NoError(t, rows.Err())
		return out
	},
	timeUS: "(extract(epoch from time) * 1000000)::bigint", ph: "$1", version: int64(len(postgresMigrations) - 1),
}

// freshPostgres creates a database of the test's own on the test server,
// dropped when the test ends, and returns its URL.
func freshPostgres(t testing.TB) string {
	t.Helper()
	admin := testservices.PostgresURL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "llmr_test_" + hex.EncodeToString(b[:])
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, sql)
		return err
	}
	require.NoError(t, exec(t.Context(), "CREATE DATABASE "+name))
	t.Cleanup(func() {
		if err := exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

// A row lands in its month's partition, created on demand; one whose
// month has none (created behind the writer's back) is moved out of the
// DEFAULT partition when its partition is made; retention drops whole
// partitions past the cutoff.
func TestPostgres_Partitions(t *testing.T) {
	cfg := postgresBackend.fresh(t)
	s := open(t, cfg)
	now := time.Now().UTC()
	old := now.AddDate(0, -6, 0)
	s.Record(Entry{RequestID: "old", Time: old, Client: "bob", Outcome: "success"})
	s.Record(Entry{RequestID: "new", Time: now, Client: "bob", Outcome: "success"})
	require.NoError(t, s.Flush(t.Context()))
	q := func(sql string) [][]any { return postgresBackend.query(t, cfg, sql) }
	assert.Equal(t, [][]any{{"new", partitionName(monthOf(now))}, {"old", partitionName(monthOf(old))}},
		q(`SELECT request_id, tableoid::regclass::text FROM llm_requests ORDER BY 1`))

	// A row in the DEFAULT partition moves to its partition when made.
	stray := now.AddDate(-1, 0, 0)
	q(fmt.Sprintf(`INSERT INTO llm_requests SELECT 'stray', '%s', 'bob', '', '', '', '', 1, 'success', false,
		0, 0, 0, 0, false, 0, 0, 0, 0, 0, 0`, stray.Format(time.RFC3339Nano)))
	assert.Equal(t, [][]any{{"llm_requests_default"}}, q(`SELECT tableoid::regclass::text FROM llm_requests WHERE request_id = 'stray'`))
	s.Record(Entry{RequestID: "same-month", Time: stray, Client: "bob"})
	require.NoError(t, s.Flush(t.Context()))
	assert.Equal(t, [][]any{{partitionName(monthOf(stray))}, {partitionName(monthOf(stray))}},
		q(`SELECT tableoid::regclass::text FROM llm_requests WHERE request_id IN ('stray', 'same-month')`))
	before, err := s.Clients(t.Context())
	require.NoError(t, err)
	require.NoError(t, s.Close())

	// With retention, the writer's first tick drops the partitions past the
	// cutoff whole, and keeps the rollups.
	cfg.Retention = 60 * 24 * time.Hour
	s = open(t, cfg)
	oldPartition := fmt.Sprintf(`SELECT to_regclass('%s')::text`, partitionName(monthOf(old)))
	require.Eventually(t, func() bool { return q(oldPartition)[0][0] == nil }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, [][]any{{"new"}}, q(`SELECT request_id FROM llm_requests`))
	after, err := s.Clients(t.Context())
	require.NoError(t, err)
	assert.Equal(t, before, after, "the rollups are kept")

	// A late row of a dropped month gets its partition back.
	s.Record(Entry{RequestID: "late", Time: old, Client: "bob"})
	require.NoError(t, s.Flush(t.Context()))
	assert.Equal(t, [][]any{{partitionName(monthOf(old))}}, q(`SELECT tableoid::regclass::text FROM llm_requests WHERE request_id = 'late'`))
}

// Two instances starting together migrate once.
func TestPostgres_ConcurrentMigrations(t *testing.T) {
	cfg := postgresBackend.fresh(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		c := cfg
		c.SpillPath = filepath.Join(t.TempDir(), "spill")
		wg.Go(func() {
			s, err := openSQL(t.Context(), c, testTuning)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	assert.Equal(t, []error{nil, nil, nil}, errs)
	assert.Equal(t, [][]any{{int64(1)}}, postgresBackend.query(t, cfg, `SELECT count(*) FROM llm_schema_migrations`))
}

// The database goes away mid-run: rows spill, and when it is back they are
// replayed, with exact totals and none lost.
func TestPostgres_Outage(t *testing.T) {
	cfg := postgresBackend.fresh(t)
	u, err := url.Parse(cfg.DSN)
	require.NoError(t, err)
	proxy := testservices.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	cfg.DSN = u.String()
	cfg.FlushInterval = 5 * time.Millisecond
	s := open(t, cfg)

	n := 0
	record := func(count int) {
		for range count {
			s.Record(Entry{RequestID: fmt.Sprint("o", n), Time: time.Now(), Client: "bob", Outcome: "success",
				Billable: true, Usage: billing.Usage{PromptTokens: 1, CompletionTokens: 1}, CostUSD: 0.000001})
			n++
		}
	}
	record(100)
	require.NoError(t, s.Flush(t.Context()))
	proxy.Cut()
	record(300)
	require.NoError(t, s.Flush(t.Context()))
	st := s.Stats()
	assert.False(t, st.Up)
	assert.Positive(t, st.Spilled)
	proxy.Restore()
	record(100)
	require.Eventually(t, func() bool { st = s.Stats(); return st.Up && st.Replayed == st.Spilled && !s.spill.pending() },
		10*time.Second, 10*time.Millisecond, "%+v", &st)
	got, err := s.Clients(t.Context())
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, int64(500), got[0].Requests)
	assert.Equal(t, int64(500), got[0].BillableCompletionTokens)
	assert.InDelta(t, 0.0005, got[0].BillableCostUSD, 1e-12)
	assert.Equal(t, [][]any{{int64(500)}}, postgresBackend.query(t, cfg, `SELECT count(*) FROM llm_requests`))

	// Close while the database is down spills what is queued: nothing is
	// lost, the next open replays it.
	cfg.FlushInterval = time.Hour
	s2 := open(t, withSpill(cfg, filepath.Join(t.TempDir(), "spill2")))
	proxy.Cut()
	for i := range 50 {
		s2.Record(Entry{RequestID: fmt.Sprint("late", i), Time: time.Now(), Client: "bob"})
	}
	require.NoError(t, s2.Close())
	assert.Equal(t, uint64(50), s2.Stats().Spilled)
	proxy.Restore()
	s3 := open(t, withSpill(cfg, s2.cfg.SpillPath))
	got, err = s3.Clients(t.Context())
	require.NoError(t, err)
	assert.Equal(t, int64(550), got[0].Requests)
	assert.Equal(t, uint64(50), s3.Stats().Replayed)
}

func withSpill(cfg SQLConfig, path string) SQLConfig {
	cfg.SpillPath = path
	return cfg
}

// A database down when the ledger opens is an outage, not a failure:
// OpenSQL returns a ledger that spills (one WARN); the first health check
// that succeeds migrates, then replays, and every row lands once.
func TestPostgres_UnreachableAtOpen(t *testing.T) {
	cfg := postgresBackend.fresh(t)
	u, err := url.Parse(cfg.DSN)
	require.NoError(t, err)
	proxy := testservices.NewProxy(t, u.Host)
	proxy.Cut()
	u.Host = proxy.Addr()
	cfg.DSN = u.String()
	cfg.FlushInterval = 5 * time.Millisecond
	core, logs := observer.New(zap.InfoLevel)
	cfg.Logger = zap.New(core)

	s := open(t, cfg)
	assert.False(t, s.Stats().Up)
	n := 0
	record := func(count int) {
		for range count {
			s.Record(Entry{RequestID: fmt.Sprint("u", n), Time: day0.Add(time.Duration(n) * time.Minute), Client: "bob",
				Model: "gpt", Vendor: "openai", Outcome: "success", Billable: true,
				Usage: billing.Usage{PromptTokens: 2, CompletionTokens: 1}, CostUSD: 0.000001})
			n++
		}
	}
	record(300)
	require.NoError(t, s.Flush(t.Context()))
	st := s.Stats()
	assert.Equal(t, uint64(300), st.Spilled)
	assert.Zero(t, st.Written)
	_, err = s.Clients(t.Context())
	assert.Error(t, err, "nothing to read yet")

	proxy.Restore()
	record(100) // spilled too until the next health check
	require.Eventually(t, func() bool { st = s.Stats(); return st.Up && st.Replayed == st.Spilled && !s.spill.pending() },
		10*time.Second, 10*time.Millisecond, "%+v", &st)
	record(100) // written
	got, err := s.Clients(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []ClientSpend{{Client: "bob", Requests: 500, BillableRequests: 500, BillablePromptTokens: 1000,
		BillableCompletionTokens: 500, BillableCostUSD: 0.0005}}, got)
	q := func(sql string) [][]any { return postgresBackend.query(t, cfg, sql) }
	assert.Equal(t, [][]any{{int64(500), int64(500)}}, q(`SELECT count(*), count(DISTINCT request_id) FROM llm_requests`))
	assert.Equal(t, [][]any{{int64(500)}}, q(`SELECT sum(requests)::bigint FROM llm_usage_hourly`))
	assert.Equal(t, [][]any{{int64(500)}}, q(`SELECT sum(requests)::bigint FROM llm_usage_daily`))
	assert.Equal(t, [][]any{{int64(1)}}, q(`SELECT count(*) FROM llm_schema_migrations`))
	assert.Equal(t, uint64(500), s.Stats().Written)

	warns := logs.FilterLevelExact(zap.WarnLevel).All()
	require.Len(t, warns, 1, "one WARN for the outage")
	assert.Contains(t, warns[0].Message, "unreachable at start")
	assert.Equal(t, 1, logs.FilterMessageSnippet("database is back").Len())
}

// What waiting cannot fix still fails OpenSQL: a DSN that does not parse,
// a database migrated by a newer build.
func TestPostgres_OpenErrors(t *testing.T) {
	spill := filepath.Join(t.TempDir(), "spill")
	_, err := openSQL(t.Context(), SQLConfig{Driver: "postgres", DSN: "postgres://bob@%zz/x", SpillPath: spill}, testTuning)
	assert.ErrorContains(t, err, "postgres DSN")

	cfg := postgresBackend.fresh(t)
	cfg.SpillPath = spill
	s := open(t, cfg)
	require.NoError(t, s.Close())
	postgresBackend.query(t, cfg, `INSERT INTO llm_schema_migrations (version) VALUES (99)`)
	_, err = openSQL(t.Context(), cfg, testTuning)
	assert.ErrorContains(t, err, "schema version 99 is newer than this build knows (1)")
}

// The DSN's password never reaches a log line or an error: not while the
// database is down, not when a bad DSN is refused.
func TestPostgres_PasswordNeverLogged(t *testing.T) {
	const secret = "pw-never-logged-7f3a"
	cfg := postgresBackend.fresh(t)
	u, err := url.Parse(cfg.DSN)
	require.NoError(t, err)
	proxy := testservices.NewProxy(t, u.Host)
	proxy.Cut()
	u.Host = proxy.Addr()
	u.User = url.UserPassword(u.User.Username(), secret)
	cfg.DSN = u.String()
	core, logs := observer.New(zap.DebugLevel)
	cfg.Logger = zap.New(core)

	s := open(t, cfg) // down at start: spills, and says so
	s.Record(Entry{RequestID: "p1", Time: day0, Client: "bob", Outcome: "success"})
	require.NoError(t, s.Flush(t.Context()))
	_, err = s.Clients(t.Context())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secret)
	require.NotZero(t, logs.Len(), "the outage was logged")
	for _, e := range logs.All() {
		assert.NotContains(t, e.Message, secret)
		for _, f := range e.Context {
			assert.NotContains(t, fmt.Sprint(f.String, f.Interface), secret, f.Key)
		}
	}

	_, err = openSQL(t.Context(), SQLConfig{Driver: "postgres", DSN: "postgres://bob:" + secret + "@%zz/x",
		SpillPath: filepath.Join(t.TempDir(), "spill")}, testTuning)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secret)
}
