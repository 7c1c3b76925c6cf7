package selector

import (
	"math"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// DefaultExpectedCompletionTokens is the completion size the strategies
// assume for a request without max_tokens, for a model whose routes have
// not observed any completion yet.
const DefaultExpectedCompletionTokens = 256

// costTolerance is the relative difference under which two costs are a tie,
// so that float rounding in equal prices does not decide the order.
const costTolerance = 1e-9

// expectedCost returns the USD cost to expect from p for a request with
// promptTokens of prompt and completionTokens of completion. Ranking leaves
// the prompt cache out: how much of a prompt will hit it is unknown before
// sending it.
func expectedCost(p billing.Pricing, promptTokens int, completionTokens float64) float64 {
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
