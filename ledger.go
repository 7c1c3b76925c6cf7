package llmrouter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-llm/llmrouter/internal/ledger"
)

// Ledger backends.
const (
	LedgerSQLite   = "sqlite"
	LedgerPostgres = "postgres"
	LedgerMemory   = "memory"
	LedgerOff      = "off"
)

// DefaultLedgerFlushInterval is how often queued ledger rows are written by
// default: what a `kill -9` can lose at most.
const DefaultLedgerFlushInterval = time.Second

// LedgerConfig says where the usage ledger keeps what every request cost.
//
// Every settled request is one row (request id, time, client, endpoint,
// model, vendor, routing, attempts, outcome, billable, tokens, costs in
// micro-USD, TTFT, duration), and daily and hourly rollups per client,
// model and vendor are updated in the same transaction. The admin API
// answers `GET /llm_router/usage` from the rollups, and the per-client
// totals of `/llm_router/stats` come from them, so they survive restarts.
//
// Writes never hold a request up: rows are queued and written in batches by
// one writer. While the database is unreachable, rows go to a spill file
// under Caddy's data directory and are written, once each, when it is back.
// A reload or a graceful stop writes every queued row first.
type LedgerConfig struct {
	// Where rows are kept: `sqlite` (default: an embedded database file, no
	// setup needed), `postgres` (a PostgreSQL server, for fleets of
	// instances that share one ledger), `memory` (per-client totals in the
	// process only, lost on restart) or `off` (nothing is recorded).
	Backend string `json:"backend,omitempty"`

	// sqlite: the database file. Default: `llm_router/ledger.db` under
	// Caddy's data directory.
	Path string `json:"path,omitempty"`

	// postgres: the connection string, a URL such as
	// `postgres://router@db.internal:5432/llm?sslmode=verify-full` or
	// `key=value` pairs. Placeholders are resolved at load time: keep the
	// password in `{env.…}`. It is never logged.
	DSN string `json:"dsn,omitempty"`

	// How often queued rows are written: a `kill -9` loses at most the rows
	// of this last interval. 0 writes synchronously: a request's handler
	// returns only once its row is committed (concurrent requests share a
	// transaction). Default: 1s.
	FlushInterval *caddy.Duration `json:"flush_interval,omitempty"`

	// Request rows older than this are deleted (PostgreSQL drops whole
	// monthly partitions); the daily and hourly rollups are kept. Default:
	// rows are kept.
	Retention caddy.Duration `json:"retention,omitempty"`
}

// ledgers holds the ledgers of the loaded configs, by backend and place. A
// ledger outlives a config reload, because the new config's handlers load it
// (Provision) before the old ones let it go (Cleanup), and it is closed,
// its queued rows written, once no config uses it any more, as Caddy's
// reverse_proxy does with its hosts.
var ledgers = caddy.NewUsagePool()

// pooledLedger is a ledger as the pool keeps it.
type pooledLedger struct{ ledger.Ledger }

// Destruct writes what the ledger has queued and closes it.
func (l pooledLedger) Destruct() error { return l.Close() }

// ledgerPlan is a ledger as the configuration asks for it, checked but not
// opened: its key in the pool, and how to open it.
type ledgerPlan struct {
	key  string // "" for no ledger
	open func(caddy.Context) (ledger.Ledger, error)
}

