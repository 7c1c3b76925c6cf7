package llmrouter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/ledger"
	"github.com/caddy-llm/llmrouter/internal/limits"
	"github.com/caddy-llm/llmrouter/internal/sharedstate"
	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// DefaultLimitMaxTokens bounds the completion of a request under a hard
// budget that sets no max_tokens: the router adds a completion cap of this
// size (withMaxTokens), so that the request's worst case, and so the
// budget, is bounded.
const DefaultLimitMaxTokens = 4096

// limiters holds the limit counters by where they are kept ("memory", or
// the shared store's key), so that a reload keeps what was counted: counter
// names leave the limits' values out, so a reload that changes a limit
// keeps the counts.
var limiters = caddy.NewUsagePool()

// pooledLimiter is a limiter as the pool keeps it.
type pooledLimiter struct{ limits.Limiter }

// Destruct lets the counters go; Redis keeps the shared ones.
func (pooledLimiter) Destruct() error { return nil }

// provisionLimits compiles the limits block and takes the limiter that
// counts for it: in memory, or in the shared store when there is one.
func (h *LLMRouter) provisionLimits() error {
	if h.Limits == nil {
		return nil
	}
	policy, err := limits.Compile(*h.Limits)
	if err != nil {
		return err
	}
	h.limitPolicy = policy
	key := "memory"
	shared, isShared := h.store.(*sharedstate.Shared)
	if isShared {
		// on_error is the Redis limiter's own setting: a reload that
		// changes it gets a limiter of its own (the counters are in Redis).
		key = "shared:" + policy.OnError().String() + ":" + h.sharedKeyInPool
	}
	seed := h.seedBudget
	v, _, err := limiters.LoadOrNew(key, func() (caddy.Destructor, error) {
		if isShared {
			return pooledLimiter{limits.NewRedis(shared, limits.RedisOptions{
				OnError: policy.OnError(), Instances: shared.Instances, Seed: seed})}, nil
		}
		return pooledLimiter{limits.NewMemory(limits.MemoryOptions{Seed: seed})}, nil
	})
	if err != nil {
		return err
	}
	h.limiter = v.(pooledLimiter).Limiter
	h.limiterKeyInPool = key
	return nil
}

// cleanupLimits releases the handler's hold on its limiter.
func (h *LLMRouter) cleanupLimits() error {
	if h.limiterKeyInPool == "" {
		return nil
	}
	_, err := limiters.Delete(h.limiterKeyInPool)
	h.limiterKeyInPool = ""
	return err
}

// seedBudget is what the ledger says a client spent since from on the
// models matching pattern ("" for all), in micro-USD: a budget counter that
// starts (after a restart, or in a new process) starts from it, not from
// zero.
func (h *LLMRouter) seedBudget(client, pattern string, from time.Time) int64 {
	l := h.ledger
	if l == nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := l.Usage(ctx, ledger.UsageQuery{From: from, GroupBy: []string{ledger.GroupClient, ledger.GroupModel},
		Granularity: ledger.GranularityHour})
	if err != nil {
		if !errors.Is(err, ledger.ErrNoHistory) {
			h.logger.Warn("reading the ledger to start a budget", zap.String("client", client), zap.Error(err))
		}
		return 0
	}
	var spent float64
	for _, row := range rows {
		if row.Client == client && (pattern == "" || limits.Matches(pattern, row.Model)) {
			spent += row.BillableCostUSD
		}
	}
	return billing.MicroUSD(spent)
}

// limitState is a request's admission: the grant to settle, and what its
// response headers say.
type limitState struct {
	grant  limits.Grant
	client string
	// client is also the request's ledger name (limits has no key of its
	// own), which settle then need not work out again.
	isLedgerName bool
}

