package ledger

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// requestColumns are the request rows' columns, in the order the writers
// bind them. Durations are whole microseconds and costs whole micro-dollars
// (the unit is in the name); the time is timeCol: SQLite keeps it as Unix
// microseconds (time_us), PostgreSQL as a timestamptz (time).
func requestColumns(timeCol string) []string {
	return []string{"request_id", timeCol, "client", "endpoint", "model", "vendor", "routing", "attempts",
		"outcome", "billable", "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens",
		"usage_estimated", "billable_cost_micro_usd", "absorbed_prompt_tokens", "absorbed_completion_tokens",
		"absorbed_cost_micro_usd", "ttft_us", "duration_us"}
}

// rollupCols are the rollups' counters, in rollupSums' order. The tokens
// and cost without a prefix are the billable requests'.
var rollupCols = []string{"requests", "successes", "failures", "billable_requests",
	"prompt_tokens", "cached_tokens", "completion_tokens", "absorbed_prompt_tokens", "absorbed_completion_tokens",
	"billable_cost_micro_usd", "absorbed_cost_micro_usd"}

// rollupTables names the rollup table of each granularity.
var rollupTables = map[string]string{GranularityDay: "llm_usage_daily", GranularityHour: "llm_usage_hourly"}

// dialect is what the read queries need to know of a dialect.
type dialect struct {
	param    func(i int) string  // the i-th (1-based) placeholder
	startCol string              // the bucket start as Unix seconds
	startArg func(time.Time) any // a bucket start as the start column takes it
	sum      func(col string) string
}

var sqliteDialect = dialect{
	param:    func(int) string { return "?" },
	startCol: "start",
	startArg: func(t time.Time) any { return t.Unix() },
	sum:      func(col string) string { return "sum(" + col + ")" },
}

var postgresDialect = dialect{
	param:    func(i int) string { return "$" + strconv.Itoa(i) },
	startCol: "extract(epoch from start)::bigint",
	startArg: func(t time.Time) any { return t },
	sum:      func(col string) string { return "sum(" + col + ")::bigint" }, // sum(bigint) is numeric
}

// clientsSQL sums the daily rollups per client.
func (d dialect) clientsSQL() string {
	cols := []string{"client"}
	for _, c := range []string{"requests", "billable_requests", "prompt_tokens", "completion_tokens",
		"billable_cost_micro_usd", "absorbed_prompt_tokens", "absorbed_completion_tokens", "absorbed_cost_micro_usd"} {
		cols = append(cols, d.sum(c))
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM llm_usage_daily GROUP BY client"
}

// scanner is a row of sql.Rows or pgx.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanClient reads a row of clientsSQL.
func scanClient(r scanner) (ClientSpend, error) {
	var c ClientSpend
	var billable, absorbed int64
	err := r.Scan(&c.Client, &c.Requests, &c.BillableRequests, &c.BillablePromptTokens, &c.BillableCompletionTokens,
		&billable, &c.AbsorbedPromptTokens, &c.AbsorbedCompletionTokens, &absorbed)
	c.BillableCostUSD, c.AbsorbedCostUSD = billing.USD(billable), billing.USD(absorbed)
	return c, err
}

// sortClients sorts by client in Go, byte-wise: a database collation
// (PostgreSQL's en_US...) would order differently from Memory.
func sortClients(cs []ClientSpend) {
	slices.SortFunc(cs, func(a, b ClientSpend) int { return strings.Compare(a.Client, b.Client) })
}

// usageSQL is the query of Usage: the rollup table of gran, summed per
// bucket and group, the buckets' starts within [From rounded down, To).
func (d dialect) usageSQL(q UsageQuery, gran string, groups [3]bool) (string, []any) {
	var b strings.Builder
	b.WriteString("SELECT " + d.startCol)
	group := "start"
	for i, f := range groupFields {
		if groups[i] {
			b.WriteString(", " + f)
			group += ", " + f
		}
	}
	for _, c := range rollupCols {
		if c != "billable_requests" {
			b.WriteString(", " + d.sum(c))
		}
	}
	b.WriteString(" FROM " + rollupTables[gran])
	var where []string
	var args []any
	if !q.From.IsZero() {
		args = append(args, d.startArg(q.From.Truncate(bucketSize(gran))))
		where = append(where, "start >= "+d.param(len(args)))
	}
	if !q.To.IsZero() {
		args = append(args, d.startArg(q.To))
		where = append(where, "start < "+d.param(len(args)))
	}
	if len(where) > 0 {
		b.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	b.WriteString(" GROUP BY " + group)
	return b.String(), args
}

// scanUsage reads a row of usageSQL.
func scanUsage(r scanner, groups [3]bool) (UsageRow, error) {
	var u UsageRow
	var start, billable, absorbed int64
	dest := []any{&start}
	for i, p := range []*string{&u.Client, &u.Model, &u.Vendor} {
		if groups[i] {
			dest = append(dest, p)
		}
	}
	dest = append(dest, &u.Requests, &u.Successes, &u.Failures, &u.PromptTokens, &u.CachedTokens, &u.CompletionTokens,
		&u.AbsorbedPromptTokens, &u.AbsorbedCompletionTokens, &billable, &absorbed)
	err := r.Scan(dest...)
	u.Start = time.Unix(start, 0).UTC()
	u.BillableCostUSD, u.AbsorbedCostUSD = billing.USD(billable), billing.USD(absorbed)
	return u, err
}

// sortUsage orders rows by start, then client, model and vendor, byte-wise.
func sortUsage(rows []UsageRow) {
	slices.SortFunc(rows, func(a, b UsageRow) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		if c := strings.Compare(a.Client, b.Client); c != 0 {
			return c
		}
		if c := strings.Compare(a.Model, b.Model); c != 0 {
			return c
		}
		return strings.Compare(a.Vendor, b.Vendor)
	})
}
