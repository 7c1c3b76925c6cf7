package selector

import (
	"time"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// Candidate is one route the caller could use for this request.
type Candidate struct {
	// Stats is what was learned about the route. It may be nil, which is
	// treated as a healthy route with no data that cannot learn any.
	Stats Route
	// Price is the route's configured price.
	Price billing.Pricing
}

// Request is what ranking needs to know of the client's request.
type Request struct {
	// Strategy is the routing mode the request asked for.
	Strategy Strategy
	// PromptTokens is the estimated prompt size, see PromptEstimator.
	PromptTokens int
	// MaxTokens is the client's max_tokens or max_completion_tokens; 0 when
	// not given.
	MaxTokens int
	// Stream is whether the client asked for a stream. A non-streaming
	// client waits for the whole answer, so its predicted latency includes
	// the decode time.
	Stream bool
	// Pinned is whether the client chose the vendor; such a request is
	// never used for exploration.
	Pinned bool
	// PreferredMaxTTFT, in milliseconds, pushes routes whose predicted time
	// to first token is above it after the routes within it, in the same
	// health tier: down, never out. 0 means no preference.
	PreferredMaxTTFT float64
}

// Rank writes into order the indexes of cands, best first, judged at now.
// It panics unless len(order) == len(cands). It reports whether it moved a
// route that did not rank best to the front, to explore it or to probe its
// breaker. It is safe to call concurrently with the other methods and does
// not allocate for up to 32 candidates: its working memory is pooled.
//
// Routes come in tiers, whatever the strategy: closed breakers without
// failures, closed breakers whose last failure (below FailureThreshold) is
// less than CooldownBase old, half-open breakers, then open breakers, the one
// closing soonest first. A failing route's demotion ends after CooldownBase
// so that it gets real traffic again: a success clears its failures, another
// failure may open its breaker.
//
// Within a tier the request's Strategy decides; each strategy's constant
// (Perf, PerfAvg, Price) says how. The running mean of completion tokens
// they use is pooled over the candidates, which all serve the same model.
// Remaining ties keep the order of cands. A Strategy that was not
// registered ranks like Perf.
//
// Then Rank may move one route to the front, the first of these that
// applies:
//
//   - a half-open route with no probe in flight, since only a real request
//     can close its breaker (Admit then lets one caller through). This is
//     no exploration: it happens for Pinned requests too;
//   - a healthy (closed) route other than the best whose newest sample is
//     older than StaleAfter, or that has none; the route is claimed
//     atomically, so that however many requests race for it only one per
//     StaleAfter is sent to refresh it;
//   - with probability ExplorationShare, a healthy route other than the
//     best, picked uniformly.
//
// The last two are exploration, which never happens for a Pinned request or
// one whose strategy does not explore (Price: its client chose cost over
// speed), to a route that failed within the last CooldownBase, with a
// negative ExplorationShare, with fewer than two clean routes, or when the
// best route is unmeasured (it is being explored already).
func (s *Selector) Rank(req Request, cands []Candidate, order []int, now time.Time) (explored bool) {
	return s.RankExplained(req, cands, order, nil, now)
}

// RankExplained is Rank that also writes, unless explain is nil, the score
// of each candidate in ranked order: explain[i] is that of cands[order[i]].
// It costs next to nothing over Rank, which computes the scores anyway,
// where a separate Explain reads every candidate's stats again.
func (s *Selector) RankExplained(req Request, cands []Candidate, order []int, explain []Score, now time.Time) (explored bool) {
	if len(order) != len(cands) {
		panic("selector: Rank: len(order) != len(cands)")
	}
	if explain != nil && len(explain) != len(cands) {
		panic("selector: RankExplained: len(explain) != len(cands)")
	}
	scr, scores := getScratch(&req, len(cands))
	defer putScratch(scr)
	st := strategyOf(req.Strategy)
	bucket := BucketOf(req.PromptTokens)
	var pool decayingMean // completions pooled over the candidates
	for i := range cands {
		scores[i].read(req.Strategy, bucket, cands[i].Stats, now, s.cfg.CooldownBase, &pool)
	}
	mean, ok := pool.mean()
	latencyTokens := latencyCompletion(req.MaxTokens, mean, ok)
	costTokens := expectedCompletion(req.MaxTokens, mean, ok)
	for i := range cands {
		scores[i].predict(req, cands[i].Price, latencyTokens, costTokens)
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
		for ; j > 0 && compareScores(st, &scr.req, &scores[x], &scores[order[j-1]]) < 0; j-- {
			order[j] = order[j-1]
		}
		order[j] = x
	}

	pos := s.pickExploration(&scr.req, st, cands, scores, order, now)
	if pos > 0 {
		x := order[pos]
		copy(order[1:pos+1], order[:pos])
		order[0] = x
	}
	if explain != nil {
		for i, idx := range order {
			explain[i] = scores[idx].explain()
		}
	}
	return pos > 0
}
