package meter

import (
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

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

// readUsage copies into dst the counts present in raw, an OpenAI-style usage
// object. Counts absent (or null) leave dst's value: a vendor that repeats
// usage sends running totals, so the latest value of each count wins and
// nothing is ever summed. It reads raw in one pass (a gjson.Get per count
// scanned it four times); as with gjson, the first of duplicate keys counts.
func readUsage(raw string, dst *Usage) {
	var prompt, completion, cached, cacheHit count
	details := false
	jsonwalk.WalkObject(raw, 0, func(key string, v int) int {
		end := jsonwalk.SkipValue(raw, v)
		if end < 0 {
			return end
		}
		switch val := raw[v:end]; key {
		case "prompt_tokens":
			prompt.set(val)
		case "completion_tokens":
			completion.set(val)
		case "prompt_cache_hit_tokens":
			// DeepSeek reports its cache hits here instead.
			cacheHit.set(val)
		case "prompt_tokens_details":
			if !details {
				details = true
				jsonwalk.WalkObject(val, 0, func(key string, v int) int {
					end := jsonwalk.SkipValue(val, v)
					if key == "cached_tokens" && end > 0 {
						cached.set(val[v:end])
					}
					return end
				})
			}
		}
		return end
	})
	prompt.into(&dst.PromptTokens)
	completion.into(&dst.CompletionTokens)
	if !cached.ok {
		cached = cacheHit
	}
	cached.into(&dst.CachedTokens)
}

// count is one count of a usage object: the first value of its key, if that
// is a number.
type count struct {
	n        int
	seen, ok bool
}

func (c *count) set(raw string) {
	if c.seen {
		return
	}
	c.seen = true
	if r := gjson.Parse(raw); r.Type == gjson.Number {
		c.n, c.ok = int(r.Int()), true
	}
}

func (c count) into(dst *int) {
	if c.ok {
		*dst = c.n
	}
}

// estimateCompletion estimates completion tokens from generated text: about 4
// bytes a token, and at least one token per event that carried content.
func estimateCompletion(textBytes, contentEvents int) int {
	return max((textBytes+3)/4, contentEvents)
}
