package selector

import "math"

// Pricing is a route's price in USD per 1M tokens. (It is not called Price
// because that name is the Price Strategy.)
type Pricing struct {
	// Input is the price of prompt tokens.
	Input float64
	// Output is the price of completion tokens.
	Output float64
	// CachedInput is the price of prompt tokens served from the vendor's
	// prompt cache. Ranking does not use it, since how much of a prompt
	// will hit a cache is unknown before sending it; it is carried for the
	// caller's cost reporting.
	CachedInput float64
	// Known is false when the operator configured no price. Under the Price
	// strategy such routes rank after all routes with a known price.
	Known bool
}

// DefaultExpectedCompletionTokens is the completion size the strategies
// assume for a request without max_tokens, for a model whose routes have
// not observed any completion yet.
const DefaultExpectedCompletionTokens = 256

// costTolerance is the relative difference under which two costs are a tie,
// so that float rounding in equal prices does not decide the order.
const costTolerance = 1e-9

// expectedCost returns the USD cost to expect from p for a request with
// promptTokens of prompt and completionTokens of completion.
func (p Pricing) expectedCost(promptTokens int, completionTokens float64) float64 {
	return (float64(promptTokens)*p.Input + completionTokens*p.Output) / 1e6
}

// expectedCompletion returns the completion size the Price strategy assumes:
// the client's max_tokens when given, since it bounds the bill, else the
// model's observed mean (ok reports whether there is one), else
// DefaultExpectedCompletionTokens.
func expectedCompletion(maxTokens int, mean float64, ok bool) float64 {
	switch {
	case maxTokens > 0:
		return float64(maxTokens)
	case ok:
		return mean
	}
	return DefaultExpectedCompletionTokens
}

// compareCost returns -1, 0 or +1 as cost a is lower than, a tie with, or
// higher than cost b; costs within a relative costTolerance are a tie.
func compareCost(a, b float64) int {
	if math.Abs(a-b) <= costTolerance*max(math.Abs(a), math.Abs(b)) {
		return 0
	}
	if a < b {
		return -1
	}
	return 1
}
