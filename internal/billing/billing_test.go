package billing

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCost(t *testing.T) {
	p := Pricing{Input: 2.5, CachedInput: 1.25, Output: 10}
	assert.InDelta(t, 0.0, Cost(Usage{}, p), 1e-12)
	// 1000 uncached * 2.5 + 500 cached * 1.25 + 200 * 10, per 1e6.
	assert.InDelta(t, (1000*2.5+500*1.25+200*10)/1e6,
		Cost(Usage{PromptTokens: 1500, CachedTokens: 500, CompletionTokens: 200}, p), 1e-12)
	assert.InDelta(t, 10.0, Cost(Usage{CompletionTokens: 1_000_000}, p), 1e-9)

	// Inconsistent counts never give a negative cost.
	assert.InDelta(t, 100*1.25/1e6, Cost(Usage{PromptTokens: 100, CachedTokens: 300}, p), 1e-12)
	assert.InDelta(t, 0.0, Cost(Usage{PromptTokens: -5, CompletionTokens: -1}, p), 1e-12)
}

// Micro-dollars round to the nearest, and back.
func TestMicroUSD(t *testing.T) {
	assert.Equal(t, int64(365), MicroUSD(365e-6))
	assert.Equal(t, int64(6), MicroUSD(6.02e-6))
	assert.Equal(t, int64(3), MicroUSD(0.1e-6+0.2e-6+2.7e-6))
	assert.Equal(t, 0.000365, USD(365))
}
