package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mergeSamples are successes of every kind: streamed and not, with and
// without completion sizes, in several buckets.
var mergeSamples = []struct {
	bucket int
	sm     Sample
}{
	{0, Sample{Stream: true, FirstToken: 120 * time.Millisecond, Total: 900 * time.Millisecond, CompletionTokens: 80}},
	{0, Sample{Total: 1500 * time.Millisecond, CompletionTokens: 60}},
	{2, Sample{Stream: true, FirstToken: 300 * time.Millisecond, Total: 2 * time.Second, CompletionTokens: 150}},
	{2, Sample{Stream: true, FirstToken: 250 * time.Millisecond, Total: 250 * time.Millisecond}},
	{5, Sample{Total: 4 * time.Second, CompletionTokens: 400}},
	{0, Sample{Stream: true, FirstToken: 90 * time.Millisecond, Total: 700 * time.Millisecond, CompletionTokens: 61}},
	{2, Sample{Total: 2500 * time.Millisecond, CompletionTokens: 90}},
	{5, Sample{Stream: true, FirstToken: 900 * time.Millisecond, Total: 3 * time.Second, CompletionTokens: 201}},
}

// assertSameLearning checks that two routes' snapshots agree within float
// tolerance.
func assertSameLearning(t *testing.T, want, got Snapshot) {
	t.Helper()
	for i := range want.Buckets {
		assert.Equal(t, want.Buckets[i].Samples, got.Buckets[i].Samples, "bucket %d samples", i)
		assert.InDelta(t, want.Buckets[i].TTFTMillis, got.Buckets[i].TTFTMillis, 1e-6, "bucket %d TTFT", i)
	}
	assert.InDelta(t, want.DecodeTokensPerSec, got.DecodeTokensPerSec, 1e-6)
	assert.Equal(t, want.DecodeSamples, got.DecodeSamples)
	assert.InDelta(t, want.MeanCompletionTokens, got.MeanCompletionTokens, 1e-6)
	assert.Equal(t, want.Successes, got.Successes)
	assert.Equal(t, want.Failures, got.Failures)
	assert.Equal(t, want.LastSample, got.LastSample)
	assert.Equal(t, want.Breaker, got.Breaker)
	assert.Equal(t, want.OpenUntil, got.OpenUntil)
	assert.Equal(t, want.ConsecutiveFailures, got.ConsecutiveFailures)
}

func TestMergeWithEmptyIsIdentity(t *testing.T) {
	r := NewRoute()
	for i, x := range mergeSamples {
		noExplore.ObserveSuccess(r, x.bucket, x.sm, t0.Add(time.Duration(i)*time.Minute))
	}
	noExplore.ObserveFailure(r, Failure{Kind: FailureAuth}, t0.Add(time.Hour))
	st := r.State()
	require.True(t, st.Breaker.Open)
	assert.Equal(t, st, Merge(st, State{}, hl))
	assert.Equal(t, st, Merge(State{}, st, hl))
	assert.Equal(t, State{}, Merge(State{}, State{}, hl))
}

// Two instances that each saw half of the samples, merged, know what one
// instance that saw them all knows: with the samples at the same time, and
// with each half at its own time.
func TestMergeHalvesEqualsWhole(t *testing.T) {
	for _, name := range []string{"same time", "second half later"} {
		whole, a, b := NewRoute(), NewRoute(), NewRoute()
		var last time.Time
		for i, x := range mergeSamples {
			half, at := a, t0
			if i%2 == 1 {
				half = b
				if name == "second half later" {
					at = t0.Add(3 * time.Minute)
				}
			}
			half.ObserveSuccess(x.bucket, x.sm, at, hl)
			last = later(last, at)
		}
		// The whole route sees them in time order.
		for _, odd := range []int{0, 1} {
			for i := odd; i < len(mergeSamples); i += 2 {
				at := t0
				if odd == 1 && name == "second half later" {
					at = t0.Add(3 * time.Minute)
				}
				whole.ObserveSuccess(mergeSamples[i].bucket, mergeSamples[i].sm, at, hl)
			}
		}
		merged := NewRoute()
		merged.Load(Merge(a.State(), b.State(), hl))
		assertSameLearning(t, whole.Snapshot(last), merged.Snapshot(last))

		// Ranking reads the merged route as it reads the whole one.
		var want, got Reading
		whole.ReadInto(&want, 1, BucketTTFT, last, DefaultCooldownBase)
		merged.ReadInto(&got, 1, BucketTTFT, last, DefaultCooldownBase)
		assert.InDelta(t, want.TTFT, got.TTFT, 1e-6, name)
		assert.InDelta(t, want.PerToken, got.PerToken, 1e-9, name)
		assert.InDelta(t, want.Completion.Sum/want.Completion.Weight, got.Completion.Sum/got.Completion.Weight, 1e-9, name)
	}
}