// admit checks the request against its client's limits and reserves its
// worst case. It returns a *clientError (or a refusal it has written) when
// the request may not go on. Under a hard budget, a request that sets no
// max_tokens gets one, so that its worst case is bounded.
func (h *LLMRouter) admit(w http.ResponseWriter, r *http.Request, st *requestState) (refused bool, err error) {
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	client := ""
	if h.Limits.Key != "" && repl != nil {
		client = strings.TrimSpace(repl.ReplaceAll(h.Limits.Key, ""))
	}
	if client == "" && h.Limits.Key == "" {
		client = h.clientIdentity(r, repl)
	}
	tier := ""
	if h.Limits.TierFrom != "" && repl != nil {
		tier = strings.TrimSpace(repl.ReplaceAll(h.Limits.TierFrom, ""))
	}
	applied, err := h.limitPolicy.Applicable(client, tier, st.plan.model)
	if errors.Is(err, limits.ErrUnknownTier) {
		return true, surfaceOf(st.plan.endpoint).writeError(w, http.StatusForbidden, typePermission, codeUnknownTier, "",
			fmt.Sprintf("tier %q is not configured on this router", tier))
	}
	if err != nil {
		return false, err
	}
	if len(applied) == 0 {
		return false, nil
	}

	p := &st.plan
	now := time.Now()
	maxTokens := p.sreq.MaxTokens
	high := DefaultLimitMaxTokens
	switch {
	case maxTokens <= 0 && hasHardBudget(applied):
		// The completion must be bounded for the budget to be: by a
		// max_tokens the vendor enforces, not by an estimate.
		maxTokens = DefaultLimitMaxTokens
		p.body, p.layout = withMaxTokens(p.body, p.layout, p.endpoint, maxTokens)
		p.sreq.MaxTokens, p.tokenCapAdded = maxTokens, true
	case maxTokens <= 0 && len(p.ranked) > 0:
		high = highCompletion(p.ranked[0], p.bucket, now)
	}
	var priceBuf [8]billing.Pricing
	prices := priceBuf[:0]
	for _, rt := range p.ranked {
		prices = append(prices, rt.price)
	}
	ask := limits.Ask{Client: client, Limits: applied,
		Amounts: limits.WorstCase(p.promptTokens, maxTokens, high, prices)}
	grant, err := h.limiter.Reserve(r.Context(), now, ask)
	if errors.Is(err, limits.ErrUnavailable) {
		return true, surfaceOf(st.plan.endpoint).writeError(w, http.StatusServiceUnavailable, typeServer, codeLimitsUnavailable, "",
			"the rate limits cannot be checked right now; try again shortly")
	}
	if err != nil {
		return false, err
	}
	setLimitHeaders(w.Header(), &grant)
	if !grant.Admitted {
		routerMetrics.refusals.WithLabelValues(grant.Refusal.Limit.Kind.String()).Inc()
		return true, writeLimitRefusal(w, surfaceOf(st.plan.endpoint), &grant.Refusal)
	}
	st.limit = &limitState{grant: grant, client: client, isLedgerName: h.Limits.Key == ""}
	return false, nil
}

// settleLimits charges an admitted request what it used: its billable
// tokens and cost (as settle priced it) only; what zero completion insurance
// absorbed never counts against a client.
func (h *LLMRouter) settleLimits(st *requestState, billableRequest bool, costUSD float64) {
	if st.limit == nil {
		return
	}
	var actual limits.Actual
	if billableRequest {
		u := st.result.usage
		actual = limits.Actual{InputTokens: int64(u.PromptTokens), OutputTokens: int64(u.CompletionTokens),
			MicroUSD: billing.MicroUSD(costUSD)}
	}
	// The request's context may be gone (the client left): settling must
	// still happen, within its own deadline when it goes to Redis (the
	// in-memory limiter waits for nothing).
	ctx := context.Background()
	if h.limiterWaits {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
	}
	if err := h.limiter.Settle(ctx, st.limit.grant, actual); err != nil {
		h.logger.Warn("settling a request's limits", zap.String("client", st.limit.client), zap.Error(err))
	}
}

// highCompletion is how long the model's answers get on rt, for a request
// that sets no max_tokens: four times the mean completion it measured
// (between 256 and DefaultLimitMaxTokens), once it has measured ten
// answers; DefaultLimitMaxTokens before. It reserves what answers really
// take, so that a token limit admits bursts of short answers, and settling
// corrects the rest.
func highCompletion(rt *route, bucket int, now time.Time) int {
	var rd selector.Reading
	rt.stats.ReadInto(&rd, bucket, selector.BucketTTFT, now, 0)
	if c := rd.Completion; c.Samples >= 10 && c.Weight > 0 {
		return min(max(int(4*c.Sum/c.Weight), 256), DefaultLimitMaxTokens)
	}
	return DefaultLimitMaxTokens
}

