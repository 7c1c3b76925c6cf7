package selector

import (
	"time"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// tier is a route's health class, the first thing Rank orders by.
type tier uint8

const (
	tierClean    tier = iota // closed breaker, no failures since the last success
	tierFailing              // closed breaker, some failures below the threshold
	tierHalfOpen             // half-open breaker
	tierOpen                 // open breaker
)

// score is what Rank compares candidates by: the route's Reading, read
// once per Rank call so that sorting takes no locks, and what follows from
// it for the request.
type score struct {
	// The fields sorting compares most come first, so that they share a
	// cache line.
	tier    tier
	priced  bool
	latency float64 // predicted ms; valid if Measured
	cost    float64 // expected USD; valid if priced
	Reading
}

// read fills sc from r (nil: a healthy route without data) for a prompt in
// bucket, with the time to first token strat ranks by, and adds r's
// completion history to pool. The route writes into sc itself: a Reading
// returned by value is copied twice on its way into the score, which
// measurably slowed ranking down.
func (sc *score) read(strat Strategy, bucket int, r Route, now time.Time, demotion time.Duration, pool *decayingMean) {
	*sc = score{}
	if r == nil {
		return
	}
	r.ReadInto(&sc.Reading, bucket, strategyOf(strat).ttft, now, demotion)
	switch {
	case sc.Breaker == Open:
		sc.tier = tierOpen
	case sc.Breaker == HalfOpen:
		sc.tier = tierHalfOpen
	case sc.Demoted:
		sc.tier = tierFailing
	}
	// Each route's mean is decayed to its own latest sample rather than to
	// now; the difference is small next to what pooling gains in samples.
	pool.sum += sc.Completion.Sum
	pool.weight += sc.Completion.Weight
	pool.n += sc.Completion.Samples
}

// predict completes sc with the predicted latency and cost of req on a
// route priced p, given the completion sizes to expect.
func (sc *score) predict(req Request, p billing.Pricing, latencyTokens, costTokens float64) {
	sc.latency = sc.TTFT
	if !req.Stream && sc.Decodes {
		// A non-streaming client waits for the last token too.
		sc.latency += latencyTokens * sc.PerToken
	}
	if sc.priced = p.Known; sc.priced {
		// The cost is needed by every strategy: Perf and PerfAvg order
		// unmeasured routes by it.
		sc.cost = expectedCost(p, max(req.PromptTokens, 0), costTokens)
	}
}

// compareScores returns -1 if a ranks before b for req under st, +1 if
// after, and 0 if only their original order can tell them apart. The health
// tiers come first, whatever the strategy; within a tier st decides.
func compareScores(st *strategyDef, req *Request, a, b *score) int {
	if a.tier != b.tier {
		if a.tier < b.tier {
			return -1
		}
		return 1
	}
	if a.tier == tierOpen {
		if c := a.OpenUntil.Compare(b.OpenUntil); c != 0 {
			return c
		}
	}
	if req.PreferredMaxTTFT > 0 {
		// A route with no measurement is not known to be slow.
		slowA := a.Measured && a.TTFT > req.PreferredMaxTTFT
		slowB := b.Measured && b.TTFT > req.PreferredMaxTTFT
		if slowA != slowB {
			if slowB {
				return -1
			}
			return 1
		}
	}
	return st.order(req, a, b)
}

// comparePrice orders by expected cost, routes without a price last.
func comparePrice(a, b *score) int {
	if a.priced != b.priced {
		if a.priced {
			return -1
		}
		return 1
	}
	if !a.priced {
		return 0
	}
	return compareCost(a.cost, b.cost)
}

// explain is the public view of sc.
func (sc *score) explain() Score {
	out := Score{Tier: tierNames[sc.tier], PredictedMS: -1, ExpectedCostUSD: -1}
	if sc.Measured {
		out.PredictedMS = sc.latency
	}
	if sc.priced {
		out.ExpectedCostUSD = sc.cost
	}
	return out
}
