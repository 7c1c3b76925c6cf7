package ledger

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// The fields Usage can group by, in the order its rows are sorted by.
const (
	GroupClient = "client"
	GroupModel  = "model"
	GroupVendor = "vendor"
)

// The bucket sizes of Usage.
const (
	GranularityDay  = "day"
	GranularityHour = "hour"
)

// groupFields is every group field, in canonical order: Usage sorts and
// selects them in this order whatever order the query named them in.
var groupFields = []string{GroupClient, GroupModel, GroupVendor}

// UsageQuery selects what Usage reports.
type UsageQuery struct {
	// From and To bound the buckets' starts: From <= start < To; a zero
	// time leaves that side open. Buckets are whole, so a From inside a
	// bucket is rounded down to the bucket's start (the bucket holding From
	// is included, whole); rows are not split within a bucket.
	From, To time.Time
	// GroupBy names the fields that keep their own rows, any of "client",
	// "model" and "vendor" (see ParseGroupBy); the others are summed away.
	GroupBy []string
	// Granularity is the bucket size, "day" (the default when empty) or
	// "hour" (see ParseGranularity). Buckets are in UTC.
	Granularity string
}

// UsageRow is the totals of one bucket and one group. The grouping fields
// are empty, and left out of the JSON, unless the query grouped by them.
type UsageRow struct {
	Start  time.Time `json:"start"` // the bucket's start, UTC
	Client string    `json:"client,omitempty"`
	Model  string    `json:"model,omitempty"`
	Vendor string    `json:"vendor,omitempty"`

	Requests  int64 `json:"requests"`
	Successes int64 `json:"successes"` // outcome "success"
	Failures  int64 `json:"failures"`  // every other outcome

	// The tokens of billable requests (zero completion insurance: only a
	// complete answer with completion tokens is billed), what the clients
	// are charged for. CachedTokens are part of PromptTokens.
	PromptTokens     int64 `json:"billable_prompt_tokens"`
	CachedTokens     int64 `json:"billable_cached_tokens"`
	CompletionTokens int64 `json:"billable_completion_tokens"`
	// The tokens the router absorbed (failed attempts, broken-off answers).
	AbsorbedPromptTokens     int64 `json:"absorbed_prompt_tokens"`
	AbsorbedCompletionTokens int64 `json:"absorbed_completion_tokens"`

	BillableCostUSD float64 `json:"billable_cost_usd"`
	AbsorbedCostUSD float64 `json:"absorbed_cost_usd"`
}

// ParseGroupBy parses a comma-separated list of group fields (as in a query
// string: "client,model"); spaces around names are ignored and "" groups
// by nothing. Unknown or repeated names are an error that names them.
func ParseGroupBy(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := make([]string, 0, 3)
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if !slices.Contains(groupFields, f) {
			return nil, fmt.Errorf("ledger: cannot group by %q: use any of client, model, vendor, comma-separated", f)
		}
		if slices.Contains(out, f) {
			return nil, fmt.Errorf("ledger: %q is named twice in group_by", f)
		}
		out = append(out, f)
	}
	return out, nil
}

// ParseGranularity parses a bucket size: "day" (also the answer for "")
// or "hour".
func ParseGranularity(s string) (string, error) {
	switch strings.TrimSpace(s) {
	case "", GranularityDay:
		return GranularityDay, nil
	case GranularityHour:
		return GranularityHour, nil
	}
	return "", fmt.Errorf("ledger: granularity %q: use day or hour", s)
}

