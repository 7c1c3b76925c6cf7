package selector

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTTFTQuantile(t *testing.T) {
	rd := Reading{Measured: true, TTFT: 1000}
	p50, ok := rd.TTFTQuantile(0.5)
	require.True(t, ok)
	p90, _ := rd.TTFTQuantile(0.9)
	p99, _ := rd.TTFTQuantile(0.99)
	assert.Less(t, p50, 1000.0, "a log-normal's median is below its mean")
	assert.Greater(t, p90, 1000.0)
	assert.Greater(t, p99, p90)
	assert.InDelta(t, 1.9, p90/1000, 0.2, "the default spread: p90 about twice the mean")

	narrow := Reading{Measured: true, TTFT: 1000, TTFTSpread: 0.01}
	n90, _ := narrow.TTFTQuantile(0.9)
	assert.InDelta(t, 1130, n90, 20, "a steady route's p90 is close to its mean")

	for _, bad := range []Reading{{}, {Measured: true}} {
		_, ok := bad.TTFTQuantile(0.9)
		assert.False(t, ok)
	}
	_, ok = rd.TTFTQuantile(1)
	assert.False(t, ok)
}

// A route fed log-normal first tokens learns their spread: its predicted
// p90 lands near the true one.
func TestPredictTTFTLearnsTheSpread(t *testing.T) {
	sel := New(Config{HalfLife: time.Hour})
	r := NewRoute()
	rng := rand.New(rand.NewPCG(1, 2))
	const mu, sigma = 6.0, 0.8 // median ~403ms
	now := t0
	for range 2000 {
		now = now.Add(time.Second)
		ms := math.Exp(mu + sigma*rng.NormFloat64())
		sel.ObserveSuccess(r, 0, Sample{Stream: true, FirstToken: time.Duration(ms * float64(time.Millisecond)),
			Total: time.Duration(ms*float64(time.Millisecond)) + time.Second, CompletionTokens: 10}, now)
	}
	got, ok := sel.PredictTTFT(r, smallPrompt, 0.9, now)
	require.True(t, ok)
	want := math.Exp(mu + sigma*1.2816)
	assert.InEpsilon(t, want, float64(got)/float64(time.Millisecond), 0.25, "p90 %v, want about %.0fms", got, want)

	_, ok = sel.PredictTTFT(NewRoute(), smallPrompt, 0.9, now)
	assert.False(t, ok, "nothing measured")
	st := r.State()
	assert.Positive(t, st.TTFTSpread.Samples, "the spread is part of what a route shares")
}

func TestRankPreferredMaxTTFTPushesDownNeverOut(t *testing.T) {
	cands := []Candidate{
		{Stats: route(map[int]float64{0: 2000})},
		{Stats: route(map[int]float64{0: 900})},
		{Stats: route(map[int]float64{0: 1200})},
	}
	req := Request{Strategy: Price, PromptTokens: smallPrompt, Stream: true}
	cands[0].Price, cands[1].Price, cands[2].Price = priced(1, 1), priced(3, 3), priced(2, 2)
	assert.Equal(t, []int{0, 2, 1}, rank(noExplore, req, cands, t0), "cheapest first")
	req.PreferredMaxTTFT = 1500
	assert.Equal(t, []int{2, 1, 0}, rank(noExplore, req, cands, t0), "the slow one goes last, still there")
	req.PreferredMaxTTFT = 100
	assert.Equal(t, []int{0, 2, 1}, rank(noExplore, req, cands, t0), "all slow: the strategy decides")
}
