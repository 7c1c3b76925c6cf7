package limits

import (
	"math"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// Amounts is what a request may consume, as reserved on admission.
type Amounts struct {
	// InputTokens is the prompt estimate; OutputTokens the completion's
	// upper bound.
	InputTokens, OutputTokens int64
	// MicroUSD is the cost of both at the highest candidate price.
	MicroUSD int64
}

// tokens is what a token limit counting c takes of a.
func (a Amounts) tokens(c CountMode) int64 {
	switch c {
	case CountInput:
		return a.InputTokens
	case CountOutput:
		return a.OutputTokens
	}
	return a.InputTokens + a.OutputTokens
}

// WorstCase is what a request may cost before it runs: its prompt estimate
// and a completion of the smaller of maxTokens (what the client asked for;
// 0 or less when it set none) and highCompletion (how long the model's
// answers get: a high percentile the router learned, or the configured
// bound; 0 or less when unknown), priced at the highest of the prices of
// its candidate vendors, since failover may land on any of them. Micro-USD
// are rounded up, so the worst case is never under the real cost.
//
// When neither bound is known the completion counts as 0: a hard budget's
// caller bounds it first with MaxTokensWithin.
func WorstCase(promptTokens, maxTokens, highCompletion int, prices []billing.Pricing) Amounts {
	completion := 0
	switch {
	case maxTokens > 0 && highCompletion > 0:
		completion = min(maxTokens, highCompletion)
	case maxTokens > 0:
		completion = maxTokens
	case highCompletion > 0:
		completion = highCompletion
	}
	prompt := max(promptTokens, 0)
	var worst float64
	for _, p := range prices {
		if !p.Known {
			continue
		}
		// Prices are USD per million tokens: per token, micro-USD.
		worst = max(worst, float64(prompt)*p.Input+float64(completion)*p.Output)
	}
	return Amounts{InputTokens: int64(prompt), OutputTokens: int64(completion), MicroUSD: ceilMicro(worst)}
}

// CostMicroUSD is what u costs at p in integer micro-USD, rounded to the
// nearest, as the ledger records it: what Settle charges a budget.
func CostMicroUSD(u billing.Usage, p billing.Pricing) int64 {
	if !p.Known {
		return 0
	}
	return billing.MicroUSD(billing.Cost(u, p))
}

func ceilMicro(f float64) int64 {
	if f <= 0 || math.IsNaN(f) {
		return 0
	}
	if f >= math.MaxInt64/2 {
		return math.MaxInt64 / 2
	}
	// A hair of tolerance, so that float noise (3.0000000000000004) does
	// not round a whole amount up by one.
	return int64(math.Ceil(f - 1e-9))
}

// MaxTokensWithin is the largest max_tokens whose worst case at price, with
// promptTokens, fits in remainingMicroUSD: what a hard budget's request
// gets when it set none (or a larger one). 0 means nothing fits, not even
// the prompt with one token; math.MaxInt that completion tokens are free.
func MaxTokensWithin(remainingMicroUSD int64, promptTokens int, price billing.Pricing) int {
	if !price.Known {
		return math.MaxInt
	}
	left := float64(remainingMicroUSD) - float64(max(promptTokens, 0))*price.Input
	if left < 0 {
		return 0
	}
	if price.Output <= 0 {
		return math.MaxInt
	}
	n := math.Floor(left / price.Output)
	if n >= math.MaxInt32 {
		return math.MaxInt32
	}
	c := int(n)
	// Float division and the worst case's rounding may disagree by one
	// token either way: settle it on the worst case itself.
	prices := []billing.Pricing{price}
	for c > 0 && WorstCase(promptTokens, c, 0, prices).MicroUSD > remainingMicroUSD {
		c--
	}
	for WorstCase(promptTokens, c+1, 0, prices).MicroUSD <= remainingMicroUSD {
		c++
	}
	return c
}
