package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestExplain(t *testing.T) {
	s := New(Config{})
	measured := new(RouteStats)
	s.ObserveSuccess(measured, 0, Sample{Stream: true, FirstToken: 120 * time.Millisecond, Total: 500 * time.Millisecond, CompletionTokens: 20}, t0)
	failing := new(RouteStats)
	s.ObserveFailure(failing, Failure{Kind: FailureAuth}, t0)
	cands := []Candidate{
		{Stats: measured, Price: Pricing{Input: 1, Output: 2, Known: true}},
		{Stats: failing},
		{},
	}
	out := make([]Score, len(cands))
	s.Explain(Request{Stream: true, PromptTokens: 1000, MaxTokens: 100}, cands, out, t0)
	assert.Equal(t, "clean", out[0].Tier)
	assert.InDelta(t, 120, out[0].PredictedMS, 1)
	assert.InDelta(t, (1000*1+100*2)/1e6, out[0].ExpectedCostUSD, 1e-12)
	assert.Equal(t, "open", out[1].Tier)
	assert.Equal(t, -1.0, out[1].PredictedMS)
	assert.Equal(t, -1.0, out[1].ExpectedCostUSD)
	assert.Equal(t, Score{Tier: "clean", PredictedMS: -1, ExpectedCostUSD: -1}, out[2])
	assert.Panics(t, func() { s.Explain(Request{}, cands, out[:1], t0) })
}
