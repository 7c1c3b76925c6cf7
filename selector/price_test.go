package selector

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

func TestExpectedCost(t *testing.T) {
	p := billing.Pricing{Input: 2.5, Output: 10, CachedInput: 1.25, Known: true}
	// 1000 prompt tokens at $2.5/M plus 500 completion tokens at $10/M.
	assert.InDelta(t, 0.0025+0.005, expectedCost(p, 1000, 500), 1e-15)
	assert.Equal(t, 0.0, expectedCost(p, 0, 0))
}

func TestExpectedCompletion(t *testing.T) {
	assert.Equal(t, 100.0, expectedCompletion(100, 50, true), "max_tokens wins")
	assert.Equal(t, 50.0, expectedCompletion(0, 50, true), "then the observed mean")
	assert.Equal(t, float64(DefaultExpectedCompletionTokens), expectedCompletion(0, 0, false))
	assert.Equal(t, float64(DefaultExpectedCompletionTokens), expectedCompletion(-1, 0, false))
}

func TestCompareCost(t *testing.T) {
	assert.Equal(t, -1, compareCost(1, 2))
	assert.Equal(t, 1, compareCost(2, 1))
	assert.Equal(t, 0, compareCost(0, 0))
	assert.Equal(t, 0, compareCost(0.3, 0.1+0.2), "float rounding is a tie")
	assert.Equal(t, 0, compareCost(1, 1+1e-10))
	assert.Equal(t, -1, compareCost(1, 1+1e-8))
}
