package preferences

import (
	"strings"
	"time"

	"github.com/caddy-llm/llmrouter/selector"
)

// Set is the preferences that apply to one request, from up to three
// sources, combined by intersection: a vendor is kept only if every source
// keeps it; ceilings take the lowest; fallbacks are allowed only if every
// source allows them. The sort, the order and the preferred TTFT are the
// client's (the body's). The zero Set says nothing; it is a value that
// lives on the caller's stack.
type Set struct {
	layers [3]*Prefs // by Source; nil for none
}

// Add sets the preferences from src; p must outlive the Set.
func (s *Set) Add(src Source, p *Prefs) { s.layers[src] = p }

// Empty reports whether no source said anything.
func (s *Set) Empty() bool {
	return s.layers[FromPolicy] == nil && s.layers[FromHeader] == nil && s.layers[FromBody] == nil
}

// Has reports whether src said something.
func (s *Set) Has(src Source) bool { return s.layers[src] != nil }

// Sort returns the strategy the body asked for.
func (s *Set) Sort() (selector.Strategy, bool) {
	if b := s.layers[FromBody]; b != nil && b.HasSort {
		return b.Sort, true
	}
	return 0, false
}

// Order returns the order the body asked for.
func (s *Set) Order() []Match {
	if b := s.layers[FromBody]; b != nil {
		return b.Order
	}
	return nil
}

// PreferredMaxTTFT returns the body's preferred largest time to first token.
func (s *Set) PreferredMaxTTFT() time.Duration {
	if b := s.layers[FromBody]; b != nil {
		return b.PreferredMaxTTFT
	}
	return 0
}

// AllowFallbacks reports whether the request may move past the vendors it
// prefers: false if any source says so.
func (s *Set) AllowFallbacks() bool {
	for _, p := range s.layers {
		if p != nil && p.NoFallbacks {
			return false
		}
	}
	return true
}

// MaxCost returns the lowest max_cost_usd of the sources, and the rule
// that set it.
func (s *Set) MaxCost() (Ceiling, string) {
	var c Ceiling
	rule := ""
	for src, p := range s.layers {
		if p != nil && p.MaxCost.Set && (!c.Set || p.MaxCost.USD < c.USD) {
			c, rule = p.MaxCost, Source(src).prefix()+"max_cost_usd"
		}
	}
	return c, rule
}

// Exclusion is a vendor a request's preferences filtered out, and the rule
// that did it (such as "routing.ignore", "routing_policy.max_price" or
// "vendor_header").
type Exclusion struct {
	Vendor string `json:"vendor"`
	Reason string `json:"reason"`
}

// Exclude returns the rule that filters v out, or "" when every source
// keeps it. worstCost is the route's worst-case cost in USD for this request
// (false: unknown, as for an unpriced route); it is called only when some
// source sets max_cost_usd. The sources are checked operator first, then
// the header, then the body, and within one, only, ignore, order (when
// fallbacks are not allowed), max_price, max_cost_usd.
func (s *Set) Exclude(v *Vendor, worstCost func() (float64, bool)) string {
	closed := !s.AllowFallbacks()
	for src, p := range s.layers {
		if p == nil {
			continue
		}
		source := Source(src)
		if source == FromHeader {
			if !matchesAny(p.Only, v) {
				return source.prefix()
			}
			continue
		}
		switch {
		case p.HasOnly && !matchesAny(p.Only, v):
			return source.prefix() + "only"
		case matchesAny(p.Ignore, v):
			return source.prefix() + "ignore"
		case closed && len(p.Order) > 0 && !matchesAny(p.Order, v):
			return source.prefix() + "order"
		case !within(p.MaxPrompt, v.Price.Known, v.Price.Input) ||
			!within(p.MaxCompletion, v.Price.Known, v.Price.Output):
			return source.prefix() + "max_price"
		}
		if p.MaxCost.Set {
			cost, known := worstCost()
			if !known || cost > p.MaxCost.USD {
				return source.prefix() + "max_cost_usd"
			}
		}
	}
	return ""
}

// within reports whether a price is under a ceiling; an unknown price is
// not (it cannot be shown to be).
func within(c Ceiling, known bool, price float64) bool {
	return !c.Set || (known && price <= c.USD)
}

// OrderIndex returns where v stands in the body's order: its index, or
// len(order) when the order does not name it.
func (s *Set) OrderIndex(v *Vendor) int {
	order := s.Order()
	for i, m := range order {
		if m.Matches(v) {
			return i
		}
	}
	return len(order)
}

// Reorder moves the routes the body's order names to the front, in that
// order, keeping the ranking among routes the order puts alike (a tag
// naming several vendors, or the unnamed rest). It sorts n items through
// vendor (item i's Vendor) and swap, stably and without allocating.
func Reorder(s *Set, n int, vendor func(i int) *Vendor, swap func(i, j int)) {
	if len(s.Order()) == 0 {
		return
	}
	// Insertion sort by adjacent swaps: stable, and lists are short.
	for i := 1; i < n; i++ {
		for j := i; j > 0 && s.OrderIndex(vendor(j)) < s.OrderIndex(vendor(j-1)); j-- {
			swap(j, j-1)
		}
	}
}

// Header renders exclusions for the X-LLM-Excluded response header:
// `vendor=reason` pairs, comma-separated.
func Header(excluded []Exclusion) string {
	var b strings.Builder
	for i, e := range excluded {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.Vendor)
		b.WriteByte('=')
		b.WriteString(e.Reason)
	}
	return b.String()
}
