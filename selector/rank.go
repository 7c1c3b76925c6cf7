package selector

import "time"

// Candidate is one route the caller could use for this request.
type Candidate struct {
	// Stats is what was learned about the route. It may be nil, which is
	// treated as a healthy route with no data.
	Stats *RouteStats
	// Price is the route's configured price.
	Price Pricing
}

// Request is what ranking needs to know of the client's request.
type Request struct {
	// Strategy is the routing mode the request asked for.
	Strategy Strategy
	// PromptTokens is the estimated prompt size, see EstimatePromptTokens.
	PromptTokens int
	// MaxTokens is the client's max_tokens or max_completion_tokens; 0 when
	// not given.
	MaxTokens int
}

// stackCandidates is how many candidates Rank can score without allocating.
const stackCandidates = 32

// Rank writes into order the indexes of cands, best first. It panics unless
// len(order) == len(cands).
//
// Healthy routes always come first and unhealthy ones last (never dropped),
// the unhealthy one whose cooldown ends first leading them. In between the
// strategy decides:
//
//   - Perf: lowest latency for this request's prompt-size bucket, borrowed
//     from the nearest measured buckets when that one has no samples;
//   - PerfAvg: lowest latency averaged over the measured buckets;
//   - Price: lowest expected cost (prompt at the input price plus max_tokens,
//     or else the route's mean completion, or else
//     DefaultExpectedCompletionTokens, at the output price); costs within a
//     relative 1e-9 tie and go to the Perf order; unpriced routes last.
//
// Under Perf and PerfAvg, routes with no latency sample at all come before
// measured ones, cheapest first, so that each gets tried once. Remaining ties
// go to the lower index, so config order is the final tie-break. A Strategy
// value that is not one of the constants ranks like Perf.
//
// Rank is safe to call concurrently with the RouteStats Observe methods. It
// does not allocate for up to 32 candidates.
func Rank(req Request, cands []Candidate, order []int, now time.Time) {
	if len(order) != len(cands) {
		panic("selector: Rank: len(order) != len(cands)")
	}
	var buf [stackCandidates]score
	var scores []score
	if len(cands) <= len(buf) {
		scores = buf[:len(cands)]
	} else {
		scores = make([]score, len(cands))
	}
	bucket := BucketOf(req.PromptTokens)
	for i := range cands {
		scores[i].set(req, bucket, &cands[i], now)
	}

	// Insertion sort: candidate lists are short, it needs no allocation
	// (sort.Slice does), and it is stable, which together with the index
	// tie-break makes the order deterministic.
	for i := range order {
		order[i] = i
	}
	for i := 1; i < len(order); i++ {
		x := order[i]
		j := i
		for ; j > 0 && compareScores(req.Strategy, &scores[x], &scores[order[j-1]]) < 0; j-- {
			order[j] = order[j-1]
		}
		order[j] = x
	}
}
