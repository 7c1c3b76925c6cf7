package meter

import "github.com/tidwall/gjson"

// Usage is what one attempt consumed, in tokens.
type Usage struct {
	PromptTokens     int // including cached ones
	CachedTokens     int // prompt_tokens_details.cached_tokens, or DeepSeek's prompt_cache_hit_tokens
	CompletionTokens int
	// Estimated is set when the vendor reported nothing: the prompt is the
	// caller's estimate and the completion about 4 bytes of generated text per
	// token, and at least one per content event.
	Estimated bool
}

// TotalTokens is PromptTokens + CompletionTokens.
func (u Usage) TotalTokens() int { return u.PromptTokens + u.CompletionTokens }

// Pricing is in USD per 1M tokens.
//
// CachedInput is charged as given: a vendor without a cache discount needs
// CachedInput equal to Input, not zero.
type Pricing struct {
	Input, CachedInput, Output float64
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

// readUsage copies into dst the counts present in an OpenAI-style usage
// object. Counts absent (or null) leave dst's value: a vendor that repeats
// usage sends running totals, so the latest value of each count wins and
// nothing is ever summed.
func readUsage(u gjson.Result, dst *Usage) {
	if v := u.Get("prompt_tokens"); v.Type == gjson.Number {
		dst.PromptTokens = int(v.Int())
	}
	if v := u.Get("completion_tokens"); v.Type == gjson.Number {
		dst.CompletionTokens = int(v.Int())
	}
	if v := u.Get("prompt_tokens_details.cached_tokens"); v.Type == gjson.Number {
		dst.CachedTokens = int(v.Int())
	} else if v := u.Get("prompt_cache_hit_tokens"); v.Type == gjson.Number {
		// DeepSeek reports its cache hits here instead.
		dst.CachedTokens = int(v.Int())
	}
}

// estimateCompletion estimates completion tokens from generated text: about 4
// bytes a token, and at least one token per event that carried content.
func estimateCompletion(textBytes, contentEvents int) int {
	return max((textBytes+3)/4, contentEvents)
}
