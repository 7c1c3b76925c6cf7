package selector

import "time"

// Score is how Rank saw one candidate, for logs and debugging.
type Score struct {
	// Tier is the health class: "clean", "failing", "half-open" or "open".
	Tier string
	// PredictedMS is the predicted latency of the request on the route, in
	// milliseconds; -1 when the route has no measurements.
	PredictedMS float64
	// ExpectedCostUSD is the expected cost of the request; -1 when the route
	// has no price.
	ExpectedCostUSD float64
}

var tierNames = [...]string{tierClean: "clean", tierFailing: "failing", tierHalfOpen: "half-open", tierOpen: "open"}

// Explain writes into out (len(out) == len(cands)) the scores Rank would
// compare for req at now. It reads the stats again, so call it only when the
// result is used: it costs about as much as Rank.
func (s *Selector) Explain(req Request, cands []Candidate, out []Score, now time.Time) {
	if len(out) != len(cands) {
		panic("selector: Explain: len(out) != len(cands)")
	}
	bucket := BucketOf(req.PromptTokens)
	var pool decayingMean
	scores := make([]score, len(cands))
	for i := range cands {
		scores[i].read(req.Strategy, bucket, cands[i].Stats, now, s.cfg.CooldownBase, &pool)
	}
	mean, ok := pool.mean()
	latencyTokens := latencyCompletion(req.MaxTokens, mean, ok)
	costTokens := expectedCompletion(req.MaxTokens, mean, ok)
	for i := range cands {
		scores[i].predict(req, cands[i].Price, latencyTokens, costTokens)
		out[i] = scores[i].explain()
	}
}
