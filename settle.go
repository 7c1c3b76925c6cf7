package llmrouter

import (
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/ledger"
)

// Request outcomes, as metrics labels and log values.
const (
	outcomeSuccess     = "success"      // a complete answer with completion tokens: billable
	outcomeVendorError = "vendor_error" // every vendor failed
	outcomeClientError = "client_error" // a vendor refused the request itself (400, 422...), returned as is
	outcomeInterrupted = "interrupted"  // the answer broke after it started streaming
	outcomeCanceled    = "canceled"     // the client went away
)

// result is what reached the client, filled in by the committed attempt,
// and what the request cost.
type result struct {
	served    *route // the route whose answer the client got
	usage     billing.Usage
	ttft      time.Duration
	completed bool // the served answer ended cleanly
	outcome   string

	// What failed attempts cost (zero completion insurance): never billed.
	absorbed     billing.Usage
	absorbedCost float64
}

// absorb adds a failed attempt's consumption to what the router absorbs.
func (r *result) absorb(rt *route, u billing.Usage) {
	if u.Estimated {
		// Nothing the vendor reported: a failed attempt's guessed tokens
		// are no measure of spend.
		return
	}
	r.absorbed.PromptTokens += u.PromptTokens
	r.absorbed.CachedTokens += u.CachedTokens
	r.absorbed.CompletionTokens += u.CompletionTokens
	cost := billing.Cost(u, rt.price)
	r.absorbedCost += cost
	countTokens(rt, u, cost, absorbed)
}

func countTokens(rt *route, u billing.Usage, cost float64, billing string) {
	b := billingIndex(billing)
	rt.tokenSeries(b, 0).Add(float64(u.PromptTokens - u.CachedTokens))
	rt.tokenSeries(b, 1).Add(float64(u.CachedTokens))
	rt.tokenSeries(b, 2).Add(float64(u.CompletionTokens))
	rt.costSeries(b).Add(cost)
}

