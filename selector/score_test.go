package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

func TestScoreReadNilStats(t *testing.T) {
	var sc score
	var pool decayingMean
	sc.read(Perf, 1, nil, t0, DefaultCooldownBase, &pool)
	sc.predict(Request{PromptTokens: 1000}, priced(1, 2), 10, DefaultExpectedCompletionTokens)
	assert.Equal(t, tierClean, sc.tier)
	assert.False(t, sc.Measured)
	assert.True(t, sc.priced)
	assert.InDelta(t, (1000*1+DefaultExpectedCompletionTokens*2)/1e6, sc.cost, 1e-15)
	assert.Zero(t, pool.n)
}

func TestScoreRead(t *testing.T) {
	s := New(Config{})
	r := route(map[int]float64{0: 100, 2: 300})
	s.ObserveSuccess(r, 0, Sample{Total: time.Second, CompletionTokens: 40}, t0) // bucket 0 now (100+1000)/2
	s.ObserveFailure(r, Failure{}, t0)

	sc := score{Reading: Reading{Measured: false}, priced: true, cost: 1} // overwritten
	var pool decayingMean
	sc.read(Perf, 1, r, t0, DefaultCooldownBase, &pool)
	assert.Equal(t, tierFailing, sc.tier)
	assert.True(t, sc.Measured)
	assert.InDelta(t, 425, sc.TTFT, 1e-9, "bucket 1 borrows from 0 and 2")
	assert.Equal(t, 1, pool.n)
	assert.InDelta(t, 40, pool.sum, 1e-9)

	sc.read(PerfAvg, 1, r, t0, DefaultCooldownBase, &pool)
	assert.InDelta(t, 425, sc.TTFT, 1e-9)
	assert.Equal(t, 2, pool.n, "pooled again")

	s.ObserveFailure(r, Failure{Kind: FailureAuth}, t0)
	sc.read(Perf, 0, r, t0, DefaultCooldownBase, &pool)
	assert.Equal(t, tierOpen, sc.tier)
	assert.Equal(t, t0.Add(DefaultCooldownBase), sc.OpenUntil)

	later := t0.Add(DefaultCooldownBase)
	sc.read(Perf, 0, r, later, DefaultCooldownBase, &pool)
	assert.Equal(t, tierHalfOpen, sc.tier)
	assert.True(t, sc.ProbeFree)
	s.Admit(r, later)
	sc.read(Perf, 0, r, later, DefaultCooldownBase, &pool)
	assert.False(t, sc.ProbeFree, "the probe is in flight")
}

func TestScorePredict(t *testing.T) {
	sc := score{Reading: Reading{TTFT: 100, PerToken: 10, Measured: true, Decodes: true}}
	sc.predict(Request{Stream: true}, billing.Pricing{}, 50, 70)
	assert.Equal(t, 100.0, sc.latency)
	assert.False(t, sc.priced)
	sc.predict(Request{PromptTokens: 1e6}, priced(1, 1e6), 50, 70)
	assert.Equal(t, 600.0, sc.latency)
	assert.InDelta(t, 1+70, sc.cost, 1e-9)
}

func TestCompareScores(t *testing.T) {
	clean := score{tier: tierClean, Reading: Reading{Measured: true}, latency: 900}
	failing := score{tier: tierFailing, Reading: Reading{Measured: true}, latency: 1}
	half := score{tier: tierHalfOpen, Reading: Reading{Measured: true}, latency: 1}
	open := score{tier: tierOpen, Reading: Reading{Measured: true, OpenUntil: t0.Add(time.Minute)}, latency: 1}
	openLonger := score{tier: tierOpen, Reading: Reading{Measured: true, OpenUntil: t0.Add(time.Hour)}, latency: 1}
	ordered := []*score{&clean, &failing, &half, &open, &openLonger}
	for _, strat := range []Strategy{Perf, PerfAvg, Price} {
		for i := range ordered {
			for j := range ordered {
				want := 0
				if i < j {
					want = -1
				} else if i > j {
					want = 1
				}
				assert.Equal(t, want, compareScores(strategyOf(strat), &Request{Strategy: strat}, ordered[i], ordered[j]), "%s %d vs %d", strat, i, j)
			}
		}
	}
}
