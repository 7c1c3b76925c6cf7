package llmrouter

import (
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// autoVendor is the vendor header value that lets the router choose.
const autoVendor = "auto"

// plan is what the router decided about a request before contacting any
// vendor: what the client asked for, and the routes to try, best first.
type plan struct {
	endpoint         vendors.Endpoint
	model            string         // the configuration's copy of the name (see candidates)
	body             []byte         // the client's body without router-only fields; never modified
	layout           vendors.Layout // where body's model and stream_options are
	stream           bool
	clientWantsUsage bool // stream_options.include_usage
	promptTokens     int  // estimated
	bucket           int  // the prompt's size bucket
	strategy         selector.Strategy
	sreq             selector.Request
	maxTries         int // attempts allowed, the first included; 0 = no cap
	ttftTimeout      time.Duration

	ranked   []*route         // best first
	explored bool             // ranked[0] is there to explore it
	scores   []selector.Score // how the ranking saw ranked; only when the decision is logged

	// Buffers for the candidates, their ranking and its explanation, so
	// that a model with a few vendors costs no allocation for them.
	routeBuf, rankedBuf [4]*route
	scoreBuf            [4]selector.Score
}

// inspect validates a completion request and ranks the routes that can serve
// it. It answers with a *clientError for anything the client must fix.
func (h *LLMRouter) inspect(r *http.Request, op operation, body []byte, now time.Time) (*requestState, error) {
	var fields topLevel
	if err := readTopLevel(&fields, body); err != nil {
		return nil, badRequest(codeInvalidJSON, "", "the request body must be a JSON object: %v", err)
	}
	model, routing, stream := fields.model, fields.routing, fields.stream
	if model.Type != gjson.String || model.Str == "" {
		return nil, badRequest(codeMissingModel, "model", "you must provide a model parameter")
	}

	st := &requestState{plan: plan{
		endpoint: op.endpoint(),
		model:    model.Str,
		body:     body,
		layout:   fields.layout,
		stream:   stream.Type == gjson.True,

		clientWantsUsage: fields.includeUsage.Type == gjson.True,
		strategy:         h.routing,
		maxTries:         h.maxTries,
		ttftTimeout:      time.Duration(h.TTFTTimeout),
	}}
	p := &st.plan
	if routing.Exists() {
		s, ok := selector.Strategy(0), false
		if routing.Type == gjson.String {
			s, ok = selector.ParseStrategy(routing.Str)
		}
		if !ok {
			return nil, badRequest(codeInvalidRouting, "routing",
				"invalid routing %s: use %s", routing.Raw, selector.StrategyChoices(true))
		}
		p.strategy = s
		p.body, p.layout = fields.withoutRouting(body)
	}

	candidates, pinned, err := h.candidates(r, p)
	if err != nil {
		return nil, err
	}

	maxTokens := int(fields.maxCompletionTokens.Int())
	if maxTokens <= 0 {
		maxTokens = int(fields.maxTokens.Int())
	}
	p.promptTokens = fields.estimate.Tokens()
	p.bucket = selector.BucketOf(p.promptTokens)
	p.sreq = selector.Request{Strategy: p.strategy, PromptTokens: p.promptTokens, MaxTokens: maxTokens,
		Stream: p.stream, Pinned: pinned}
	if h.logger.Core().Enabled(zapcore.InfoLevel) {
		// The decision, for the routed line (at INFO when a vendor fails).
		p.scores = p.scoreBuf[:0]
		if len(candidates) > len(p.scoreBuf) {
			p.scores = make([]selector.Score, 0, len(candidates))
		}
		p.scores = p.scores[:len(candidates)]
	}
	p.ranked, p.explored = h.rank(p.sreq, candidates, now, p.rankedBuf[:0], p.scores)
	return st, nil
}

// candidates returns the routes that serve the requested model, restricted to
// the pinned vendor when the vendor header names one.
func (h *LLMRouter) candidates(r *http.Request, p *plan) (routes []*route, pinned bool, err error) {
	pin := strings.TrimSpace(r.Header.Get(h.VendorHeader))
	var pinnedVendor *vendors.Vendor
	if pin != "" && !strings.EqualFold(pin, autoVendor) {
		v, ok := h.table.vendor(pin)
		if !ok {
			return nil, false, badRequest(codeInvalidVendor, "",
				"unknown vendor %q in the %s header: use %q or one of: %s",
				pin, h.VendorHeader, autoVendor, strings.Join(h.table.vendorIDs(), ", "))
		}
		pinnedVendor = v
	}

	all, ok := h.table.byModel[p.model]
	if !ok {
		return nil, false, notFound("model", "the model %q does not exist or is not served by this router", p.model)
	}
	// The configuration's copy of the name: the client's is a view of the
	// pooled body buffer, which outlives neither the request nor reuse
	// (metrics keep label values for good).
	p.model = all[0].model
	routes = p.routeBuf[:0]
	if len(all) > len(p.routeBuf) {
		routes = make([]*route, 0, len(all))
	}
	for _, rt := range all {
		if pinnedVendor != nil && rt.vendor != pinnedVendor {
			continue
		}
		if !rt.vendor.Supports(p.endpoint) {
			continue
		}
		routes = append(routes, rt)
	}
	if len(routes) == 0 && p.endpoint == vendors.CountTokens {
		// The router estimates what no vendor counts.
		return routes, pinnedVendor != nil, nil
	}
	if len(routes) == 0 {
		if pinnedVendor != nil {
			return nil, true, notFound("model", "the model %q is not served by vendor %q for /%s",
				p.model, pinnedVendor.ID(), p.endpoint)
		}
		return nil, false, notFound("model", "the model %q is not available for /%s", p.model, p.endpoint)
	}
	return routes, pinnedVendor != nil, nil
}

// rank orders routes for this request, best first, appending them to dst,
// and tells whether the first one is there to explore it. Unless explain is
// nil, it also gets the score of each route, in ranked order.
func (h *LLMRouter) rank(req selector.Request, routes []*route, now time.Time, dst []*route, explain []selector.Score) ([]*route, bool) {
	const stackSize = 16
	var candBuf [stackSize]selector.Candidate
	var orderBuf [stackSize]int
	cands, order := candBuf[:0], orderBuf[:0]
	if len(routes) > stackSize {
		cands, order = make([]selector.Candidate, 0, len(routes)), make([]int, 0, len(routes))
	}
	for _, rt := range routes {
		cands = append(cands, selector.Candidate{Stats: rt.stats, Price: rt.price})
		order = append(order, 0)
	}
	explored := h.selector.RankExplained(req, cands, order, explain, now)
	for _, idx := range order {
		dst = append(dst, routes[idx])
	}
	return dst, explored
}