func TestMergeBreakers(t *testing.T) {
	sec := time.Second
	closed := BreakerRecord{}
	failing := BreakerRecord{ConsecutiveFailures: 2, LastFailure: t0}
	open := BreakerRecord{Open: true, OpenedAt: t0, OpenUntil: t0.Add(5 * sec), ConsecutiveFailures: 3, LastFailure: t0, Openings: 1}
	reopened := BreakerRecord{Open: true, OpenedAt: t0.Add(10 * sec), OpenUntil: t0.Add(20 * sec), ConsecutiveFailures: 1, LastFailure: t0.Add(10 * sec), Openings: 2}

	merge := func(a, b BreakerRecord) BreakerRecord {
		t.Helper()
		ab := Merge(State{Breaker: a}, State{Breaker: b}, hl).Breaker
		assert.Equal(t, ab, Merge(State{Breaker: b}, State{Breaker: a}, hl).Breaker, "merge is symmetric")
		return ab
	}
	assert.Equal(t, closed, merge(closed, closed))
	assert.Equal(t, failing, merge(failing, closed), "failures in a row are kept")
	assert.Equal(t, open, merge(open, closed), "open if either is")
	assert.Equal(t, open, merge(open, failing))
	assert.Equal(t, BreakerRecord{
		Open:                true,
		OpenedAt:            t0.Add(10 * sec), // the later opening
		OpenUntil:           t0.Add(20 * sec), // the later end
		ConsecutiveFailures: 3,
		LastFailure:         t0.Add(10 * sec),
		Openings:            2,
	}, merge(open, reopened))

	// A route loaded with the merged breaker behaves as open.
	r := NewRoute()
	r.Load(State{Breaker: merge(open, reopened)})
	assert.Equal(t, Open, r.Snapshot(t0.Add(15*sec)).Breaker)
	assert.False(t, r.Admit(t0.Add(15*sec), DefaultProbeTimeout))
	assert.Equal(t, HalfOpen, r.Snapshot(t0.Add(20*sec)).Breaker)
}

func TestStateRoundTrip(t *testing.T) {
	r := NewRoute()
	for i, x := range mergeSamples {
		noExplore.ObserveSuccess(r, x.bucket, x.sm, t0.Add(time.Duration(i)*time.Second))
	}
	noExplore.ObserveFailure(r, Failure{}, t0.Add(time.Minute))
	copied := NewRoute()
	copied.Load(r.State())
	assert.Equal(t, r.State(), copied.State())
	assert.Equal(t, r.Snapshot(t0.Add(time.Hour)), copied.Snapshot(t0.Add(time.Hour)))
}

// Load replaces what was learned but keeps what is in flight here: the
// probe this instance let through a half-open breaker.
func TestLoadKeepsProbeInFlight(t *testing.T) {
	r := NewRoute()
	noExplore.ObserveFailure(r, Failure{Kind: FailureAuth}, t0)
	after := t0.Add(DefaultCooldownBase)
	require.True(t, noExplore.Admit(r, after), "the probe")
	r.Load(r.State())
	assert.False(t, noExplore.Admit(r, after), "the probe is still in flight")
}
