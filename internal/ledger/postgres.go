package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgLockKey is the advisory lock that serialises the schema changes of
// instances sharing a database: migrations, and creating or dropping
// partitions.
const pgLockKey = 0x6c6c6d726c6564 // "llmrled"

// postgresMigrations are the PostgreSQL schema's versions, in order; a
// version is applied once, recorded in llm_schema_migrations. Append, never
// edit. The package doc lists the tables and llm_requests' columns.
//
// Request rows are partitioned by month on time, so that retention drops a
// whole partition instead of deleting rows; the writer creates a batch's
// partitions (postgresStore.ensure), and the DEFAULT partition catches a
// row whose month has none. The primary key must hold the partition key,
// so it is (request_id, time): a request replays with its own time, which
// keeps it the idempotency key. The rollups are keyed by bucket start
// first, as Usage reads a range of buckets; Clients reads the whole daily
// table, one row per client, model, vendor and day.
var postgresMigrations = [][]string{
	1: {
		`CREATE TABLE llm_requests (
			request_id text NOT NULL,
			time timestamptz NOT NULL,
			client text NOT NULL,
			endpoint text NOT NULL,
			model text NOT NULL,
			vendor text NOT NULL,
			routing text NOT NULL,
			attempts integer NOT NULL,
			outcome text NOT NULL,
			billable boolean NOT NULL,
			prompt_tokens bigint NOT NULL,
			cached_tokens bigint NOT NULL,
			completion_tokens bigint NOT NULL,
			reasoning_tokens bigint NOT NULL,
			usage_estimated boolean NOT NULL,
			billable_cost_micro_usd bigint NOT NULL,
			absorbed_prompt_tokens bigint NOT NULL,
			absorbed_completion_tokens bigint NOT NULL,
			absorbed_cost_micro_usd bigint NOT NULL,
			ttft_us bigint NOT NULL,
			duration_us bigint NOT NULL,
			PRIMARY KEY (request_id, time)
		) PARTITION BY RANGE (time)`,
		`CREATE TABLE llm_requests_default PARTITION OF llm_requests DEFAULT`,
		`CREATE INDEX llm_requests_client_time ON llm_requests (client, time)`,
		postgresRollupTable("llm_usage_daily"),
		postgresRollupTable("llm_usage_hourly"),
	},
}

func postgresRollupTable(name string) string {
	return `CREATE TABLE ` + name + ` (
		start timestamptz NOT NULL,
		client text NOT NULL,
		model text NOT NULL,
		vendor text NOT NULL,
		` + strings.Join(rollupCols, " bigint NOT NULL,\n\t\t") + ` bigint NOT NULL,
		PRIMARY KEY (start, client, model, vendor)
	)`
}

// postgresStore is the PostgreSQL database, through a small pgx pool.
type postgresStore struct {
	pool     *pgxpool.Pool
	migrated atomic.Bool // false while a database down at open has not been migrated yet
	insert   string
	parts    map[int]bool // months (year*12 + month-1) whose partition exists: the writer's
	cols     pgColumns    // scratch
	monthBuf []int
}

// pgColumns is a batch as arrays, one per column: the insert unnests them,
// one statement and one parameter set whatever the batch's size.
type pgColumns struct {
	ids, clients, endpoints, models, vendors, routings, outcomes []string
	times                                                        []time.Time
	billable, estimated                                          []bool
	ints                                                         [11][]int64
}

// openPostgres makes the pool and migrates, for at most timeout. A
// database it cannot reach (or migrate) in that time is no error: it
// returns the store, not migrated yet, and why as down; the writer's
// health check (ping) migrates it later. err is what waiting cannot fix.
func openPostgres(ctx context.Context, dsn string, timeout time.Duration) (s *postgresStore, down, err error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("ledger: postgres DSN: %w", err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg) // connects lazily
	if err != nil {
		return nil, nil, fmt.Errorf("ledger: postgres: %w", err)
	}
	s = &postgresStore{pool: pool, insert: postgresInsertSQL(), parts: map[int]bool{}}
	mctx, cancel := context.WithTimeout(ctx, timeout)
	err = s.migrate(mctx)
	cancel()
	if err != nil {
		if permanent(err) {
			pool.Close()
			return nil, nil, fmt.Errorf("ledger: postgres: %w", err)
		}
		return s, err, nil
	}
	return s, nil, nil
}

// permanent reports whether err, from connecting and migrating, is one
// that waiting will not fix: a schema newer than this build, or the server
// refusing the credentials (SQLSTATE class 28), the database (3D) or the
// schema change (42: a permission or syntax error). Anything else (refused
// or timed-out connections, a server starting up or out of connections)
// is an outage.
func permanent(err error) bool {
	var newer *newerSchemaError
	if errors.As(err, &newer) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && len(pgErr.Code) >= 2 {
		switch pgErr.Code[:2] {
		case "28", "3D", "42":
			return true
		}
	}
	return false
}

