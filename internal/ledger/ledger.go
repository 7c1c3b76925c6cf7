// Package ledger keeps what the requests the router settles cost, per
// client. The router holds a Ledger and records every request once it is
// settled (zero completion insurance applied); the admin API reads it back.
//
// Memory is the ledger kept in the process. A ledger kept elsewhere (a SQL
// database) implements the same interface; Record must then queue, so that
// a slow store never holds a request up.
package ledger

import (
	"time"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// Ledger records settled requests and reports each client's spend.
// Implementations are safe for concurrent use.
type Ledger interface {
	// Record adds one settled request. It must not block on I/O.
	Record(e Entry)
	// Clients returns every client's totals, sorted by client.
	Clients() []ClientSpend
}

// Entry is one settled request, as the router closes its books on it.
type Entry struct {
	Time     time.Time // when the request arrived
	Client   string    // who made it: the ledger key (see the router's ledger_key)
	Endpoint string    // the API path below the prefix: "chat/completions", "embeddings"...
	Model    string    // the model the client asked for
	Vendor   string    // the vendor that served it; "" when none did
	Routing  string    // the routing strategy
	Attempts int       // vendors tried
	Outcome  string    // success, vendor_error, client_error, interrupted, canceled

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