// planLedger checks the ledger settings and resolves their placeholders and
// defaults. It opens nothing, so that a bad config is refused before any
// database is touched.
func (h *LLMRouter) planLedger() (ledgerPlan, error) {
	cfg := LedgerConfig{}
	if h.Ledger != nil {
		cfg = *h.Ledger
	}
	repl := caddy.NewReplacer()
	cfg.Path = repl.ReplaceKnown(cfg.Path, "")
	cfg.DSN = repl.ReplaceKnown(cfg.DSN, "")
	if cfg.Backend == "" {
		cfg.Backend = LedgerSQLite
	}
	if cfg.Retention < 0 {
		return ledgerPlan{}, fmt.Errorf("retention: must be positive, got %s", time.Duration(cfg.Retention))
	}
	flush := DefaultLedgerFlushInterval
	if cfg.FlushInterval != nil {
		flush = time.Duration(*cfg.FlushInterval)
		if flush < 0 {
			return ledgerPlan{}, fmt.Errorf("flush_interval: must be 0 (synchronous) or more, got %s", flush)
		}
	}
	switch cfg.Backend {
	case LedgerOff:
		return ledgerPlan{}, nil
	case LedgerMemory:
		return ledgerPlan{key: LedgerMemory, open: func(caddy.Context) (ledger.Ledger, error) { return ledger.NewMemory(), nil }}, nil
	case LedgerSQLite, LedgerPostgres:
		sqlCfg, err := h.sqlLedgerConfig(cfg, flush)
		if err != nil {
			return ledgerPlan{}, err
		}
		return ledgerPlan{key: cfg.Backend + ":" + sqlCfg.DSN, open: func(ctx caddy.Context) (ledger.Ledger, error) {
			if err := os.MkdirAll(filepath.Dir(sqlCfg.SpillPath), 0o700); err != nil {
				return nil, err
			}
			openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			return ledger.OpenSQL(openCtx, sqlCfg)
		}}, nil
	}
	return ledgerPlan{}, fmt.Errorf("unknown backend %q (want %s, %s, %s or %s)",
		cfg.Backend, LedgerSQLite, LedgerPostgres, LedgerMemory, LedgerOff)
}

// openLedger loads the planned ledger from the pool, opening it if no
// loaded config uses it yet.
func (h *LLMRouter) openLedger(ctx caddy.Context, plan ledgerPlan) error {
	if plan.key == "" {
		return nil
	}
	v, _, err := ledgers.LoadOrNew(plan.key, func() (caddy.Destructor, error) {
		l, err := plan.open(ctx)
		if err != nil {
			return nil, err
		}
		return pooledLedger{l}, nil
	})
	if err != nil {
		return err
	}
	h.ledgerKeyInPool = plan.key
	h.ledger = v.(pooledLedger).Ledger
	return nil
}

// sqlLedgerConfig turns the sqlite and postgres settings into the SQL
// ledger's, with the files under Caddy's data directory by default.
func (h *LLMRouter) sqlLedgerConfig(cfg LedgerConfig, flush time.Duration) (ledger.SQLConfig, error) {
	dataDir := filepath.Join(caddy.AppDataDir(), "llm_router")
	out := ledger.SQLConfig{
		Driver:        cfg.Backend,
		FlushInterval: flush,
		Retention:     time.Duration(cfg.Retention),
		Logger:        h.logger.Named("ledger"),
	}
	switch cfg.Backend {
	case LedgerSQLite:
		if cfg.DSN != "" {
			return out, fmt.Errorf("dsn is a postgres setting; sqlite takes a path")
		}
		path := cfg.Path
		if path == "" {
			path = filepath.Join(dataDir, "ledger.db")
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return out, err
		}
		out.DSN = abs
		out.SpillPath = abs + ".spill"
	case LedgerPostgres:
		if cfg.Path != "" {
			return out, fmt.Errorf("path is a sqlite setting; postgres takes a dsn")
		}
		if cfg.DSN == "" {
			return out, fmt.Errorf("postgres needs a dsn")
		}
		out.DSN = cfg.DSN
		// One spill file per database, named without the credentials.
		sum := sha256.Sum256([]byte(cfg.DSN))
		out.SpillPath = filepath.Join(dataDir, "ledger-postgres-"+hex.EncodeToString(sum[:6])+".spill")
	}
	return out, nil
}

// cleanupLedger releases the handler's hold on its ledger; the last holder
// closes it, which writes what it has queued.
func (h *LLMRouter) cleanupLedger() error {
	if h.ledgerKeyInPool == "" {
		return nil
	}
	_, err := ledgers.Delete(h.ledgerKeyInPool)
	if err != nil {
		h.logger.Error("closing the ledger", zap.Error(err))
	}
	h.ledgerKeyInPool = ""
	return err
}

// Interface guards
var _ caddy.Destructor = pooledLedger{}
