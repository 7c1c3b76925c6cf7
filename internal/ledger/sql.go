package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Defaults of SQLConfig.
const (
	DefaultBatchSize = 1000
	DefaultQueueSize = 65536
)

// SQLConfig configures a SQL ledger.
type SQLConfig struct {
	// Driver is "sqlite" (the default when empty: one file, no server) or
	// "postgres" (shared by several instances).
	Driver string
	// DSN is, for sqlite, the database file's path (its directory is
	// created, 0700); for postgres, a pgx connection string or URL.
	DSN string
	// SpillPath is the append-only file (JSON lines) where entries go when
	// the database cannot take them; required. One per ledger.
	SpillPath string
	// FlushInterval is how often the writer commits what was recorded. A
	// kill -9 loses at most what was queued in the last interval. Zero is
	// synchronous: Record returns once its row is committed (or spilled),
	// and Records made meanwhile share the transaction (group commit).
	FlushInterval time.Duration
	// BatchSize is the most rows per transaction; DefaultBatchSize if 0.
	// The writer also commits as soon as this many rows are queued.
	BatchSize int
	// QueueSize bounds the entries queued for the writer; DefaultQueueSize
	// if 0. Beyond it Record appends to the spill file instead: it never
	// blocks and never drops an entry.
	QueueSize int
	// Retention is how long request rows are kept; 0 keeps them forever.
	// SQLite deletes older rows in chunks, hourly; PostgreSQL drops whole
	// monthly partitions once their month is past the cutoff. The rollups
	// (what Usage and Clients read) are always kept.
	Retention time.Duration
	// Logger gets a WARN once per outage ("ledger database unreachable,
	// spilling to ...") and an INFO when the database is back and the
	// spill file replayed; nil logs nothing.
	Logger *zap.Logger
}

// SQLStats are a SQL ledger's counters since it was opened, for metrics.
type SQLStats struct {
	Queued   uint64 // entries Record queued for the writer
	Written  uint64 // rows the writer inserted (queued or replayed; a row already present is not counted)
	Spilled  uint64 // entries appended to the spill file (database down or slow, or queue full)
	Replayed uint64 // entries read back from the spill file and committed
	Lost     uint64 // entries neither the database nor the spill file took (the disk failed too): should stay 0
	Up       bool   // whether the writer takes the database to be up
}

// tuning is what tests shorten; OpenSQL uses defaultTuning.
type tuning struct {
	openTimeout    time.Duration // PostgreSQL's first connection and migration, before OpenSQL starts without it
	batchTimeout   time.Duration // one batch's transaction, before it is spilled
	healthEvery    time.Duration // how often a down database is pinged
	maintainEvery  time.Duration // the writer's housekeeping tick
	retentionEvery time.Duration // how often old rows are deleted
}

var defaultTuning = tuning{openTimeout: 5 * time.Second, batchTimeout: 5 * time.Second, healthEvery: 3 * time.Second,
	maintainEvery: time.Second, retentionEvery: time.Hour}

// store is a dialect's database: the writer calls write, ping and prune
// from its one goroutine; clients and usage are called from any.
type store interface {
	// write inserts the batch's rows that are not there yet (by request
	// id) and adds exactly those to the daily and hourly rollups, in one
	// transaction; it returns how many it inserted. replayed says the
	// batch was read back from the spill file; one from the queue holds no
	// committed request (the router makes every request's id), which a
	// store may rely on to skip looking them up.
	write(ctx context.Context, batch []Entry, replayed bool) (int, error)
	// ping reports whether the database can take rows: a PostgreSQL store
	// that could not migrate at open migrates first.
	ping(ctx context.Context) error
	// prune deletes request rows older than cutoff, a bounded amount per
	// call; more reports that some are left.
	prune(ctx context.Context, cutoff time.Time) (more bool, err error)
	clients(ctx context.Context) ([]ClientSpend, error)
	usage(ctx context.Context, q UsageQuery, gran string, groups [3]bool) ([]UsageRow, error)
	close() error
}

