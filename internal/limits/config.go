// Package limits holds the rate limits and budgets the router enforces per
// client: the `limits` block's configuration, its compiled policy, and the
// counters behind it, in memory for one instance or in Redis for a fleet.
// It imports nothing from Caddy.
package limits

// Config is the `limits` block: per-client rate limits and budgets. Every
// request reserves its worst case against each limit that applies on
// admission and settles to its metered, billable figures when it ends;
// what zero completion insurance absorbs never counts against a client.
type Config struct {
	// The placeholder that names the client whose limits apply. Default:
	// the ledger key (the handler's ledger_key, else a hash of the bearer
	// token). A key that resolves to nothing is the client `anonymous`: all
	// such requests share one set of counters.
	Key string `json:"key,omitempty"`

	// The placeholder that names the client's tier, such as a header that
	// forward_auth sets. Default: every client is in tier `default`. A
	// request naming a tier that is not configured is refused (403): a
	// misspelt tier must not lift a client's limits.
	TierFrom string `json:"tier_from,omitempty"`

	// The limits of each tier, by name.
	Tiers map[string]Set `json:"tiers,omitempty"`

	// Per-client limits, by client name (as Key resolves). A limit set here
	// replaces the tier's limit of the same kind (and model pattern); the
	// tier's other limits still apply.
	Clients map[string]Set `json:"clients,omitempty"`

	// What to do when the shared counters (Redis) cannot be reached:
	// `local` (default: every instance enforces its share of each limit,
	// the limit divided by the live instances it last knew of), `open`
	// (admit, counting nothing) or `closed` (refuse with 503).
	OnError string `json:"on_error,omitempty"`
}

// Set is the limits of a tier or a client.
type Set struct {
	// Requests per sliding window.
	Requests *Rate `json:"requests,omitempty"`

	// Tokens per sliding window: prompt and completion by default.
	Tokens *Rate `json:"tokens,omitempty"`

	// Requests in flight at once. Slots are leases: those of an instance
	// that died come back when their lease ends.
	Concurrent int `json:"concurrent,omitempty"`

	// Spend in USD per period.
	USD *Budget `json:"usd,omitempty"`

	// Limits for the models whose names match a pattern, such as
	// `gpt-4o*` (path.Match syntax). They apply on top of the set's own
	// limits, to the matching models only; a model that matches several
	// patterns gets each one's limits.
	Models []ModelSet `json:"models,omitempty"`
}

// ModelSet is a Set that applies to the models matching a pattern. It has
// no Models of its own.
type ModelSet struct {
	// The model-name pattern (path.Match syntax), as clients name models.
	Match string `json:"match"`

	Requests   *Rate   `json:"requests,omitempty"`
	Tokens     *Rate   `json:"tokens,omitempty"`
	Concurrent int     `json:"concurrent,omitempty"`
	USD        *Budget `json:"usd,omitempty"`
}

// Rate is a limit over a sliding window.
type Rate struct {
	// The most that fits in the window: requests, or tokens.
	Limit int64 `json:"limit"`

	// The window: a duration such as `1m`, `1h` or `1d`.
	Per string `json:"per"`

	// Tokens only: which tokens count, `total` (default: prompt and
	// completion), `input` or `output`.
	Count string `json:"count,omitempty"`
}

// Budget is a limit on spend per period. Spend is the billable cost from
// the configured prices, in integer micro-USD.
type Budget struct {
	// The most that may be spent in a period, in USD.
	USD float64 `json:"usd"`

	// The period: a calendar `day`, `week` (from Monday) or `month` in
	// TimeZone, or a rolling window given as a duration (`30d`, `720h`).
	Per string `json:"per"`

	// The IANA time zone of calendar periods, such as `Europe/Paris`.
	// Default: UTC.
	TimeZone string `json:"time_zone,omitempty"`

	// A hard budget never overshoots: a request whose worst case does not
	// fit in what is left is refused, and one that sets no max_tokens gets
	// one that keeps its worst case within the budget. A soft budget
	// (default) admits a request while anything is left, and may end a
	// period a little over.
	Hard bool `json:"hard,omitempty"`
}
