package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTTFTMeanExact(t *testing.T) {
	var m ttftMean
	_, ok := m.mean(10, true)
	assert.False(t, ok)
	m.observe(100, 0, t0, hl)
	m.observe(300, 0, t0, hl)
	got, ok := m.mean(10, true)
	require.True(t, ok)
	assert.InDelta(t, 200, got, 1e-9, "exact samples: no correction whatever the speed")
}

func TestTTFTMeanPendingDecode(t *testing.T) {
	var m ttftMean
	m.observe(100, 0, t0, hl)    // a stream's TTFT
	m.observe(2300, 200, t0, hl) // a whole 200-token answer, speed unknown
	got, _ := m.mean(0, false)
	assert.InDelta(t, 1200, got, 1e-9, "without a speed: the totals as they are")
	got, _ = m.mean(10, true)
	assert.InDelta(t, 200, got, 1e-9, "(100 + 2300 - 200*10) / 2")
	got, _ = m.mean(100, true)
	assert.Zero(t, got, "never below 0")
}

func TestTTFTMeanPendingDecays(t *testing.T) {
	var m ttftMean
	m.observe(2100, 200, t0, hl)      // weight 0.5 after a half-life: 1050, 100 tokens
	m.observe(150, 0, t0.Add(hl), hl) // weight 1
	got, _ := m.mean(10, true)
	assert.InDelta(t, (1050-100*10+150)/1.5, got, 1e-9)
}

// TestTTFTEarlyNonStreamSampleHealed: a route whose first sample was a
// non-streaming answer, taken before its decode speed was known, is not
// held back by it once a stream teaches the speed.
func TestTTFTEarlyNonStreamSampleHealed(t *testing.T) {
	s := New(Config{})
	r := NewRoute()
	s.ObserveSuccess(r, 0, Sample{FirstToken: 3100 * time.Millisecond, Total: 3100 * time.Millisecond, CompletionTokens: 300}, t0)
	assert.InDelta(t, 3100, s.Snapshot(r, t0).Buckets[0].TTFTMillis, 1e-9)

	// A stream in another bucket: 10ms a token.
	s.ObserveSuccess(r, 3, Sample{Stream: true, FirstToken: 400 * time.Millisecond, Total: 1400 * time.Millisecond, CompletionTokens: 101}, t0)
	assert.InDelta(t, 100, s.Snapshot(r, t0).Buckets[0].TTFTMillis, 1e-9, "3100 - 300*10")
}
