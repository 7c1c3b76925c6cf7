package llmrouter

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-llm/llmrouter/internal/meter"
	"github.com/caddy-llm/llmrouter/selector"
)

// Request outcomes, as metrics labels and log values.
const (
	outcomeSuccess     = "success"      // a complete answer with completion tokens: billable
	outcomeVendorError = "vendor_error" // every vendor failed
	outcomeClientError = "client_error" // a vendor refused the request itself (400, 422...), returned as is
	outcomeInterrupted = "interrupted"  // the answer broke after it started streaming
	outcomeCanceled    = "canceled"     // the client went away
)

// DefaultLedgerKey is the placeholder whose value names the client in the
// spend ledger: the user an authentication handler identified.
const DefaultLedgerKey = "{http.auth.user.id}"

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

// clientIdentity names the client in the ledger: the configured placeholder
// (by default the authenticated user), else a hash of the client's bearer
// token or API key, never the token itself, else "anonymous".
func (h *LLMRouter) clientIdentity(r *http.Request) string {
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		var id string
		if name, single := singlePlaceholder(h.ledgerKey); single {
			// The usual case ({http.auth.user.id}): a lookup, without
			// parsing the template on every request.
			id, _ = repl.GetString(name)
		} else {
			id = repl.ReplaceAll(h.ledgerKey, "")
		}
		if id = strings.TrimSpace(id); id != "" {
			return id
		}
	}
	token := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(token, "Bearer "); ok {
		token = t
	}
	for _, name := range []string{"Api-Key", "X-Api-Key"} {
		if token == "" {
			token = r.Header.Get(name)
		}
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "anonymous"
	}
	sum := sha256.Sum256([]byte(token))
	return "key:" + hex.EncodeToString(sum[:8])
}

// singlePlaceholder reports whether template is exactly one placeholder,
// "{name}", and returns its name.
func singlePlaceholder(template string) (string, bool) {
	if len(template) < 3 || template[0] != '{' || template[len(template)-1] != '}' {
		return "", false
	}
	name := template[1 : len(template)-1]
	if strings.ContainsAny(name, "{}:\\") {
		return "", false
	}
	return name, true
}

// decisionLog renders the ranking a request got: each candidate in order with
// its health tier, predicted latency and expected cost.
type decisionLog struct {
	st *requestState
}

func (d decisionLog) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddBool("explored", d.st.explored)
	return enc.AddArray("candidates", zapcore.ArrayMarshalerFunc(func(arr zapcore.ArrayEncoder) error {
		for i, rt := range d.st.ranked {
			var sc selector.Score
			if i < len(d.st.scores) {
				sc = d.st.scores[i]
			}
			_ = arr.AppendObject(zapcore.ObjectMarshalerFunc(func(o zapcore.ObjectEncoder) error {
				o.AddString("vendor", rt.vendor.ID())
				o.AddString("tier", sc.Tier)
				o.AddFloat64("predicted_ms", sc.PredictedMS)
				o.AddFloat64("expected_cost_usd", sc.ExpectedCostUSD)
				return nil
			}))
		}
		return nil
	}))
}

type attemptsLog []attemptRecord

func (a attemptsLog) MarshalLogArray(arr zapcore.ArrayEncoder) error {
	for _, rec := range a {
		_ = arr.AppendObject(zapcore.ObjectMarshalerFunc(func(o zapcore.ObjectEncoder) error {
			o.AddString("vendor", rec.Vendor)
			o.AddInt("status", rec.Status)
			o.AddString("reason", rec.Reason)
			return nil
		}))
	}
	return nil
}
