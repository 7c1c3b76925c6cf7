package llmrouter

import (
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-llm/llmrouter/internal/preferences"
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
	maxTokens        int  // the client's max_completion_tokens or max_tokens; 0 when unset
	tokenCapAdded    bool // body's completion cap is the router's (limits.go, withMaxTokens)
	bucket           int  // the prompt's size bucket
	strategy         selector.Strategy
	sreq             selector.Request
	maxTries         int // attempts allowed, the first included; 0 = no cap
	ttftTimeout      time.Duration

	prefs *prefsPlan // routingprefs.go; nil when the request has no preferences
	hedge hedgePlan  // hedge.go; zero when the request is not hedged

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

		clientWantsUsage: fields.includeUsage,
		strategy:         h.routing,
		maxTries:         h.maxTries,
		ttftTimeout:      time.Duration(h.TTFTTimeout),
	}}
	p := &st.plan
	var prefs preferences.Set
	if h.policy != nil {
		prefs.Add(preferences.FromPolicy, h.policy)
	}
	if routing.Exists() {
		if err := h.readRouting(p, routing, &prefs); err != nil {
			return nil, err
		}
		p.body, p.layout = fields.withoutRouting(body)
	}
	var responseOf *vendors.Vendor
	if op == opResponses {
		var err error
		if responseOf, err = h.responsesPin(p.body); err != nil {
			return nil, err
		}
	}

	maxTokens := int(fields.maxCompletionTokens.Int())
	if maxTokens <= 0 {
		maxTokens = int(fields.maxTokens.Int())
	}
	p.promptTokens = fields.estimate.Tokens()
	p.bucket = selector.BucketOf(p.promptTokens)
	p.maxTokens = maxTokens

	candidates, pinned, err := h.candidates(r, p, responseOf, &prefs, now)
	if err != nil {
		return nil, err
	}

	p.sreq = selector.Request{Strategy: p.strategy, PromptTokens: p.promptTokens, MaxTokens: maxTokens,
		Stream: p.stream, Pinned: pinned}
	if !prefs.Empty() {
		p.sreq.Pinned = pinned || !prefs.AllowFallbacks()
		p.sreq.PreferredMaxTTFT = float64(prefs.PreferredMaxTTFT()) / float64(time.Millisecond)
	}
	if h.logger.Core().Enabled(zapcore.InfoLevel) {
		// The decision, for the routed line (at INFO when a vendor fails).
		p.scores = p.scoreBuf[:0]
		if len(candidates) > len(p.scoreBuf) {
			p.scores = make([]selector.Score, 0, len(candidates))
		}
		p.scores = p.scores[:len(candidates)]
	}
	p.ranked, p.explored = h.rank(p.sreq, candidates, now, p.rankedBuf[:0], p.scores)
	if !prefs.Empty() {
		h.applyPreferences(p, &prefs)
	}
	if op == opResponses {
		preferNative(p)
	}
	h.planHedge(p, now)
	return st, nil
}

// candidates returns the routes that serve the requested model for the
// endpoint and pass the request's preferences (prefs: the policy and the
// routing object so far; the vendor header's pin is added here). It tells
// whether the header pinned a vendor.
//
// responseOf, when not nil, is the vendor a Responses previous_response_id
// names: the request is pinned to it as by the header.
func (h *LLMRouter) candidates(r *http.Request, p *plan, responseOf *vendors.Vendor, prefs *preferences.Set, now time.Time) (routes []*route, pinned bool, err error) {
	pin := strings.TrimSpace(headerValue(r.Header, h.vendorKey()))
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
	if responseOf != nil {
		if pinnedVendor != nil && pinnedVendor != responseOf {
			return nil, false, badRequest(codeInvalidVendor, "",
				"the %s header pins vendor %q, but previous_response_id names a response of vendor %q",
				h.VendorHeader, pinnedVendor.ID(), responseOf.ID())
		}
		pinnedVendor = responseOf
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
	pinServes := false
	for _, rt := range all {
		if !rt.vendor.Supports(p.endpoint) {
			continue
		}
		pinServes = pinServes || rt.vendor == pinnedVendor
		routes = append(routes, rt)
	}
	if p.endpoint == vendors.CountTokens && (len(routes) == 0 || pinnedVendor != nil && !pinServes) {
		// The router estimates what no vendor (or not the pinned one) counts.
		return routes[:0], pinnedVendor != nil, nil
	}
	if pinnedVendor != nil && !pinServes {
		return nil, true, notFound("model", "the model %q is not served by vendor %q for /%s",
			p.model, pinnedVendor.ID(), p.endpoint)
	}
	if len(routes) == 0 {
		return nil, false, notFound("model", "the model %q is not available for /%s", p.model, p.endpoint)
	}
	if pinnedVendor != nil {
		// {"only": [vendor], "allow_fallbacks": false}
		pinPrefs := preferences.Pin(pinnedVendor.ID())
		prefs.Add(preferences.FromHeader, &pinPrefs)
	}
	if prefs.Empty() {
		return routes, false, nil
	}
	kept := h.filter(p, prefs, routes, now)
	return kept, pinnedVendor != nil, p.noMatchError(kept)
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
