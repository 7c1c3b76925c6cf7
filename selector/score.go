package selector

import "time"

// tier is a route's health class, the first thing Rank orders by.
type tier uint8

const (
	tierClean    tier = iota // closed breaker, no failures since the last success
	tierFailing              // closed breaker, some failures below the threshold
	tierHalfOpen             // half-open breaker
	tierOpen                 // open breaker
)

// score is what Rank compares candidates by, read from a candidate once per
// Rank call so that sorting takes no locks.
type score struct {
	openUntil  time.Time // tierOpen: when the cooldown ends
	lastSample time.Time // newest success; zero if none
	ttft       float64   // ms for the strategy; valid if measured
	perToken   float64   // decode ms per token; valid if decodes
	latency    float64   // predicted ms; valid if measured
	cost       float64   // expected USD; valid if priced
	tier       tier
	measured   bool
	decodes    bool
	priced     bool
	probeFree  bool // half-open with no probe in flight
}

// read fills sc from r (nil: a healthy route without data) for a prompt in
// bucket, and adds r's completion history to pool. It fills sc in place
// because Rank keeps scores in a stack array and copying them out of a
// return value measurably slowed ranking down.
func (sc *score) read(strat Strategy, bucket int, r *RouteStats, now time.Time, demotion time.Duration, pool *decayingMean) {
	*sc = score{}
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch st := r.breaker.state(now); {
	case st == Open:
		sc.tier = tierOpen
		sc.openUntil = r.breaker.openUntil
	case st == HalfOpen:
		sc.tier = tierHalfOpen
		sc.probeFree = r.breaker.probeFree(now)
	case r.breaker.demoted(now, demotion):
		sc.tier = tierFailing
	}
	if strat == PerfAvg {
		sc.ttft, sc.measured = r.averageTTFT()
	} else {
		// Perf, and Price whose ties go to Perf.
		sc.ttft, sc.measured = r.bucketTTFT(bucket)
	}
	sc.perToken, sc.decodes = r.decode.mean()
	sc.lastSample = r.lastSample
	// Each route's mean is decayed to its own latest sample rather than to
	// now; the difference is small next to what pooling gains in samples.
	pool.sum += r.completion.sum
	pool.weight += r.completion.weight
	pool.n += r.completion.n
}

// predict completes sc with the predicted latency and cost of req on a
// route priced p, given the completion sizes to expect.
func (sc *score) predict(req Request, p Pricing, latencyTokens, costTokens float64) {
	sc.latency = sc.ttft
	if !req.Stream && sc.decodes {
		// A non-streaming client waits for the last token too.
		sc.latency += latencyTokens * sc.perToken
	}
	if sc.priced = p.Known; sc.priced {
		// The cost is needed by every strategy: Perf and PerfAvg order
		// unmeasured routes by it.
		sc.cost = p.expectedCost(max(req.PromptTokens, 0), costTokens)
	}
}

// compareScores returns -1 if a ranks before b under strat, +1 if after, and
// 0 if only their original order can tell them apart.
func compareScores(strat Strategy, a, b *score) int {
	if a.tier != b.tier {
		if a.tier < b.tier {
			return -1
		}
		return 1
	}
	if a.tier == tierOpen {
		if c := a.openUntil.Compare(b.openUntil); c != 0 {
			return c
		}
	}
	if strat == Price {
		if c := comparePrice(a, b); c != 0 {
			return c
		}
	}
	return comparePerf(a, b)
}

// comparePerf orders by predicted latency, unmeasured routes first so that
// every route gets measured once before the fastest one takes over. Among
// unmeasured routes the cheaper goes first, so exploring costs less.
func comparePerf(a, b *score) int {
	if a.measured != b.measured {
		if !a.measured {
			return -1
		}
		return 1
	}
	if !a.measured {
		return comparePrice(a, b)
	}
	switch {
	case a.latency < b.latency:
		return -1
	case a.latency > b.latency:
		return 1
	}
	return 0
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
