package limits

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

func TestWorstCase(t *testing.T) {
	cheap := billing.Pricing{Input: 0.15, Output: 0.6, Known: true} // USD per 1M tokens
	dear := billing.Pricing{Input: 2.5, Output: 10, Known: true}
	prices := []billing.Pricing{cheap, dear, {}}

	// The smaller of max_tokens and the model's high completion length.
	assert.Equal(t, Amounts{InputTokens: 1000, OutputTokens: 500, MicroUSD: 2500 + 5000},
		WorstCase(1000, 500, 4000, prices))
	assert.Equal(t, Amounts{InputTokens: 1000, OutputTokens: 4000, MicroUSD: 2500 + 40000},
		WorstCase(1000, 16000, 4000, prices))
	// No max_tokens: the high completion length; nothing known: 0.
	assert.Equal(t, int64(4000), WorstCase(1000, 0, 4000, prices).OutputTokens)
	assert.Equal(t, int64(700), WorstCase(1000, 700, 0, prices).OutputTokens)
	assert.Equal(t, int64(0), WorstCase(1000, 0, 0, prices).OutputTokens)
	// Rounded up; unpriced routes cost nothing.
	assert.Equal(t, int64(1), WorstCase(1, 0, 0, []billing.Pricing{cheap}).MicroUSD)
	assert.Equal(t, int64(0), WorstCase(1000, 10, 0, []billing.Pricing{{}}).MicroUSD)
	assert.Equal(t, int64(0), WorstCase(-5, 0, 0, prices).InputTokens)
	// The highest cost, not the highest of each price: a route dear on
	// input but cheap on output wins on a long prompt.
	in := billing.Pricing{Input: 10, Output: 1, Known: true}
	out := billing.Pricing{Input: 1, Output: 10, Known: true}
	assert.Equal(t, int64(10*1000+1*10), WorstCase(1000, 10, 0, []billing.Pricing{in, out}).MicroUSD)
}

func TestMaxTokensWithin(t *testing.T) {
	p := billing.Pricing{Input: 2.5, Output: 10, Known: true}
	// 1000 prompt tokens cost 2500 µUSD; 10 µUSD per completion token.
	assert.Equal(t, 750, MaxTokensWithin(10_000, 1000, p))
	assert.Equal(t, 0, MaxTokensWithin(2505, 1000, p), "the prompt fits, no completion token does")
	assert.Equal(t, 0, MaxTokensWithin(2000, 1000, p), "not even the prompt fits")
	assert.Equal(t, math.MaxInt, MaxTokensWithin(1, 1000, billing.Pricing{}), "unpriced")
	assert.Equal(t, math.MaxInt, MaxTokensWithin(2500, 1000, billing.Pricing{Input: 2.5, Known: true}))

	// Whatever it returns, the worst case fits, and one more token would not.
	odd := billing.Pricing{Input: 0.1, Output: 0.3, Known: true}
	for rem := int64(0); rem < 2000; rem += 7 {
		n := MaxTokensWithin(rem, 333, odd)
		if n > 0 {
			assert.LessOrEqual(t, WorstCase(333, n, 0, []billing.Pricing{odd}).MicroUSD, rem)
		}
		assert.Greater(t, WorstCase(333, n+1, 0, []billing.Pricing{odd}).MicroUSD, rem)
	}
}

func TestCostMicroUSD(t *testing.T) {
	p := billing.Pricing{Input: 2.5, CachedInput: 1.25, Output: 10, Known: true}
	assert.Equal(t, int64(2500-500+250+1000), CostMicroUSD(billing.Usage{PromptTokens: 1000, CachedTokens: 200, CompletionTokens: 100}, p))
	assert.Zero(t, CostMicroUSD(billing.Usage{PromptTokens: 1000}, billing.Pricing{}))
}