func hasHardBudget(applied []limits.Applied) bool {
	for i := range applied {
		if applied[i].Kind == limits.USD && applied[i].Hard {
			return true
		}
	}
	return false
}

// withMaxTokens returns body with a completion cap of n added as its last
// member, under the endpoint's name for it: max_completion_tokens for chat
// completions (OpenAI's reasoning models refuse max_tokens; the kinds whose
// API lacks the newer name send it as max_tokens, see
// vendors.Attempt.TokenCapAdded), max_output_tokens for the Responses API,
// max_tokens for the others. The members before it keep their offsets, so
// the layout stays true but for its member count.
func withMaxTokens(body []byte, layout vendors.Layout, e vendors.Endpoint, n int) ([]byte, vendors.Layout) {
	end := len(body) - 1
	for end >= 0 && body[end] != '}' {
		end--
	}
	if end < 0 {
		return body, layout
	}
	out := make([]byte, 0, len(body)+24)
	out = append(out, body[:end]...)
	if layout.Members > 0 {
		out = append(out, ',')
	}
	name := "max_tokens"
	switch e {
	case vendors.ChatCompletions:
		name = "max_completion_tokens"
	case vendors.Responses:
		name = "max_output_tokens"
	}
	out = append(append(append(out, '"'), name...), `":`...)
	out = strconv.AppendInt(out, int64(n), 10)
	out = append(out, body[end:]...)
	layout.Appended(name)
	return out, layout
}

// Limit response headers: OpenAI's x-ratelimit-* for requests and tokens,
// and the router's own for budgets, in canonical form.
const (
	headerLimitRequests     = "X-Ratelimit-Limit-Requests"
	headerRemainingRequests = "X-Ratelimit-Remaining-Requests"
	headerResetRequests     = "X-Ratelimit-Reset-Requests"
	headerLimitTokens       = "X-Ratelimit-Limit-Tokens"
	headerRemainingTokens   = "X-Ratelimit-Remaining-Tokens"
	headerResetTokens       = "X-Ratelimit-Reset-Tokens"
	headerBudgetRemaining   = "X-Llm-Budget-Remaining-Usd"
	headerBudgetReset       = "X-Llm-Budget-Reset"
)

// setLimitHeaders writes what the grant knows of the client's limits.
// Values the limiter does not know are left out rather than guessed. They
// are formatted into one buffer on the stack and become one string, whose
// pieces share one backing array, since every request with limits pays for
// them.
func setLimitHeaders(h http.Header, g *limits.Grant) {
	var arr [192]byte
	v := limitHeaderValues{b: arr[:0]}
	v.headroom(&g.Requests, headerLimitRequests, headerRemainingRequests, headerResetRequests)
	v.headroom(&g.Tokens, headerLimitTokens, headerRemainingTokens, headerResetTokens)
	if g.Budget.Set {
		if micro := g.Budget.RemainingMicroUSD; micro >= 0 {
			v.b = appendMicroUSD(v.b, micro)
			v.mark(headerBudgetRemaining)
		}
		if !g.Budget.Reset.IsZero() {
			v.b = appendBudgetReset(v.b, g.Budget.Reset)
			v.mark(headerBudgetReset)
		}
	}
	if v.n == 0 {
		return
	}
	all := string(v.b)
	backing := make([]string, v.n)
	start := 0
	for i, name := range v.names[:v.n] {
		backing[i] = all[start:v.ends[i]]
		start = v.ends[i]
		h[name] = backing[i : i+1 : i+1]
	}
}

// appendMicroUSD appends micro (not negative) in dollars with six decimals,
// "24.998700": what strconv.AppendFloat(b, micro/1e6, 'f', 6, 64) writes,
// in integer arithmetic, which costs a tenth of it.
func appendMicroUSD(b []byte, micro int64) []byte {
	b = strconv.AppendInt(b, micro/1_000_000, 10)
	var frac [7]byte
	f := strconv.AppendInt(frac[:0], 1_000_000+micro%1_000_000, 10) // "1" and six digits, leading zeros kept
	return append(append(b, '.'), f[1:]...)
}

// lastBudgetReset caches the last budget reset written: every request of a
// budget period gives the same instant, and formatting it as RFC 3339 costs
// more than comparing it.
var lastBudgetReset atomic.Pointer[budgetReset]

type budgetReset struct {
	at   time.Time
	text string
}

