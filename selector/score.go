package selector

import "time"

// score is what Rank compares candidates by, read from a candidate once per
// Rank call so that sorting takes no locks.
type score struct {
	cooldownUntil time.Time
	latency       float64 // predicted ms for the strategy; valid if measured
	cost          float64 // expected USD; valid if priced
	healthy       bool
	measured      bool
	priced        bool
}

// set computes the score of c for req, whose prompt falls in bucket. It
// fills sc in place because Rank keeps scores in a stack array and copying
// them out of a return value measurably slowed ranking down.
func (sc *score) set(req Request, bucket int, c *Candidate, now time.Time) {
	*sc = score{healthy: true, priced: c.Price.Known}
	var completion float64
	var observed bool
	if s := c.Stats; s != nil {
		s.mu.Lock()
		sc.healthy = s.health.healthy(now)
		sc.cooldownUntil = s.health.cooldownUntil
		if req.Strategy == PerfAvg {
			sc.latency, sc.measured = averageLatency(&s.latency)
		} else {
			// Perf, and Price whose ties go to Perf.
			sc.latency, sc.measured = bucketLatency(&s.latency, bucket)
		}
		completion, observed = s.completion.mean()
		s.mu.Unlock()
	}
	if sc.priced {
		// The cost is needed by every strategy: Perf and PerfAvg order
		// unmeasured routes by it.
		sc.cost = c.Price.expectedCost(max(req.PromptTokens, 0),
			expectedCompletion(req.MaxTokens, completion, observed))
	}
}

// compareScores returns -1 if a ranks before b under strat, +1 if after, and
// 0 if only their original order can tell them apart.
func compareScores(strat Strategy, a, b *score) int {
	// Healthy routes first, whatever the strategy; unhealthy ones are kept
	// as a last resort, the one back soonest first.
	if a.healthy != b.healthy {
		if a.healthy {
			return -1
		}
		return 1
	}
	if !a.healthy {
		if c := a.cooldownUntil.Compare(b.cooldownUntil); c != 0 {
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
