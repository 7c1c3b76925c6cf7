package llmrouter

import (
	"fmt"
	"math"
	"strings"

	"github.com/caddy-llm/llmrouter/internal/preferences"
	"github.com/caddy-llm/llmrouter/vendors"
)

// RoutingPolicy is the operator's bounds on where requests may go. Clients
// can only narrow them: a request's `routing` object and `vendor` header
// combine with the policy by intersection (a vendor must pass all three;
// the lowest ceiling applies).
type RoutingPolicy struct {
	// Only these vendors serve requests: vendor ids, `kind:<kind>` or
	// `tag:<tag>`.
	Only []string `json:"only,omitempty"`

	// These vendors never serve requests (same forms as Only).
	Ignore []string `json:"ignore,omitempty"`

	// The highest configured prices a vendor may have, USD per 1M tokens.
	// A vendor without a configured price does not pass a price ceiling.
	MaxPrice *MaxPrice `json:"max_price,omitempty"`

	// The highest worst-case estimated cost of one request, in USD.
	MaxCostUSD float64 `json:"max_cost_usd,omitempty"`

	// Whether clients may send a `routing` object. Default: true. With
	// false, a request with one gets a 400 `routing_preferences_forbidden`
	// (the plain strategy names stay allowed).
	ClientPreferences *bool `json:"client_preferences,omitempty"`
}

// MaxPrice is a ceiling on configured prices, USD per 1M tokens.
type MaxPrice struct {
	Prompt     *float64 `json:"prompt,omitempty"`
	Completion *float64 `json:"completion,omitempty"`
}

// compilePolicy checks the policy against the route table and returns it
// as preferences; nil when there is none.
func compilePolicy(rp *RoutingPolicy, table *routeTable) (*preferences.Prefs, error) {
	if rp == nil {
		return nil, nil
	}
	p := new(preferences.Prefs)
	var err error
	if p.Only, err = compileMatches("only", rp.Only, table); err != nil {
		return nil, err
	}
	p.HasOnly = rp.Only != nil
	if p.Ignore, err = compileMatches("ignore", rp.Ignore, table); err != nil {
		return nil, err
	}
	if mp := rp.MaxPrice; mp != nil {
		for _, c := range []struct {
			name  string
			value *float64
			dst   *preferences.Ceiling
		}{{"prompt", mp.Prompt, &p.MaxPrompt}, {"completion", mp.Completion, &p.MaxCompletion}} {
			if c.value == nil {
				continue
			}
			if *c.value < 0 || math.IsNaN(*c.value) || math.IsInf(*c.value, 0) {
				return nil, fmt.Errorf("max_price %s: must be a number of 0 or more, got %g", c.name, *c.value)
			}
			*c.dst = preferences.Ceiling{USD: *c.value, Set: true}
		}
	}
	if rp.MaxCostUSD < 0 || math.IsNaN(rp.MaxCostUSD) || math.IsInf(rp.MaxCostUSD, 0) {
		return nil, fmt.Errorf("max_cost_usd: must be a number above 0, got %g", rp.MaxCostUSD)
	}
	if rp.MaxCostUSD > 0 {
		p.MaxCost = preferences.Ceiling{USD: rp.MaxCostUSD, Set: true}
	}
	return p, nil
}

// compileMatches reads a policy list; unknown vendor ids and kinds are
// config errors.
func compileMatches(name string, entries []string, table *routeTable) ([]preferences.Match, error) {
	out := make([]preferences.Match, 0, len(entries))
	for _, e := range entries {
		m, ok := preferences.ParseMatch(e)
		if !ok {
			return nil, fmt.Errorf("%s: empty entry %q", name, e)
		}
		if !table.knows(m) {
			return nil, fmt.Errorf("%s: %q names no configured vendor or known kind", name, e)
		}
		out = append(out, m)
	}
	return out, nil
}

// knows reports whether a match names something that can exist: a
// configured vendor id, or a vendor kind. Tags are free.
func (t *routeTable) knows(m preferences.Match) bool {
	switch m.Field {
	case preferences.MatchID:
		_, ok := t.vendor(m.Value)
		return ok
	case preferences.MatchKind:
		return vendors.IsKind(m.Value)
	}
	return true
}

// validTag reports whether a vendor tag can be named in a list.
func validTag(tag string) bool {
	return tag != "" && !strings.ContainsAny(tag, " \t\r\n,=")
}