// migrate applies the migrations the database lacks, in one transaction
// that holds the advisory lock: instances starting together take turns.
func (s *postgresStore) migrate(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pgLockKey)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS llm_schema_migrations (
			version integer NOT NULL PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM llm_schema_migrations`).Scan(&have); err != nil {
			return err
		}
		if err := errorIfNewer(have, len(postgresMigrations)-1); err != nil {
			return err
		}
		for v := have + 1; v < len(postgresMigrations); v++ {
			for _, stmt := range postgresMigrations[v] {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("migration %d: %w", v, err)
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO llm_schema_migrations (version) VALUES ($1)`, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.migrated.Store(true)
	}
	return err
}

// errNotMigrated guards write: the writer only writes once a health check
// has migrated a database that was down at open.
var errNotMigrated = errors.New("ledger: postgres: the schema is not migrated yet")

// postgresInsertSQL is the whole write of a batch in one statement, hence
// one transaction: insert the rows that are not there, then add exactly
// those (RETURNING) to both rollups, summed per key, in key order so that
// instances writing at once lock rollup rows in one order. The final
// SELECT counts the rows inserted.
func postgresInsertSQL() string {
	cols := requestColumns("time")
	types := []string{"text", "timestamptz", "text", "text", "text", "text", "text", "bigint", "text", "bool",
		"bigint", "bigint", "bigint", "bigint", "bool", "bigint", "bigint", "bigint", "bigint", "bigint", "bigint"}
	params := make([]string, len(cols))
	for i := range cols {
		params[i] = fmt.Sprintf("$%d::%s[]", i+1, types[i])
	}
	rollup := func(table, unit string) string {
		set := make([]string, len(rollupCols))
		for i, c := range rollupCols {
			set[i] = c + " = " + table + "." + c + " + excluded." + c
		}
		billable := func(c string) string { return "coalesce(sum(" + c + ") FILTER (WHERE billable), 0)" }
		return `INSERT INTO ` + table + ` (start, client, model, vendor, ` + strings.Join(rollupCols, ", ") + `)
			SELECT date_trunc('` + unit + `', time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', client, model, vendor,
				count(*), count(*) FILTER (WHERE outcome = 'success'), count(*) FILTER (WHERE outcome <> 'success'),
				count(*) FILTER (WHERE billable), ` + billable("prompt_tokens") + `, ` + billable("cached_tokens") + `,
				` + billable("completion_tokens") + `, sum(absorbed_prompt_tokens), sum(absorbed_completion_tokens),
				` + billable("billable_cost_micro_usd") + `, sum(absorbed_cost_micro_usd)
			FROM ins GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
			ON CONFLICT (start, client, model, vendor) DO UPDATE SET ` + strings.Join(set, ", ")
	}
	return `WITH ins AS (
		INSERT INTO llm_requests (` + strings.Join(cols, ", ") + `)
		SELECT * FROM unnest(` + strings.Join(params, ", ") + `)
		ON CONFLICT DO NOTHING
		RETURNING time, client, model, vendor, outcome, billable, prompt_tokens, cached_tokens, completion_tokens,
			billable_cost_micro_usd, absorbed_prompt_tokens, absorbed_completion_tokens, absorbed_cost_micro_usd
	), daily AS (` + rollup("llm_usage_daily", "day") + `
	), hourly AS (` + rollup("llm_usage_hourly", "hour") + `
	) SELECT count(*) FROM ins`
}

func (s *postgresStore) write(ctx context.Context, batch []Entry, replayed bool) (int, error) {
	if !s.migrated.Load() {
		return 0, errNotMigrated
	}
	if err := s.ensure(ctx, batch); err != nil {
		return 0, err
	}
	c := &s.cols
	c.reset()
	for i := range batch {
		c.add(&batch[i])
	}
	args := []any{c.ids, c.times, c.clients, c.endpoints, c.models, c.vendors, c.routings, c.ints[0], c.outcomes,
		c.billable}
	for _, a := range c.ints[1:5] {
		args = append(args, a)
	}
	args = append(args, c.estimated)
	for _, a := range c.ints[5:] {
		args = append(args, a)
	}
	var n int
	err := s.pool.QueryRow(ctx, s.insert, args...).Scan(&n)
	return n, err
}

func (c *pgColumns) reset() {
	c.ids, c.clients, c.endpoints, c.models = c.ids[:0], c.clients[:0], c.endpoints[:0], c.models[:0]
	c.vendors, c.routings, c.outcomes, c.times = c.vendors[:0], c.routings[:0], c.outcomes[:0], c.times[:0]
	c.billable, c.estimated = c.billable[:0], c.estimated[:0]
	for i := range c.ints {
		c.ints[i] = c.ints[i][:0]
	}
}

