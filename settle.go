package llmrouter

import (
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-llm/llmrouter/internal/meter"
)

// Request outcomes, as metrics labels and log values.
const (
	outcomeSuccess     = "success"      // a complete answer with completion tokens: billable
	outcomeVendorError = "vendor_error" // every vendor failed
	outcomeClientError = "client_error" // a vendor refused the request itself (400, 422...), returned as is
	outcomeInterrupted = "interrupted"  // the answer broke after it started streaming
	outcomeCanceled    = "canceled"     // the client went away
)

// absorb adds a failed attempt's consumption to what the router absorbs.
func (st *requestState) absorb(rt *route, u meter.Usage) {
	if u.Estimated {
		// Nothing the vendor reported: a failed attempt's guessed tokens
		// are no measure of spend.
		return
	}
	st.absorbed.PromptTokens += u.PromptTokens
	st.absorbed.CachedTokens += u.CachedTokens
	st.absorbed.CompletionTokens += u.CompletionTokens
	cost := meter.Cost(u, rt.meterPrice())
	st.absorbedCost += cost
	countTokens(rt, u, cost, absorbed)
}

// meterPrice is the route's price in the meter's terms.
func (rt *route) meterPrice() meter.Pricing {
	return meter.Pricing{Input: rt.price.Input, CachedInput: rt.price.CachedInput, Output: rt.price.Output}
}

func countTokens(rt *route, u meter.Usage, cost float64, billing string) {
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
	var cost float64
	isBillable := false
	switch {
	case st.served != nil && st.completed && st.usage.CompletionTokens > 0:
		st.outcome = outcomeSuccess
		isBillable = true
		cost = meter.Cost(st.usage, st.served.meterPrice())
		countTokens(st.served, st.usage, cost, billable)
	case st.served != nil:
		st.outcome = outcomeInterrupted
		if r.Context().Err() != nil {
			st.outcome = outcomeCanceled
		}
		st.absorb(st.served, st.usage)
	case st.outcome == "" && r.Context().Err() != nil:
		st.outcome = outcomeCanceled
	case st.outcome == "" && proxyErr != nil:
		st.outcome = outcomeVendorError
	case st.outcome == "":
		st.outcome = outcomeClientError
	}

	vendorID, vendorModel := "", ""
	if st.served != nil {
		vendorID, vendorModel = st.served.vendor.ID(), st.served.vendorModel
	} else if st.current != nil && st.outcome == outcomeClientError {
		vendorID, vendorModel = st.current.vendor.ID(), st.current.vendorModel
	}
	identity := h.clientIdentity(r)
	ledger.record(identity, isBillable, st, cost)
	if st.outcome == outcomeSuccess && st.served.model == st.model {
		st.served.successSeries(st.strategy).Inc()
	} else {
		routerMetrics.requests.WithLabelValues(vendorID, st.model, st.strategy.String(), st.outcome).Inc()
	}

	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		p := placeholders{vendor: vendorID, model: vendorModel, st: st, cost: cost, billable: isBillable}
		// One provider instead of a Set per value: nothing is formatted or
		// boxed unless a log or header asks for it.
		repl.Map(p.lookup)
	}

	// One line per request, for debugging; the requests an operator must
	// hear about (a vendor failed, or broke off an answer) are at INFO. At
	// INFO per request it would be a third of the router's own CPU time;
	// access logs get the same facts from the placeholders.
	level := zapcore.DebugLevel
	if len(st.attempts) > 0 || st.outcome == outcomeInterrupted {
		level = zapcore.InfoLevel
	}
	if ce := h.logger.Check(level, "routed"); ce != nil {
		ce.Write(
			zap.String("model", st.model),
			zap.String("routing", st.strategy.String()),
			zap.Object("decision", decisionLog{st: st}),
			zap.Array("failed_attempts", attemptsLog(st.attempts)),
			zap.String("vendor", vendorID),
			zap.String("outcome", st.outcome),
			zap.Int("attempts", st.tries),
			zap.Int("prompt_tokens", st.usage.PromptTokens),
			zap.Int("completion_tokens", st.usage.CompletionTokens),
			zap.Bool("usage_estimated", st.usage.Estimated),
			zap.Float64("cost_usd", cost),
			zap.Bool("billable", isBillable),
			zap.Float64("absorbed_cost_usd", st.absorbedCost),
			zap.Float64("ttft_ms", float64(st.ttft)/float64(time.Millisecond)),
			zap.Duration("duration", time.Since(start)),
			zap.String("client", identity),
		)
	}
}

// placeholders answers the {http.llm_router.*} placeholders of a settled
// request.
type placeholders struct {
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
	case "vendor":
		return p.vendor, true
	case "model":
		return p.model, true
	case "routing":
		return st.strategy.String(), true
	case "attempts":
		return st.tries, true
	case "prompt_tokens":
		return st.usage.PromptTokens, true
	case "completion_tokens":
		return st.usage.CompletionTokens, true
	case "cost_usd":
		return p.cost, true
	case "billable":
		return p.billable, true
	case "absorbed_cost_usd":
		return st.absorbedCost, true
	case "ttft_ms":
		return float64(st.ttft) / float64(time.Millisecond), true
	case "outcome":
		return st.outcome, true
	}
	return nil, false
}