// settle closes the books on a request once the proxy is done with it: it
// applies zero completion insurance (only a complete answer with completion
// tokens is billable; everything else is absorbed), then reports the request
// to the ledger, the metrics, the placeholders and the log.
func (h *LLMRouter) settle(r *http.Request, st *requestState, proxyErr error, start time.Time) {
	if h.settleMayWait(st) {
		st.client.release() // the answer's end must not wait on the network
	}
	if st.attempts.hedge != nil {
		st.collectHedge()
	}
	var cost float64
	isBillable := false
	switch {
	case st.result.served != nil && st.result.completed && st.result.usage.CompletionTokens > 0:
		st.result.outcome = outcomeSuccess
		isBillable = true
		cost = billing.Cost(st.result.usage, st.result.served.price)
		countTokens(st.result.served, st.result.usage, cost, billable)
	case st.result.served != nil:
		st.result.outcome = outcomeInterrupted
		if r.Context().Err() != nil {
			st.result.outcome = outcomeCanceled
		}
		st.result.absorb(st.result.served, st.result.usage)
	case st.result.outcome == "" && r.Context().Err() != nil:
		st.result.outcome = outcomeCanceled
	case st.result.outcome == "" && proxyErr != nil:
		st.result.outcome = outcomeVendorError
	case st.result.outcome == "":
		st.result.outcome = outcomeClientError
	}

	h.settleLimits(st, isBillable, cost)

	vendorID, vendorModel := "", ""
	if st.result.served != nil {
		vendorID, vendorModel = st.result.served.vendor.ID(), st.result.served.vendorModel
	} else if st.attempts.current != nil && st.result.outcome == outcomeClientError {
		vendorID, vendorModel = st.attempts.current.vendor.ID(), st.attempts.current.vendorModel
	}
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	var identity string
	if st.limit != nil && st.limit.isLedgerName {
		identity = st.limit.client
	} else {
		identity = h.clientIdentity(r, repl)
	}
	duration := time.Since(start)
	requestID := newRequestID()
	if h.ledger != nil {
		h.ledger.Record(ledger.Entry{RequestID: requestID, Time: start, Client: identity, Endpoint: st.plan.endpoint.String(),
			Model: st.plan.model, Vendor: vendorID, Routing: st.plan.strategy.String(), Attempts: st.attempts.tries,
			Outcome: st.result.outcome, Billable: isBillable, Usage: st.result.usage, CostUSD: cost,
			Absorbed: st.result.absorbed, AbsorbedCostUSD: st.result.absorbedCost, TTFT: st.result.ttft, Duration: duration})
	}
	if st.result.outcome == outcomeSuccess && st.result.served.model == st.plan.model {
		st.result.served.successSeries(st.plan.strategy).Inc()
	} else {
		routerMetrics.requests.WithLabelValues(vendorID, st.plan.model, st.plan.strategy.String(), st.result.outcome).Inc()
	}

	if repl != nil {
		p := placeholders{requestID: requestID, vendor: vendorID, model: vendorModel, st: st, cost: cost, billable: isBillable}
		// One provider instead of a Set per value: nothing is formatted or
		// boxed unless a log or header asks for it.
		repl.Map(p.lookup)
	}

	// One line per request, for debugging; the requests an operator must
	// hear about (a vendor failed, or broke off an answer) are at INFO, and
	// kept for the dashboard. At
	// INFO per request it would be a third of the router's own CPU time;
	// access logs get the same facts from the placeholders.
	level := zapcore.DebugLevel
	if len(st.attempts.failed) > 0 || st.result.outcome == outcomeInterrupted || st.attempts.hedge.wasStarted() {
		level = zapcore.InfoLevel
		recentDecisions.add(newDecision(st, start, duration, requestID, identity, vendorID))
	}
	if ce := h.logger.Check(level, "routed"); ce != nil {
		ce.Write(
			zap.String("model", st.plan.model),
			zap.String("routing", st.plan.strategy.String()),
			zap.Object("decision", decisionLog{st: st}),
			zap.Array("failed_attempts", attemptsLog(st.attempts.failed)),
			zap.String("vendor", vendorID),
			zap.String("outcome", st.result.outcome),
			zap.Int("attempts", st.attempts.tries),
			zap.Int("prompt_tokens", st.result.usage.PromptTokens),
			zap.Int("completion_tokens", st.result.usage.CompletionTokens),
			zap.Bool("usage_estimated", st.result.usage.Estimated),
			zap.Float64("cost_usd", cost),
			zap.Bool("billable", isBillable),
			zap.Float64("absorbed_cost_usd", st.result.absorbedCost),
			zap.Float64("ttft_ms", float64(st.result.ttft)/float64(time.Millisecond)),
			zap.Duration("duration", duration),
			zap.String("client", identity),
			zap.String("request_id", requestID),
		)
	}
}

// settleMayWait reports whether settling st may wait on something other
// than memory: a hedge's legs, a limiter in Redis, a ledger that commits
// each entry before Record returns.
func (h *LLMRouter) settleMayWait(st *requestState) bool {
	return st.attempts.hedge != nil || h.ledgerWaits || (st.limit != nil && h.limiterWaits)
}

// placeholders answers the {http.llm_router.*} placeholders of a settled
// request.
type placeholders struct {
	requestID     string
	vendor, model string
	st            *requestState
	cost          float64
	billable      bool
}

// placeholderPrefix starts every placeholder the router provides.
const placeholderPrefix = "http.llm_router."

func (p placeholders) lookup(key string) (any, bool) {
	name, ok := strings.CutPrefix(key, placeholderPrefix)
	if !ok {
		return nil, false
	}
	st := p.st
	switch name {
	case "request_id":
		return p.requestID, true
	case "vendor":
		return p.vendor, true
	case "model":
		return p.model, true
	case "routing":
		return st.plan.strategy.String(), true
	case "attempts":
		return st.attempts.tries, true
	case "prompt_tokens":
		return st.result.usage.PromptTokens, true
	case "completion_tokens":
		return st.result.usage.CompletionTokens, true
	case "cost_usd":
		return p.cost, true
	case "billable":
		return p.billable, true
	case "absorbed_cost_usd":
		return st.result.absorbedCost, true
	case "ttft_ms":
		return float64(st.result.ttft) / float64(time.Millisecond), true
	case "outcome":
		return st.result.outcome, true
	}
	return nil, false
}