// SQL is a ledger kept in SQLite or PostgreSQL: one row per request, and
// rollups per (client, model, vendor) by day and by hour, written in the
// same transaction. Record only queues; one writer goroutine commits the
// queue in batches and spills to a file what the database cannot take, so
// that no request waits on the database and no entry is lost.
type SQL struct {
	cfg   SQLConfig
	tune  tuning
	store store
	spill *spill
	log   *zap.Logger

	mu       sync.Mutex
	pending  []Entry       // queued for the writer
	done     chan struct{} // closed once pending (this generation) is committed or spilled
	inflight chan struct{} // the generation the writer is writing; nil when idle
	closed   bool

	wake      chan struct{} // Record/Flush to the writer: commit now (capacity 1)
	quit      chan struct{}
	exited    chan struct{}
	calls     chan func() // run on the writer goroutine (tests: retention now)
	closeOnce sync.Once
	closeErr  error

	queued, written, spilled, replayed, lost atomic.Uint64
	up                                       atomic.Bool

	// The writer goroutine's own.
	spare     []Entry
	lastCheck time.Time // last health check while down
	lastPrune time.Time
	replayBuf []Entry
}

// OpenSQL opens the database, runs the migrations it lacks, replays the
// spill file left by a previous run, and starts the writer.
//
// SQLite fails if the file cannot be opened or migrated: that is a
// configuration problem. PostgreSQL is a server, which may well be down
// when Caddy starts: if it cannot be reached (or migrated) within a few
// seconds, or ctx, OpenSQL still returns a working ledger, which spills
// to SpillPath as during an outage (one WARN), and migrates then replays
// once a health check succeeds. What waiting cannot fix still fails it: a
// DSN that does not parse, a database migrated by a newer build, and the
// server refusing the credentials, the database name or the schema change.
func OpenSQL(ctx context.Context, cfg SQLConfig) (*SQL, error) {
	return openSQL(ctx, cfg, defaultTuning)
}

