package llmrouter

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/openai"
	"github.com/caddy-llm/llmrouter/internal/preferences"
	"github.com/caddy-llm/llmrouter/selector"
)

// Error codes of routing preferences.
const (
	codeNoVendorMatches    = "no_vendor_matches_routing"
	codeRoutingPrefsForbid = "routing_preferences_forbidden"
)

// readRouting reads the body's routing member: a strategy name, or a
// routing object, whose preferences join prefs.
func (h *LLMRouter) readRouting(p *plan, routing gjson.Result, prefs *preferences.Set) error {
	if routing.Type == gjson.String {
		s, ok := selector.ParseStrategy(routing.Str)
		if !ok {
			return badRequest(codeInvalidRouting, "routing",
				"invalid routing %s: use %s", routing.Raw, selector.StrategyChoices(true))
		}
		p.strategy = s
		return nil
	}
	if !routing.IsObject() {
		return badRequest(codeInvalidRouting, "routing",
			"invalid routing %s: use %s, or a routing object", routing.Raw, selector.StrategyChoices(true))
	}
	if h.clientPrefsOff {
		return badRequest(codeRoutingPrefsForbid, "routing",
			"this router does not accept routing preferences: use %s", selector.StrategyChoices(true))
	}
	body := new(preferences.Prefs)
	if err := preferences.Parse(routing, h.table.knows, body); err != nil {
		pe := err.(*preferences.Error)
		return badRequest(codeInvalidRouting, pe.Param, "invalid %s", pe.Error())
	}
	prefs.Add(preferences.FromBody, body)
	if s, ok := prefs.Sort(); ok {
		p.strategy = s
	}
	return nil
}

// prefsPlan is what a request's routing preferences decided.
type prefsPlan struct {
	// excluded are the vendors they filtered out, with the rule that did
	// it: at planning, and then at failovers, when what the earlier
	// attempts cost leaves no room for a route under max_cost_usd (the one
	// part of the plan that grows after planning).
	excluded []preferences.Exclusion
	maxCost  preferences.Ceiling
	costRule string // the rule that set maxCost
}

// filter keeps the routes that pass prefs, in place, and notes the others
// in p.prefs with the rule that excluded each.
func (h *LLMRouter) filter(p *plan, prefs *preferences.Set, routes []*route, now time.Time) []*route {
	p.prefs = new(prefsPlan)
	p.prefs.maxCost, p.prefs.costRule = prefs.MaxCost()
	kept := routes[:0]
	for _, rt := range routes {
		reason := prefs.Exclude(&rt.match, func() (float64, bool) { return p.worstCost(rt, now) })
		if reason == "" {
			kept = append(kept, rt)
			continue
		}
		p.prefs.excluded = append(p.prefs.excluded, preferences.Exclusion{Vendor: rt.vendor.ID(), Reason: reason})
	}
	return kept
}

// noMatchError is the answer when the preferences left no vendor.
func (p *plan) noMatchError(kept []*route) error {
	if len(kept) > 0 {
		return nil
	}
	return &clientError{status: http.StatusBadRequest, errType: typeInvalidRequest, code: codeNoVendorMatches,
		param: "routing", excluded: p.prefs.excluded,
		message: "no vendor of model " + p.model + " matches the request's routing preferences (see error.excluded)"}
}

// applyPreferences puts the routes the body's order names first, and caps
// the attempts at one when fallbacks are off and no order says which
// vendors may follow.
func (h *LLMRouter) applyPreferences(p *plan, prefs *preferences.Set) {
	if len(prefs.Order()) > 0 {
		preferences.Reorder(prefs, len(p.ranked), func(i int) *preferences.Vendor { return &p.ranked[i].match },
			func(i, j int) {
				p.ranked[i], p.ranked[j] = p.ranked[j], p.ranked[i]
				if len(p.scores) == len(p.ranked) {
					p.scores[i], p.scores[j] = p.scores[j], p.scores[i]
				}
			})
	} else if !prefs.AllowFallbacks() {
		p.maxTries = 1
	}
}

// worstCost is the highest cost to expect from rt for this request, in
// USD: the prompt and the client's max_tokens, or without it how long
// the route's answers get (highCompletion), at rt's prices. False for an
// unpriced route.
func (p *plan) worstCost(rt *route, now time.Time) (float64, bool) {
	if !rt.price.Known {
		return 0, false
	}
	completion := p.maxTokens
	if completion <= 0 {
		completion = highCompletion(rt, p.bucket, now)
	}
	return billing.Cost(billing.Usage{PromptTokens: max(p.promptTokens, 0), CompletionTokens: completion}, rt.price), true
}

// withinCost reports whether trying rt next keeps the request under its
// max_cost_usd: what the earlier attempts cost, which the vendors
// reported, plus rt's worst case. It is checked again at every failover
// and before a hedge, since the ceiling bounds what the request spends in
// all its attempts.
func (st *requestState) withinCost(rt *route, extra float64, now time.Time) bool {
	p := &st.plan
	if p.prefs == nil || !p.prefs.maxCost.Set {
		return true
	}
	cost, ok := p.worstCost(rt, now)
	return ok && st.result.absorbedCost+extra+cost <= p.prefs.maxCost.USD
}

// writeExcludedError answers a clientError that lists exclusions, in
// error.excluded and X-LLM-Excluded.
func (s *surface) writeExcludedError(w http.ResponseWriter, ce *clientError) error {
	list, err := json.Marshal(ce.excluded)
	if err != nil {
		return err
	}
	w.Header()[headerExcluded] = []string{preferences.Header(ce.excluded)}
	return writeErrorBody(w, ce.status, s.appendError(nil,
		openai.Error{Message: ce.message, Type: ce.errType, Param: ce.param, Code: ce.code},
		append([]byte(`"excluded":`), list...)))
}
