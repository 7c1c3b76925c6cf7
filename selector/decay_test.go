package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// t0 is an arbitrary start time; tests pass times explicitly.
var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func TestDecayFactor(t *testing.T) {
	assert.Equal(t, 1.0, decayFactor(0))
	assert.Equal(t, 1.0, decayFactor(-time.Hour), "time going backwards decays nothing")
	assert.InDelta(t, 0.5, decayFactor(HalfLife), 1e-12)
	assert.InDelta(t, 0.25, decayFactor(2*HalfLife), 1e-12)
	assert.InDelta(t, 0.0, decayFactor(1000*HalfLife), 1e-12)
}

func TestDecayingMeanEmpty(t *testing.T) {
	var m decayingMean
	_, ok := m.mean()
	assert.False(t, ok)
}

func TestDecayingMeanSameInstantIsPlainMean(t *testing.T) {
	var m decayingMean
	for _, x := range []float64{100, 200, 300} {
		m.observe(x, t0)
	}
	got, ok := m.mean()
	require.True(t, ok)
	assert.InDelta(t, 200, got, 1e-9)
	assert.Equal(t, 3, m.n)
}

func TestDecayingMeanHalvesOldWeight(t *testing.T) {
	var m decayingMean
	m.observe(100, t0)
	m.observe(400, t0.Add(HalfLife))
	// Weights 0.5 and 1: (50 + 400) / 1.5.
	got, _ := m.mean()
	assert.InDelta(t, 300, got, 1e-9)
}

func TestDecayingMeanRecovers(t *testing.T) {
	var m decayingMean
	for i := range 10 {
		m.observe(1000, t0.Add(time.Duration(i)*time.Second))
	}
	later := t0.Add(10 * HalfLife)
	for i := range 5 {
		m.observe(100, later.Add(time.Duration(i)*time.Second))
	}
	got, _ := m.mean()
	assert.InDelta(t, 100, got, 5, "old slow samples should hardly count after 10 half-lives")
	assert.Equal(t, 15, m.n, "the sample count is not decayed")
}

func TestDecayingMeanOutOfOrder(t *testing.T) {
	var m decayingMean
	m.observe(100, t0.Add(HalfLife))
	m.observe(300, t0) // reported late: no decay, reference time kept
	got, _ := m.mean()
	assert.InDelta(t, 200, got, 1e-9)
	assert.Equal(t, t0.Add(HalfLife), m.last)
}

func TestDecayingMeanNonPositiveHalfLife(t *testing.T) {
	saved := HalfLife
	t.Cleanup(func() { HalfLife = saved })
	HalfLife = 0

	var m decayingMean
	m.observe(100, t0)
	m.observe(300, t0.Add(time.Millisecond))
	got, _ := m.mean()
	assert.InDelta(t, 300, got, 1e-9, "only the latest observation counts")
}