// normalize validates q as a caller may have built it by hand, and returns
// the granularity and which of groupFields are grouped by.
func (q *UsageQuery) normalize() (gran string, groups [3]bool, err error) {
	if gran, err = ParseGranularity(q.Granularity); err != nil {
		return "", groups, err
	}
	if _, err = ParseGroupBy(strings.Join(q.GroupBy, ",")); err != nil {
		return "", groups, err
	}
	for i, f := range groupFields {
		groups[i] = slices.Contains(q.GroupBy, f)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return "", groups, fmt.Errorf("ledger: usage range is empty: from %s is not before to %s",
			q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	return gran, groups, nil
}

// bucketSize is the length of a granularity's buckets.
func bucketSize(gran string) time.Duration {
	if gran == GranularityHour {
		return time.Hour
	}
	return 24 * time.Hour
}

// rollupKey is one row of a rollup table: a bucket (its start in Unix
// seconds, UTC) and the three group fields.
type rollupKey struct {
	start                 int64
	client, model, vendor string
}

// rollupSums is what a rollup row adds up.
type rollupSums struct {
	requests, successes, failures, billableRequests int64
	prompt, cached, completion                      int64 // of billable requests
	absorbedPrompt, absorbedCompletion              int64
	billableMicroUSD, absorbedMicroUSD              int64
}

// add counts e.
func (r *rollupSums) add(e *Entry) {
	r.requests++
	if e.Outcome == "success" {
		r.successes++
	} else {
		r.failures++
	}
	if e.Billable {
		r.billableRequests++
		r.prompt += int64(e.Usage.PromptTokens)
		r.cached += int64(e.Usage.CachedTokens)
		r.completion += int64(e.Usage.CompletionTokens)
		r.billableMicroUSD += billing.MicroUSD(e.CostUSD)
	}
	r.absorbedPrompt += int64(e.Absorbed.PromptTokens)
	r.absorbedCompletion += int64(e.Absorbed.CompletionTokens)
	r.absorbedMicroUSD += billing.MicroUSD(e.AbsorbedCostUSD)
}

// rollup is a batch summed per key, the keys sorted so that writers that
// upsert them take row locks in one order (no deadlock between instances).
type rollup struct {
	keys []rollupKey
	sums []rollupSums
}

// merge adds o's counts.
func (r *rollupSums) merge(o *rollupSums) {
	r.requests += o.requests
	r.successes += o.successes
	r.failures += o.failures
	r.billableRequests += o.billableRequests
	r.prompt += o.prompt
	r.cached += o.cached
	r.completion += o.completion
	r.absorbedPrompt += o.absorbedPrompt
	r.absorbedCompletion += o.absorbedCompletion
	r.billableMicroUSD += o.billableMicroUSD
	r.absorbedMicroUSD += o.absorbedMicroUSD
}

// aggregate sums entries per bucket of size per and group. A batch holds
// few distinct keys (clients × models × vendors in one interval), so the
// database sees one upsert per key instead of one counter update per row.
func aggregate(entries []Entry, per time.Duration, into *rollup) {
	g := into.grouper()
	for i := range entries {
		e := &entries[i]
		into.sums[g.slot(rollupKey{start: e.Time.Truncate(per).Unix(), client: e.Client, model: e.Model, vendor: e.Vendor})].add(e)
	}
	into.sort()
}

// regroup sums from's rows into buckets of size per, a multiple of from's:
// the daily rollup from the hourly one, without a second pass over the
// entries.
func regroup(from *rollup, per time.Duration, into *rollup) {
	g := into.grouper()
	secs := int64(per / time.Second)
	for i, k := range from.keys {
		k.start -= k.start % secs // Unix time is aligned on UTC days (and Truncate on Unix time)
		into.sums[g.slot(k)].merge(&from.sums[i])
	}
	into.sort()
}

// grouper adds rows to a rollup by key.
type grouper struct {
	into  *rollup
	index map[rollupKey]int
	last  int // the previous row's slot: consecutive rows often share a key
}

// grouper empties r to be filled.
func (r *rollup) grouper() grouper {
	r.keys, r.sums = r.keys[:0], r.sums[:0]
	return grouper{into: r, index: make(map[rollupKey]int, 8), last: -1}
}

// slot returns the index in the rollup of k's sums, adding them if new.
func (g *grouper) slot(k rollupKey) int {
	r := g.into
	if g.last >= 0 && r.keys[g.last] == k {
		return g.last
	}
	j, ok := g.index[k]
	if !ok {
		j = len(r.keys)
		g.index[k] = j
		r.keys = append(r.keys, k)
		r.sums = append(r.sums, rollupSums{})
	}
	g.last = j
	return j
}

// sort orders r by key.
func (r *rollup) sort() {
	perm := make([]int, len(r.keys))
	for i := range perm {
		perm[i] = i
	}
	slices.SortFunc(perm, func(a, b int) int { return compareKeys(&r.keys[a], &r.keys[b]) })
	keys, sums := make([]rollupKey, len(perm)), make([]rollupSums, len(perm))
	for i, p := range perm {
		keys[i], sums[i] = r.keys[p], r.sums[p]
	}
	r.keys, r.sums = keys, sums
}

func compareKeys(a, b *rollupKey) int {
	switch {
	case a.start != b.start:
		if a.start < b.start {
			return -1
		}
		return 1
	case a.client != b.client:
		return strings.Compare(a.client, b.client)
	case a.model != b.model:
		return strings.Compare(a.model, b.model)
	}
	return strings.Compare(a.vendor, b.vendor)
}