// add appends e's values; ints holds attempts, the four usage counts,
// then the cost and absorbed figures and the durations, in column order.
func (c *pgColumns) add(e *Entry) {
	c.ids = append(c.ids, e.RequestID)
	c.times = append(c.times, e.Time)
	c.clients = append(c.clients, e.Client)
	c.endpoints = append(c.endpoints, e.Endpoint)
	c.models = append(c.models, e.Model)
	c.vendors = append(c.vendors, e.Vendor)
	c.routings = append(c.routings, e.Routing)
	c.outcomes = append(c.outcomes, e.Outcome)
	c.billable = append(c.billable, e.Billable)
	c.estimated = append(c.estimated, e.Usage.Estimated)
	for i, v := range [11]int64{int64(e.Attempts), int64(e.Usage.PromptTokens), int64(e.Usage.CachedTokens),
		int64(e.Usage.CompletionTokens), int64(e.Usage.ReasoningTokens), billing.MicroUSD(e.CostUSD),
		int64(e.Absorbed.PromptTokens), int64(e.Absorbed.CompletionTokens), billing.MicroUSD(e.AbsorbedCostUSD),
		e.TTFT.Microseconds(), e.Duration.Microseconds()} {
		c.ints[i] = append(c.ints[i], v)
	}
}

// monthOf numbers t's month (UTC).
func monthOf(t time.Time) int {
	t = t.UTC()
	return t.Year()*12 + int(t.Month()) - 1
}

// monthStart is the first instant of month m.
func monthStart(m int) time.Time { return time.Date(m/12, time.Month(m%12+1), 1, 0, 0, 0, 0, time.UTC) }

// partitionName names month m's partition.
func partitionName(m int) string { return fmt.Sprintf("llm_requests_p%04d_%02d", m/12, m%12+1) }

// ensure makes sure the partitions of batch's months exist.
func (s *postgresStore) ensure(ctx context.Context, batch []Entry) error {
	months := s.monthBuf[:0]
	last := -1
	for i := range batch {
		if m := monthOf(batch[i].Time); m != last && !s.parts[m] {
			last = m
			months = append(months, m)
		}
	}
	s.monthBuf = months
	for _, m := range months {
		if s.parts[m] {
			continue
		}
		if err := s.createPartition(ctx, m); err != nil {
			return err
		}
		s.parts[m] = true
	}
	return nil
}

// createPartition creates month m's partition unless another instance did:
// a table attached as the partition, after moving into it the rows of its
// month that the DEFAULT partition holds (attaching over them would fail).
func (s *postgresStore) createPartition(ctx context.Context, m int) error {
	name := partitionName(m)
	from, to := monthStart(m), monthStart(m+1)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pgLockKey)); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil || exists {
			return err
		}
		bound := func(t time.Time) string { return "'" + t.Format("2006-01-02 15:04:05Z07:00") + "'" }
		for _, stmt := range []string{
			`CREATE TABLE ` + name + ` (LIKE llm_requests INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`,
			`WITH moved AS (DELETE FROM llm_requests_default WHERE time >= ` + bound(from) + ` AND time < ` + bound(to) +
				` RETURNING *) INSERT INTO ` + name + ` SELECT * FROM moved`,
			`ALTER TABLE llm_requests ATTACH PARTITION ` + name + ` FOR VALUES FROM (` + bound(from) + `) TO (` + bound(to) + `)`,
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("partition %s: %w", name, err)
			}
		}
		return nil
	})
}

// ping migrates a database that was down at open: the writer replays the
// spill file once ping succeeds, which needs the schema.
func (s *postgresStore) ping(ctx context.Context) error {
	if !s.migrated.Load() {
		return s.migrate(ctx)
	}
	return s.pool.Ping(ctx)
}

// prune drops the partitions whose month ended before cutoff, and deletes
// the DEFAULT partition's rows older than it.
func (s *postgresStore) prune(ctx context.Context, cutoff time.Time) (bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'llm_requests'::regclass`)
	if err != nil {
		return false, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return false, err
	}
	for _, name := range names {
		var y, mo int
		if n, _ := fmt.Sscanf(name, "llm_requests_p%04d_%02d", &y, &mo); n != 2 {
			continue
		}
		m := y*12 + mo - 1
		if monthStart(m + 1).After(cutoff) {
			continue
		}
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pgLockKey)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+pgx.Identifier{name}.Sanitize())
			return err
		})
		if err != nil {
			return false, err
		}
		delete(s.parts, m)
	}
	_, err = s.pool.Exec(ctx, `DELETE FROM llm_requests_default WHERE time < $1`, cutoff)
	return false, err
}

func (s *postgresStore) clients(ctx context.Context) ([]ClientSpend, error) {
	rows, err := s.pool.Query(ctx, postgresDialect.clientsSQL())
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ClientSpend, error) { return scanClient(r) })
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []ClientSpend{}
	}
	sortClients(out)
	return out, nil
}

func (s *postgresStore) usage(ctx context.Context, q UsageQuery, gran string, groups [3]bool) ([]UsageRow, error) {
	text, args := postgresDialect.usageSQL(q, gran, groups)
	rows, err := s.pool.Query(ctx, text, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (UsageRow, error) { return scanUsage(r, groups) })
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []UsageRow{}
	}
	sortUsage(out)
	return out, nil
}

func (s *postgresStore) close() error {
	s.pool.Close()
	return nil
}