// appendBudgetReset appends at in RFC 3339, UTC.
func appendBudgetReset(b []byte, at time.Time) []byte {
	if last := lastBudgetReset.Load(); last != nil && last.at.Equal(at) {
		return append(b, last.text...)
	}
	text := at.UTC().Format(time.RFC3339)
	lastBudgetReset.Store(&budgetReset{at: at, text: text})
	return append(b, text...)
}

// limitHeaderValues collects header values end to end in b: value i ends
// at ends[i] and belongs to header names[i].
type limitHeaderValues struct {
	b     []byte
	names [8]string
	ends  [8]int
	n     int
}

// mark ends the value appended since the last mark, for header name.
func (v *limitHeaderValues) mark(name string) {
	v.names[v.n], v.ends[v.n] = name, len(v.b)
	v.n++
}

// headroom appends a rate limit's limit, remaining and reset.
func (v *limitHeaderValues) headroom(hr *limits.Headroom, limit, remaining, reset string) {
	if !hr.Set {
		return
	}
	v.b = strconv.AppendInt(v.b, hr.Limit, 10)
	v.mark(limit)
	if hr.Remaining >= 0 {
		v.b = strconv.AppendInt(v.b, hr.Remaining, 10)
		v.mark(remaining)
	}
	if hr.Reset >= 0 {
		v.b = appendReset(v.b, hr.Reset)
		v.mark(reset)
	}
}

// formatReset writes a reset delay the way OpenAI does ("20ms", "1s",
// "6m0s", "1m52.754s").
func formatReset(d time.Duration) string { return string(appendReset(nil, d)) }

// appendReset appends d, rounded to the millisecond, in Go's duration format
// (milliseconds alone below a second), without the allocation of
// Duration.String.
func appendReset(b []byte, d time.Duration) []byte {
	ms := int64(d.Round(time.Millisecond) / time.Millisecond)
	if ms < 1000 {
		return append(strconv.AppendInt(b, max(ms, 0), 10), "ms"...)
	}
	if h := ms / 3_600_000; h > 0 {
		b = append(strconv.AppendInt(b, h, 10), 'h')
		ms -= h * 3_600_000
		b = append(strconv.AppendInt(b, ms/60_000, 10), 'm')
		ms %= 60_000
	} else if m := ms / 60_000; m > 0 {
		b = append(strconv.AppendInt(b, m, 10), 'm')
		ms %= 60_000
	}
	b = strconv.AppendInt(b, ms/1000, 10)
	if frac := ms % 1000; frac > 0 {
		b = append(b, '.')
		var arr [4]byte
		digits := strconv.AppendInt(arr[:0], 1000+frac, 10)[1:] // three digits, leading zeros kept
		for len(digits) > 0 && digits[len(digits)-1] == '0' {
			digits = digits[:len(digits)-1]
		}
		b = append(b, digits...)
	}
	return append(b, 's')
}

// writeLimitRefusal answers a request that a limit refused: 429
// rate_limit_exceeded with the exact wait for a rate, 429
// insufficient_quota/budget_exceeded with x-should-retry: false for a spent
// budget (SDKs would otherwise retry until it resets).
func writeLimitRefusal(w http.ResponseWriter, sf *surface, ref *limits.Refusal) error {
	h := w.Header()
	lim := &ref.Limit
	what := describeLimit(lim)
	// The refused limit's own headers: nothing is left of it.
	switch lim.Kind {
	case limits.Requests, limits.Tokens:
		names := [3]string{headerLimitRequests, headerRemainingRequests, headerResetRequests}
		if lim.Kind == limits.Tokens {
			names = [3]string{headerLimitTokens, headerRemainingTokens, headerResetTokens}
		}
		h[names[0]] = []string{strconv.FormatInt(lim.Limit, 10)}
		h[names[1]] = []string{"0"}
		if ref.RetryAfter > 0 {
			h[names[2]] = []string{formatReset(ref.RetryAfter)}
		}
	case limits.USD:
		if !ref.Reset.IsZero() {
			h[headerBudgetReset] = []string{ref.Reset.UTC().Format(time.RFC3339)}
		}
	}
	if ref.RetryAfter > 0 {
		h["Retry-After-Ms"] = []string{strconv.FormatInt(int64(ref.RetryAfter/time.Millisecond)+1, 10)}
		h["Retry-After"] = []string{strconv.FormatInt(int64(math.Ceil(ref.RetryAfter.Seconds())), 10)}
	}
	resets := ""
	if !ref.Reset.IsZero() {
		resets = "; it resets at " + ref.Reset.UTC().Format(time.RFC3339)
	}
	if ref.Budget() {
		h["X-Should-Retry"] = []string{"false"}
		return sf.writeError(w, http.StatusTooManyRequests, typeInsufficientQuota, codeBudgetExceeded, "",
			fmt.Sprintf("budget exceeded: %s%s", what, resets))
	}
	if ref.RetryAfter < 0 {
		h["X-Should-Retry"] = []string{"false"}
		return sf.writeError(w, http.StatusTooManyRequests, typeRateLimit, codeRateLimitExceeded, "",
			fmt.Sprintf("this request alone exceeds the limit of %s", what))
	}
	return sf.writeError(w, http.StatusTooManyRequests, typeRateLimit, codeRateLimitExceeded, "",
		fmt.Sprintf("rate limit reached: %s%s", what, resets))
}

