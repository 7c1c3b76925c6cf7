// Package preferences is what a request may say about where it goes, beyond
// a ranking strategy: the `routing` object of a request body, the `vendor`
// header's pin and the operator's `routing_policy`, each a [Prefs], and how
// they combine ([Set]): by intersection, so that a client can only narrow
// what the operator allows, and the header and the body only narrow each
// other.
//
// It is pure Go: parsing and validating the routing object, matching
// vendors by id, kind and tag, the price and cost ceilings, and the order a
// client asks for. The caller supplies what it knows of each vendor
// ([Vendor]) and, for max_cost_usd, each route's worst-case cost.
package preferences

import (
	"strings"
	"time"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/selector"
)

// Vendor is what matching and the ceilings know of one route's vendor.
type Vendor struct {
	ID, Kind string
	Tags     []string
	// Price is the route's configured price (USD per million tokens).
	Price billing.Pricing
}

// MatchField is what a Match compares.
type MatchField uint8

const (
	MatchID   MatchField = iota // the vendor id, case-insensitively
	MatchKind                   // "kind:<kind>"
	MatchTag                    // "tag:<tag>"
)

// Match is one entry of `only`, `ignore` or `order`: a vendor id,
// `kind:<kind>` or `tag:<tag>`.
type Match struct {
	Field MatchField
	Value string
}

// ParseMatch reads one entry as written: `kind:` and `tag:` prefixes, else
// a vendor id. It reports false for an empty value.
func ParseMatch(s string) (Match, bool) {
	m := Match{Field: MatchID, Value: s}
	if v, ok := strings.CutPrefix(s, "kind:"); ok {
		m = Match{Field: MatchKind, Value: v}
	} else if v, ok := strings.CutPrefix(s, "tag:"); ok {
		m = Match{Field: MatchTag, Value: v}
	}
	return m, m.Value != ""
}

// String returns the entry as written.
func (m Match) String() string {
	switch m.Field {
	case MatchKind:
		return "kind:" + m.Value
	case MatchTag:
		return "tag:" + m.Value
	}
	return m.Value
}

// Matches reports whether v is what m names.
func (m Match) Matches(v *Vendor) bool {
	switch m.Field {
	case MatchKind:
		return v.Kind == m.Value
	case MatchTag:
		for _, t := range v.Tags {
			if t == m.Value {
				return true
			}
		}
		return false
	}
	return strings.EqualFold(v.ID, m.Value)
}

func matchesAny(ms []Match, v *Vendor) bool {
	for _, m := range ms {
		if m.Matches(v) {
			return true
		}
	}
	return false
}

// Ceiling is an upper bound in USD; Set reports whether there is one.
type Ceiling struct {
	USD float64
	Set bool
}

// Prefs is one source's preferences. The zero Prefs says nothing.
type Prefs struct {
	// Sort is the ranking strategy, when HasSort.
	Sort    selector.Strategy
	HasSort bool
	// Order is tried first, in this order: soft while fallbacks are
	// allowed, the closed set of vendors when they are not.
	Order []Match
	// Only, when HasOnly, keeps only the vendors it names.
	Only    []Match
	HasOnly bool
	// Ignore drops the vendors it names.
	Ignore []Match
	// NoFallbacks is `allow_fallbacks: false`.
	NoFallbacks bool
	// MaxPrompt and MaxCompletion are ceilings on the configured prices,
	// USD per million tokens.
	MaxPrompt, MaxCompletion Ceiling
	// MaxCost bounds the request's worst-case estimated cost.
	MaxCost Ceiling
	// PreferredMaxTTFT pushes routes predicted slower than it down the
	// ranking (never out); 0 for none.
	PreferredMaxTTFT time.Duration
}

// Source is where a Prefs came from; it names the rule in reasons.
type Source uint8

const (
	FromPolicy Source = iota // the operator's routing_policy
	FromHeader               // the vendor header's pin
	FromBody                 // the request's routing object
)

// prefix is what a reason starts with for a rule of this source.
func (s Source) prefix() string {
	switch s {
	case FromPolicy:
		return "routing_policy."
	case FromHeader:
		return "vendor_header"
	}
	return "routing."
}

// Pin is the vendor header's meaning: {"only": [id], "allow_fallbacks": false}.
func Pin(id string) Prefs {
	return Prefs{Only: []Match{{Field: MatchID, Value: id}}, HasOnly: true, NoFallbacks: true}
}
