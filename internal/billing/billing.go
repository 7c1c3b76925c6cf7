// Package billing is the router's vocabulary of spend: what an answer
// consumed (Usage), what a route charges (Pricing), and what that costs.
// The meter and the translations produce Usage, the selector ranks by
// Pricing, and the router settles with Cost.
package billing

import "math"

// Usage is what one answer (or one attempt) consumed, in tokens, in
// OpenAI's terms.
type Usage struct {
	PromptTokens     int // including cached ones
	CachedTokens     int // prompt_tokens_details.cached_tokens, or DeepSeek's prompt_cache_hit_tokens
	CompletionTokens int // including reasoning ones
	ReasoningTokens  int // completion_tokens_details.reasoning_tokens, where a translation knows them
	// Estimated is set when the vendor reported nothing: the prompt is the
	// router's estimate and the completion about 4 bytes of generated text
	// per token, and at least one per content event.
	Estimated bool
}

// MicroUSD is an amount in USD as the ledger and the limits keep it: whole
// micro-dollars, rounded to the nearest, so that sums are exact.
func MicroUSD(usd float64) int64 { return int64(math.Round(usd * 1e6)) }

// USD is the inverse of MicroUSD.
func USD(micro int64) float64 { return float64(micro) / 1e6 }

// TotalTokens is PromptTokens + CompletionTokens.
func (u Usage) TotalTokens() int { return u.PromptTokens + u.CompletionTokens }

// Pricing is a route's price in USD per 1M tokens. CachedInput is charged as
// given: a vendor without a cache discount has CachedInput equal to Input,
// not zero.
type Pricing struct {
	// Input is the price of prompt tokens.
	Input float64
	// CachedInput is the price of prompt tokens served from the vendor's
	// prompt cache.
	CachedInput float64
	// Output is the price of completion tokens.
	Output float64
	// Known is false when the operator configured no price: such a route
	// costs nothing to the ledger, and ranks after the priced ones under
	// price routing.
	Known bool
}

// Cost is what u costs at p, in USD:
// ((PromptTokens-CachedTokens)*Input + CachedTokens*CachedInput + CompletionTokens*Output) / 1e6.
//
// Inconsistent vendor counts (more cached than prompt tokens, negative
// numbers) are clamped so that the cost is never negative.
func Cost(u Usage, p Pricing) float64 {
	prompt := max(u.PromptTokens, 0)
	cached := min(max(u.CachedTokens, 0), prompt)
	completion := max(u.CompletionTokens, 0)
	return (float64(prompt-cached)*p.Input +
		float64(cached)*p.CachedInput +
		float64(completion)*p.Output) / 1e6
}
