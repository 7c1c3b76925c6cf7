package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

func TestExplain(t *testing.T) {
	s := New(Config{})
	measured := NewRoute()
	s.ObserveSuccess(measured, 0, Sample{Stream: true, FirstToken: 120 * time.Millisecond, Total: 500 * time.Millisecond, CompletionTokens: 20}, t0)
	failing := NewRoute()
	s.ObserveFailure(failing, Failure{Kind: FailureAuth}, t0)
	cands := []Candidate{
		{Stats: measured, Price: billing.Pricing{Input: 1, Output: 2, Known: true}},
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

// RankExplained gives, in ranked order, the scores Explain gives for the
// candidates in that order, without reading the stats a second time.
func TestRankExplainedMatchesExplain(t *testing.T) {
	s := New(Config{ExplorationShare: -1})
	fast, slow, failing := NewRoute(), NewRoute(), NewRoute()
	s.ObserveSuccess(fast, 0, Sample{Stream: true, FirstToken: 80 * time.Millisecond, Total: 400 * time.Millisecond, CompletionTokens: 20}, t0)
	s.ObserveSuccess(slow, 0, Sample{Stream: true, FirstToken: 300 * time.Millisecond, Total: 900 * time.Millisecond, CompletionTokens: 20}, t0)
	s.ObserveFailure(failing, Failure{Kind: FailureAuth}, t0)
	cands := []Candidate{
		{Stats: failing},
		{Stats: slow, Price: billing.Pricing{Input: 1, Output: 2, Known: true}},
		{Stats: fast, Price: billing.Pricing{Input: 3, Output: 4, Known: true}},
	}
	req := Request{Stream: true, PromptTokens: 1000, MaxTokens: 100}
	for _, strategy := range []Strategy{Perf, PerfAvg, Price} {
		req.Strategy = strategy
		order := make([]int, len(cands))
		explained := make([]Score, len(cands))
		s.RankExplained(req, cands, order, explained, t0)

		ranked := make([]Candidate, len(cands))
		for i, idx := range order {
			ranked[i] = cands[idx]
		}
		want := make([]Score, len(cands))
		s.Explain(req, ranked, want, t0)
		assert.Equal(t, want, explained, strategy.String())
		assert.Equal(t, "open", explained[len(explained)-1].Tier, "the failing route ranks last")
	}
	assert.Panics(t, func() { s.RankExplained(req, cands, make([]int, 3), make([]Score, 2), t0) })
}
