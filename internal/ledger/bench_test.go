package ledger

import (
	"fmt"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// cpuTime is the process's CPU time so far (user + system, every thread):
// the ledger's whole cost, its writer and the database driver included,
// which ns/op (wall time of the recording goroutine) does not show.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchEntries hands out distinct entries: a few templates, each given a
// new id and a later time (as the router makes them), so that the
// benchmark's own data does not weigh on the GC it measures.
type benchEntries struct {
	templates []Entry
	prefix    string
	start     time.Time
}

// newBenchEntries returns entries from 60 templates: as many clients,
// models and vendors as given, in turn.
func newBenchEntries(clients, models, vendors int) *benchEntries {
	now := time.Now()
	g := &benchEntries{templates: make([]Entry, 60), prefix: fmt.Sprintf("req-%016x-", now.UnixNano()), start: now}
	for i := range g.templates {
		g.templates[i] = Entry{Client: fmt.Sprint("client-", i%clients), Endpoint: "chat/completions",
			Model: fmt.Sprint("model-", i%models), Vendor: fmt.Sprint("vendor-", i%vendors), Routing: "perf", Attempts: 1,
			Outcome: "success", Billable: true, Usage: billing.Usage{PromptTokens: 1200, CachedTokens: 512, CompletionTokens: 300},
			CostUSD: 0.0042, TTFT: 230 * time.Millisecond, Duration: 2 * time.Second}
	}
	return g
}

// entry returns the i-th entry.
func (g *benchEntries) entry(i int) Entry {
	e := g.templates[i%len(g.templates)]
	e.RequestID = g.prefix + strconv.Itoa(i)
	e.Time = g.start.Add(time.Duration(i) * time.Microsecond)
	return e
}

// benchRecord records b.N entries in bursts of a batch, each flushed, as
// the writer sees them under a load that fills batches, and reports the
// process's CPU per row.
func benchRecord(b *testing.B, cfg SQLConfig, g *benchEntries) {
	s, err := OpenSQL(b.Context(), cfg)
	require.NoError(b, err)
	defer s.Close()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime(b)
	for i := range b.N {
		s.Record(g.entry(i))
		if (i+1)%DefaultBatchSize == 0 {
			require.NoError(b, s.Flush(b.Context()))
		}
	}
	require.NoError(b, s.Flush(b.Context()))
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/row")
	require.Zero(b, s.Stats().Spilled)
}

// benchRecordSync records b.N entries with FlushInterval 0 from 16
// goroutines: each Record waits for its commit, shared with the Records
// made meanwhile (group commit).
func benchRecordSync(b *testing.B, cfg SQLConfig) {
	cfg.FlushInterval = 0
	s, err := OpenSQL(b.Context(), cfg)
	require.NoError(b, err)
	defer s.Close()
	g := newBenchEntries(20, 5, 3)
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8) // × GOMAXPROCS recorders
	b.ResetTimer()
	cpu := cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Record(g.entry(int(next.Add(1))))
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/row")
	require.Zero(b, s.Stats().Spilled)
}

func sqliteBenchConfig(b *testing.B) SQLConfig {
	dir := b.TempDir()
	return SQLConfig{DSN: filepath.Join(dir, "ledger.db"), SpillPath: filepath.Join(dir, "spill.jsonl"),
		FlushInterval: time.Second}
}

// BenchmarkSQLiteRecord has 60 rollup keys per batch (20 clients, 5 models,
// 3 vendors); the 3Keys variant the load benchmark's (one client and
// model, three vendors).
func BenchmarkSQLiteRecord(b *testing.B) {
	benchRecord(b, sqliteBenchConfig(b), newBenchEntries(20, 5, 3))
}
func BenchmarkSQLiteRecord3Keys(b *testing.B) {
	benchRecord(b, sqliteBenchConfig(b), newBenchEntries(1, 1, 3))
}
func BenchmarkSQLiteRecordSync(b *testing.B) { benchRecordSync(b, sqliteBenchConfig(b)) }

func postgresBenchConfig(b *testing.B) SQLConfig {
	return SQLConfig{Driver: "postgres", DSN: freshPostgres(b), SpillPath: filepath.Join(b.TempDir(), "spill.jsonl"),
		FlushInterval: time.Second}
}

// The PostgreSQL figures are this process's CPU only; the server's is apart.
func BenchmarkPostgresRecord(b *testing.B) {
	benchRecord(b, postgresBenchConfig(b), newBenchEntries(20, 5, 3))
}
func BenchmarkPostgresRecordSync(b *testing.B) { benchRecordSync(b, postgresBenchConfig(b)) }

// BenchmarkRecordQueue is Record alone, the cost on the request path: a
// lock and an append (the writer never runs: its interval is an hour and
// the batch is never full).
func BenchmarkRecordQueue(b *testing.B) {
	cfg := sqliteBenchConfig(b)
	cfg.FlushInterval, cfg.BatchSize, cfg.QueueSize = time.Hour, 1<<30, 1<<30
	s, err := OpenSQL(b.Context(), cfg)
	require.NoError(b, err)
	g := newBenchEntries(20, 5, 3)
	entries := make([]Entry, b.N)
	for i := range entries {
		entries[i] = g.entry(i)
	}
	s.pending = make([]Entry, 0, b.N) // as grown by earlier batches: the writer reuses the queue's array
	b.ReportAllocs()
	b.ResetTimer()
	for i := range entries {
		s.Record(entries[i])
	}
	b.StopTimer()
	require.NoError(b, s.Close())
}