func openSQL(ctx context.Context, cfg SQLConfig, tune tuning) (*SQL, error) {
	if cfg.SpillPath == "" {
		return nil, errors.New("ledger: SQLConfig.SpillPath is required: it keeps the rows the database cannot take")
	}
	if cfg.DSN == "" {
		return nil, errors.New("ledger: SQLConfig.DSN is required")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.FlushInterval < 0 {
		return nil, fmt.Errorf("ledger: negative flush interval %s", cfg.FlushInterval)
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	var st store
	var down, err error // down: the database could not be reached at open
	switch cfg.Driver {
	case "", "sqlite":
		cfg.Driver = "sqlite"
		st, err = openSQLite(ctx, cfg.DSN, log)
	case "postgres":
		var pg *postgresStore
		pg, down, err = openPostgres(ctx, cfg.DSN, tune.openTimeout)
		if err == nil { // not st = pg: a nil *postgresStore would be a non-nil store
			st = pg
		}
	default:
		return nil, fmt.Errorf("ledger: unknown driver %q: use sqlite or postgres", cfg.Driver)
	}
	if err != nil {
		return nil, err
	}
	sp, err := openSpill(cfg.SpillPath)
	if err != nil {
		st.close()
		return nil, fmt.Errorf("ledger: spill file: %w", err)
	}
	s := &SQL{cfg: cfg, tune: tune, store: st, spill: sp, log: log,
		done: make(chan struct{}), wake: make(chan struct{}, 1), quit: make(chan struct{}),
		exited: make(chan struct{}), calls: make(chan func())}
	s.up.Store(down == nil)
	if down != nil {
		s.lastCheck = time.Now()
		log.Warn("ledger database unreachable at start, spilling to "+cfg.SpillPath+" until it answers",
			zap.String("driver", cfg.Driver), zap.Error(down))
	} else if sp.pending() {
		if n, err := s.replay(); err != nil {
			s.markDown(err)
		} else {
			log.Info("ledger replayed the spill file of a previous run", zap.String("spill", cfg.SpillPath), zap.Int("rows", n))
		}
	}
	s.lastPrune = time.Now().Add(-tune.retentionEvery) // prune on the first tick
	go s.run()
	return s, nil
}

// Record queues e for the writer: a lock and an append, no I/O. When the
// queue is full, or the ledger closed, it appends e to the spill file
// instead. An empty RequestID is given a random one, so that the row is
// still written once. With FlushInterval 0, Record waits for the commit.
func (s *SQL) Record(e Entry) {
	if e.RequestID == "" {
		e.RequestID = newRequestID()
	}
	s.mu.Lock()
	if s.closed || len(s.pending) >= s.cfg.QueueSize {
		s.mu.Unlock()
		s.spillEntries([]Entry{e}, false)
		return
	}
	s.pending = append(s.pending, e)
	n := len(s.pending)
	done := s.done
	s.mu.Unlock()
	s.queued.Add(1)
	if s.cfg.FlushInterval == 0 {
		s.poke()
		<-done
	} else if n%s.cfg.BatchSize == 0 {
		s.poke()
	}
}

// RecordWaits reports whether Record waits for the database: with
// FlushInterval 0 it waits for its entry's commit.
func (s *SQL) RecordWaits() bool { return s.cfg.FlushInterval == 0 }

// poke asks the writer to commit now.
func (s *SQL) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Flush waits until everything recorded before the call is committed (or
// spilled), or ctx ends.
func (s *SQL) Flush(ctx context.Context) error {
	s.mu.Lock()
	wait := s.inflight
	if len(s.pending) > 0 {
		wait = s.done // generations complete in order: this one after the in-flight one
	}
	s.mu.Unlock()
	if wait == nil {
		return nil
	}
	s.poke()
	select {
	case <-wait:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Clients flushes, then sums the daily rollups per client.
func (s *SQL) Clients(ctx context.Context) ([]ClientSpend, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	return s.store.clients(ctx)
}

// Usage flushes, then reads the rollups of q's granularity.
func (s *SQL) Usage(ctx context.Context, q UsageQuery) ([]UsageRow, error) {
	gran, groups, err := q.normalize()
	if err != nil {
		return nil, err
	}
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	return s.store.usage(ctx, q, gran, groups)
}

// Stats returns the ledger's counters.
func (s *SQL) Stats() SQLStats {
	return SQLStats{Queued: s.queued.Load(), Written: s.written.Load(), Spilled: s.spilled.Load(),
		Replayed: s.replayed.Load(), Lost: s.lost.Load(), Up: s.up.Load()}
}

// Close stops the writer once it has written everything queued, to the
// database or, if that is down, to the spill file, and releases both.
// Entries recorded afterwards go to the spill file, which the next
// OpenSQL replays. Close is idempotent and returns the first call's error.
func (s *SQL) Close() error {
	s.closeOnce.Do(func() {
		close(s.quit)
		<-s.exited
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.drain() // anything recorded between the writer's last drain and closed
		err := s.spill.close()
		if cerr := s.store.close(); err == nil {
			err = cerr
		}
		s.closeErr = err
	})
	return s.closeErr
}

// run is the writer goroutine.
func (s *SQL) run() {
	defer close(s.exited)
	var tick <-chan time.Time
	if s.cfg.FlushInterval > 0 {
		t := time.NewTicker(s.cfg.FlushInterval)
		defer t.Stop()
		tick = t.C
	}
	maintain := time.NewTicker(s.tune.maintainEvery)
	defer maintain.Stop()
	for {
		select {
		case <-s.wake:
		case <-tick:
		case <-maintain.C:
			s.maintain(time.Now())
		case f := <-s.calls:
			f()
		case <-s.quit:
			s.drain()
			return
		}
		s.drain()
	}
}

// drain writes (or spills) everything queued, BatchSize rows per
// transaction, and wakes those waiting for it.
func (s *SQL) drain() {
	s.mu.Lock()
	if len(s.pending) == 0 {
		s.mu.Unlock()
		return
	}
	batch, done := s.pending, s.done
	s.pending, s.done, s.inflight = s.spare[:0], make(chan struct{}), done
	s.mu.Unlock()

	for off := 0; off < len(batch); off += s.cfg.BatchSize {
		s.writeOrSpill(batch[off:min(off+s.cfg.BatchSize, len(batch))])
	}
	clear(batch) // let go of the strings
	s.spare = batch[:0]

	s.mu.Lock()
	s.inflight = nil
	s.mu.Unlock()
	close(done)
}

// writeOrSpill commits batch, or spills it if the database is down or
// fails (or times out) on it.
func (s *SQL) writeOrSpill(batch []Entry) {
	if s.up.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), s.tune.batchTimeout)
		n, err := s.store.write(ctx, batch, false)
		cancel()
		if err == nil {
			s.written.Add(uint64(n))
			return
		}
		s.markDown(err)
	}
	s.spillEntries(batch, true)
}

// spillEntries appends entries to the spill file and counts them; durable
// fsyncs at once.
func (s *SQL) spillEntries(entries []Entry, durable bool) {
	if err := s.spill.append(entries, durable); err != nil {
		s.lost.Add(uint64(len(entries)))
		s.log.Error("ledger could not write to its spill file: rows lost",
			zap.String("spill", s.cfg.SpillPath), zap.Int("rows", len(entries)), zap.Error(err))
		return
	}
	s.spilled.Add(uint64(len(entries)))
}

// markDown notes that the database failed: batches go to the spill file
// until a health check succeeds. It logs once per outage.
func (s *SQL) markDown(err error) {
	s.lastCheck = time.Now()
	if s.up.Swap(false) {
		s.log.Warn("ledger database unreachable, spilling to "+s.cfg.SpillPath,
			zap.String("driver", s.cfg.Driver), zap.Error(err))
	}
}

// maintain is the writer's housekeeping: sync the spill file, check a down
// database, replay the spill file, apply retention.
func (s *SQL) maintain(now time.Time) {
	if err := s.spill.sync(); err != nil {
		s.log.Error("ledger could not sync its spill file", zap.String("spill", s.cfg.SpillPath), zap.Error(err))
	}
	if !s.up.Load() {
		if now.Sub(s.lastCheck) < s.tune.healthEvery {
			return
		}
		s.lastCheck = now
		ctx, cancel := context.WithTimeout(context.Background(), s.tune.batchTimeout)
		err := s.store.ping(ctx)
		cancel()
		if err != nil {
			return
		}
		s.up.Store(true)
		n, err := s.replay()
		if err != nil {
			s.markDown(err)
			return
		}
		s.log.Info("ledger database is back; spill file replayed",
			zap.String("spill", s.cfg.SpillPath), zap.Int("rows", n))
	} else if s.spill.pending() { // spilled while the queue was full
		if _, err := s.replay(); err != nil {
			s.markDown(err)
			return
		}
	}
	if s.cfg.Retention > 0 && now.Sub(s.lastPrune) >= s.tune.retentionEvery {
		s.lastPrune = now
		s.prune(now)
	}
}

// replay commits the spill file in batches and truncates it. The rows are
// keyed by request id, so a row committed before (the batch whose commit
// timed out, a replay cut short) is not written or counted again.
func (s *SQL) replay() (int, error) {
	var offset int64
	total := 0
	for {
		batch, next, skipped, err := s.spill.read(offset, s.cfg.BatchSize, s.replayBuf[:0])
		s.replayBuf = batch
		if err != nil {
			return total, err
		}
		if skipped > 0 {
			s.log.Warn("ledger skipped unreadable lines of its spill file (cut by a crash)",
				zap.String("spill", s.cfg.SpillPath), zap.Int("lines", skipped))
		}
		if next == offset { // at the end
			truncated, err := s.spill.truncateAt(offset)
			if err != nil || truncated {
				return total, err
			}
			continue // appended meanwhile: read on
		}
		if len(batch) > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), s.tune.batchTimeout)
			n, err := s.store.write(ctx, batch, true)
			cancel()
			if err != nil {
				return total, err
			}
			s.written.Add(uint64(n))
			s.replayed.Add(uint64(len(batch)))
			total += len(batch)
			clear(batch)
		}
		offset = next
	}
}

// prune deletes request rows older than the retention, a bounded amount
// per tick so that the writer keeps up with the queue.
func (s *SQL) prune(now time.Time) {
	cutoff := now.Add(-s.cfg.Retention)
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), s.tune.batchTimeout)
		more, err := s.store.prune(ctx, cutoff)
		cancel()
		if err != nil {
			s.log.Warn("ledger retention failed; will retry", zap.Error(err))
			return
		}
		if !more {
			return
		}
	}
	s.lastPrune = time.Time{} // more left: go on at the next tick
}

// onWriter runs f on the writer goroutine and waits for it (tests).
func (s *SQL) onWriter(f func()) {
	done := make(chan struct{})
	s.calls <- func() { f(); close(done) }
	<-done
}

// newRequestID returns a random id for an entry recorded without one.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "gen-" + hex.EncodeToString(b[:])
}

// Interface guards
var _ Ledger = (*SQL)(nil)
