package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// t0 is an arbitrary start time; tests pass times explicitly, which is the
// selector's injectable clock.
var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// noExplore is a Selector that never explores, for tests of plain ranking.
var noExplore = New(Config{ExplorationShare: -1})

// fixedRand returns a Rand that always yields v.
func fixedRand(v float64) func() float64 {
	return func() float64 { return v }
}

// streamed returns a streaming sample with the given time to first token and
// no completion size, which teaches a route its TTFT alone.
func streamed(ttft time.Duration) Sample {
	return Sample{Stream: true, FirstToken: ttft, Total: ttft}
}

// ms returns x milliseconds.
func ms(x float64) time.Duration {
	return time.Duration(x * float64(time.Millisecond))
}

// route returns stats with one streamed TTFT sample of ttft[b] milliseconds
// in each bucket b present in ttft, observed at t0.
func route(ttft map[int]float64) Route {
	r := NewRoute()
	for b, v := range ttft {
		noExplore.ObserveSuccess(r, b, streamed(ms(v)), t0)
	}
	return r
}

// rank returns the order s.Rank gives at now.
func rank(s *Selector, req Request, cands []Candidate, now time.Time) []int {
	order := make([]int, len(cands))
	s.Rank(req, cands, order, now)
	return order
}

// priced returns a known price per 1M tokens.
func priced(input, output float64) billing.Pricing {
	return billing.Pricing{Input: input, Output: output, Known: true}
}

func TestNewAppliesDefaults(t *testing.T) {
	got := New(Config{}).Config()
	assert.Equal(t, Config{
		HalfLife:         DefaultHalfLife,
		ExplorationShare: DefaultExplorationShare,
		StaleAfter:       DefaultStaleAfter,
		CooldownBase:     DefaultCooldownBase,
		CooldownMax:      DefaultCooldownMax,
		FailureThreshold: DefaultFailureThreshold,
		QuotaCooldown:    DefaultQuotaCooldown,
		ProbeTimeout:     DefaultProbeTimeout,
	}, got)
}

func TestNewKeepsSetValues(t *testing.T) {
	cfg := Config{
		HalfLife:         time.Minute,
		ExplorationShare: 0.5,
		StaleAfter:       2 * time.Minute,
		CooldownBase:     time.Second,
		CooldownMax:      time.Hour,
		FailureThreshold: 1,
		QuotaCooldown:    3 * time.Hour,
		ProbeTimeout:     time.Second,
	}
	assert.Equal(t, cfg, New(cfg).Config())
	assert.Equal(t, -1.0, New(Config{ExplorationShare: -1}).Config().ExplorationShare, "negative disables, kept")
}

func TestNewUsesRand(t *testing.T) {
	calls := 0
	s := New(Config{Rand: func() float64 { calls++; return 0.5 }})
	assert.Equal(t, 0.5, s.rand())
	assert.Equal(t, 1, calls)
	assert.NotNil(t, New(Config{}).rand, "math/rand/v2 when nil")
}
