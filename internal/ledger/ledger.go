// Package ledger keeps what the requests the router settles cost, per
// client. The router holds a Ledger and records every request once it is
// settled (zero completion insurance applied); the admin API reads it back.
//
// Memory is the ledger kept in the process: per-client totals, no history.
// SQL keeps one row per request in SQLite or PostgreSQL, with daily and
// hourly rollups that answer Usage; its Record only queues, so that a slow
// or absent database never holds a request up (see sql.go).
//
// # Tables
//
// The SQL ledger's tables share the user's database, so every name starts
// with llm_. Both dialects have:
//
//   - llm_requests: one row per settled request (columns below). In
//     PostgreSQL a table partitioned by month on time (partitions
//     llm_requests_pYYYY_MM, plus llm_requests_default for a month without
//     one), keyed by (request_id, time), indexed on (client, time). In
//     SQLite a VIEW over llm_request_chunks (settled_us, data: a JSON
//     array of requests, each an array of its columns, strings as ids into
//     llm_names), to be read, not written; see sqliteMigrations.
//   - llm_usage_daily and llm_usage_hourly: the rollups, one row per
//     bucket start (UTC; Unix seconds in SQLite, timestamptz in
//     PostgreSQL), client, model and vendor, with requests, successes,
//     failures, billable_requests, prompt_tokens, cached_tokens and
//     completion_tokens (of the billable requests), absorbed_prompt_tokens,
//     absorbed_completion_tokens, billable_cost_micro_usd and
//     absorbed_cost_micro_usd.
//   - llm_schema_migrations: the schema versions applied.
//
// The columns of llm_requests (SQLite: integers for the booleans, 0 or 1):
//
//	request_id                  text     the idempotency key (Entry.RequestID)
//	time_us (SQLite)            integer  arrival, Unix microseconds (UTC)
//	time (PostgreSQL)           timestamptz
//	client                      text     the ledger key
//	endpoint                    text     "chat/completions", "embeddings"...
//	model                       text     as the client asked
//	vendor                      text     that served it; "" if none did
//	routing                     text     the routing strategy
//	attempts                    integer  vendors tried
//	outcome                     text     success, vendor_error, client_error, interrupted, canceled
//	billable                    boolean  the client is charged
//	prompt_tokens               integer  the served answer's usage, in tokens
//	cached_tokens               integer  part of prompt_tokens
//	completion_tokens           integer
//	reasoning_tokens            integer
//	usage_estimated             boolean  counted by the router, not reported by the vendor
//	billable_cost_micro_usd     integer  charged to the client, micro-dollars; 0 unless billable
//	absorbed_prompt_tokens      integer  absorbed by the router (failed attempts, broken-off answers)
//	absorbed_completion_tokens  integer
//	absorbed_cost_micro_usd     integer  micro-dollars
//	ttft_us                     integer  to the served answer's first token, microseconds
//	duration_us                 integer  the whole request, microseconds
package ledger

import (
	"context"
	"errors"
	"time"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// Ledger records settled requests and reports each client's spend.
// Implementations are safe for concurrent use.
type Ledger interface {
	// Record adds one settled request. It never blocks on I/O: it is called
	// on the request path.
	Record(e Entry)
	// Clients returns every client's totals over all time, sorted by client.
	Clients(ctx context.Context) ([]ClientSpend, error)
	// Usage returns the totals per time bucket and per the requested
	// groups. A ledger that keeps no time series returns ErrNoHistory.
	Usage(ctx context.Context, q UsageQuery) ([]UsageRow, error)
	// Close writes out everything recorded and releases the ledger. It is
	// idempotent; Caddy calls it on a reload that drops the ledger and on
	// a graceful stop.
	Close() error
}

// ErrNoHistory is what Usage returns from a ledger that keeps no time
// series (Memory): the admin API turns it into a clear answer rather than
// an empty one that would read as "no traffic".
var ErrNoHistory = errors.New("ledger: this ledger keeps no usage history (configure a SQL ledger)")

// Entry is one settled request, as the router closes its books on it.
type Entry struct {
	// RequestID is unique per request, across instances and restarts. It is
	// the idempotency key of the SQL rows: a request written twice (a batch
	// replayed from the spill file after a commit whose answer was lost)
	// is stored and counted once. Record trusts it to be new: SQLite looks
	// ids up only among what it replays and within a batch, so an id
	// recorded again after its first batch was committed is kept twice.
	RequestID string
	Time      time.Time // when the request arrived
	Client    string    // who made it: the ledger key (see the router's ledger_key)
	Endpoint  string    // the API path below the prefix: "chat/completions", "embeddings"...
	Model     string    // the model the client asked for
	Vendor    string    // the vendor that served it; "" when none did
	Routing   string    // the routing strategy
	Attempts  int       // vendors tried
	Outcome   string    // success, vendor_error, client_error, interrupted, canceled

	// Billable is whether the client is charged: only a complete answer
	// with completion tokens is (zero completion insurance).
	Billable bool
	Usage    billing.Usage // the served answer's usage
	CostUSD  float64       // what the client is charged; 0 unless Billable
	// What the router absorbed: failed attempts, and an answer that broke
	// off. Never the client's spend.
	Absorbed        billing.Usage
	AbsorbedCostUSD float64

	TTFT     time.Duration // to the served answer's first token
	Duration time.Duration // the whole request
}

// ClientSpend is one client's totals, in the admin API's shape.
type ClientSpend struct {
	Client                   string  `json:"client"`
	Requests                 int64   `json:"requests"`
	BillableRequests         int64   `json:"billable_requests"`
	BillablePromptTokens     int64   `json:"billable_prompt_tokens"`
	BillableCompletionTokens int64   `json:"billable_completion_tokens"`
	BillableCostUSD          float64 `json:"billable_cost_usd"`
	AbsorbedPromptTokens     int64   `json:"absorbed_prompt_tokens"`
	AbsorbedCompletionTokens int64   `json:"absorbed_completion_tokens"`
	AbsorbedCostUSD          float64 `json:"absorbed_cost_usd"`
}

// add counts e into c.
func (c *ClientSpend) add(e *Entry) {
	c.Requests++
	if e.Billable {
		c.BillableRequests++
		c.BillablePromptTokens += int64(e.Usage.PromptTokens)
		c.BillableCompletionTokens += int64(e.Usage.CompletionTokens)
		c.BillableCostUSD += e.CostUSD
	}
	c.AbsorbedPromptTokens += int64(e.Absorbed.PromptTokens)
	c.AbsorbedCompletionTokens += int64(e.Absorbed.CompletionTokens)
	c.AbsorbedCostUSD += e.AbsorbedCostUSD
}
