package meter

import (
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

// readUsage copies into dst the counts present in raw, an OpenAI-style usage
// object. Counts absent (or null) leave dst's value: a vendor that repeats
// usage sends running totals, so the latest value of each count wins and
// nothing is ever summed. It reads raw in one pass (a gjson.Get per count
// scanned it four times); as with gjson, the first of duplicate keys counts.
func readUsage(raw string, dst *billing.Usage) {
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
	if n, ok := jsonwalk.Int(raw); ok { // the usual count, without a float parse
		c.n, c.ok = int(n), true
		return
	}
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