// describeLimit says a limit in words: "60 requests per 1m0s",
// "$25.00 per month (hard)", "8 concurrent requests" (and its model pattern).
func describeLimit(a *limits.Applied) string {
	var s string
	switch a.Kind {
	case limits.Requests:
		s = fmt.Sprintf("%d requests per %s", a.Limit, a.Window)
	case limits.Tokens:
		s = fmt.Sprintf("%d %s tokens per %s", a.Limit, a.Count, a.Window)
	case limits.Concurrent:
		s = fmt.Sprintf("%d concurrent requests", a.Limit)
	case limits.USD:
		per := a.Window.String()
		if a.Calendar() {
			per = a.Period.String()
		}
		s = fmt.Sprintf("$%.2f per %s", float64(a.Limit)/1e6, per)
		if a.Hard {
			s += " (hard)"
		}
	}
	if a.Model != "" {
		s += " for models " + strconv.Quote(a.Model)
	}
	return s
}

// clientLimits is one client's limits in /llm_router/stats.
type clientLimits struct {
	Client string        `json:"client"`
	Limits []limitStatus `json:"limits"`
}

// limitStatus is one limit of a client, as the limiter counts it now.
type limitStatus struct {
	Kind   string     `json:"kind"`
	Model  string     `json:"model,omitempty"` // the model pattern, when the limit has one
	Limit  int64      `json:"limit"`           // requests, tokens, slots; micro-USD for usd
	Per    string     `json:"per,omitempty"`   // the window, or the calendar period
	Hard   bool       `json:"hard,omitempty"`
	Used   *int64     `json:"used,omitempty"` // absent when the limiter does not know
	Remain *int64     `json:"remaining,omitempty"`
	Reset  *time.Time `json:"reset,omitempty"`
}

// describeLimits lists the limits of the clients the live handlers'
// limiters have counted for lately, as they count them.
func describeLimits() []clientLimits {
	var limiters []limits.Limiter
	var clients []string
	for _, h := range liveRouters.list() {
		if h.limiter != nil && !slices.Contains(limiters, h.limiter) {
			limiters = append(limiters, h.limiter)
			clients = append(clients, h.limiter.Clients()...)
		}
	}
	slices.Sort(clients)
	clients = slices.Compact(clients)
	var out []clientLimits
	for _, c := range clients {
		var ls []limitStatus
		for _, l := range limiters {
			for _, st := range l.State(c) {
				ls = append(ls, toLimitStatus(st))
			}
		}
		if len(ls) > 0 {
			out = append(out, clientLimits{Client: c, Limits: ls})
		}
	}
	return out
}

func toLimitStatus(st limits.Status) limitStatus {
	ls := limitStatus{Kind: st.Kind.String(), Model: st.Model, Limit: st.Limit, Hard: st.Hard}
	switch {
	case st.Calendar():
		ls.Per = st.Period.String()
	case st.Window > 0:
		ls.Per = st.Window.String()
	}
	if st.Used >= 0 {
		used, remaining := st.Used, st.Remaining
		ls.Used, ls.Remain = &used, &remaining
	}
	if !st.Reset.IsZero() {
		reset := st.Reset
		ls.Reset = &reset
	}
	return ls
}
