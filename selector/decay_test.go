package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const hl = DefaultHalfLife

func TestDecayFactor(t *testing.T) {
	assert.Equal(t, 1.0, decayFactor(0, hl))
	assert.Equal(t, 1.0, decayFactor(-time.Hour, hl), "time going backwards decays nothing")
	assert.InDelta(t, 0.5, decayFactor(hl, hl), 1e-12)
	assert.InDelta(t, 0.25, decayFactor(2*hl, hl), 1e-12)
	assert.InDelta(t, 0.5, decayFactor(time.Minute, time.Minute), 1e-12)
	assert.InDelta(t, 0.0, decayFactor(1000*hl, hl), 1e-12)
	assert.Equal(t, 0.0, decayFactor(time.Millisecond, 0), "no half-life forgets everything")
}

func TestDecayingMeanEmpty(t *testing.T) {
	var m decayingMean
	_, ok := m.mean()
	assert.False(t, ok)
}

func TestDecayingMeanSameInstantIsPlainMean(t *testing.T) {
	var m decayingMean
	for _, x := range []float64{100, 200, 300} {
		m.observe(x, t0, hl)
	}
	got, ok := m.mean()
	require.True(t, ok)
	assert.InDelta(t, 200, got, 1e-9)
	assert.Equal(t, 3, m.n)
}

func TestDecayingMeanHalvesOldWeight(t *testing.T) {
	var m decayingMean
	m.observe(100, t0, hl)
	m.observe(400, t0.Add(hl), hl)
	// Weights 0.5 and 1: (50 + 400) / 1.5.
	got, _ := m.mean()
	assert.InDelta(t, 300, got, 1e-9)
}

func TestDecayingMeanOutOfOrder(t *testing.T) {
	var m decayingMean
	m.observe(100, t0.Add(hl), hl)
	m.observe(300, t0, hl) // reported late: no decay, reference time kept
	got, _ := m.mean()
	assert.InDelta(t, 200, got, 1e-9)
	assert.Equal(t, t0.Add(hl), m.last)
}

// TestDecayUsesConfiguredHalfLife drives the decay of a route's TTFT through
// the Selector with its own clock.
func TestDecayUsesConfiguredHalfLife(t *testing.T) {
	for _, halfLife := range []time.Duration{time.Minute, DefaultHalfLife} {
		s := New(Config{HalfLife: halfLife})
		r := NewRoute()
		s.ObserveSuccess(r, 0, streamed(100*time.Millisecond), t0)
		s.ObserveSuccess(r, 0, streamed(400*time.Millisecond), t0.Add(halfLife))
		assert.InDelta(t, 300, s.Snapshot(r, t0).Buckets[0].TTFTMillis, 1e-9, "half-life %v", halfLife)
	}
}

// TestDecayLetsRecoveredRouteWin: a route that was slow and got fast again
// wins back its place once its old samples have decayed.
func TestDecayLetsRecoveredRouteWin(t *testing.T) {
	s := noExplore
	a := route(map[int]float64{0: 2000})
	b := route(map[int]float64{0: 500})
	for i := range 10 {
		s.ObserveSuccess(a, 0, streamed(2*time.Second), t0.Add(time.Duration(i)*time.Second))
	}
	cands := []Candidate{{Stats: a}, {Stats: b}}
	req := Request{Stream: true}
	assert.Equal(t, []int{1, 0}, rank(s, req, cands, t0))

	later := t0.Add(10 * hl)
	for i := range 3 {
		s.ObserveSuccess(a, 0, streamed(100*time.Millisecond), later.Add(time.Duration(i)*time.Second))
	}
	assert.InDelta(t, 100, s.Snapshot(a, later).Buckets[0].TTFTMillis, 10, "old samples hardly count after 10 half-lives")
	assert.Equal(t, []int{0, 1}, rank(s, req, cands, later))
}
