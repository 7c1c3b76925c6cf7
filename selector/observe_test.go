package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestObserveSuccessStream(t *testing.T) {
	s := New(Config{})
	r := NewRoute()
	// 200ms to the first token, then 100 more tokens in 1s: 10ms a token.
	s.ObserveSuccess(r, 2, Sample{Stream: true, FirstToken: 200 * time.Millisecond, Total: 1200 * time.Millisecond, CompletionTokens: 101}, t0)

	snap := s.Snapshot(r, t0)
	assert.Equal(t, BucketSnapshot{TTFTMillis: 200, Samples: 1}, snap.Buckets[2])
	assert.InDelta(t, 100, snap.DecodeTokensPerSec, 1e-9)
	assert.Equal(t, 1, snap.DecodeSamples)
	assert.InDelta(t, 101, snap.MeanCompletionTokens, 1e-9)
	assert.Equal(t, int64(1), snap.Successes)
	assert.Equal(t, t0, snap.LastSample)
}

func TestObserveSuccessDecodeNeedsTwoTokensAndTime(t *testing.T) {
	s := New(Config{})
	for _, sm := range []Sample{
		{Stream: true, FirstToken: time.Second, Total: 2 * time.Second, CompletionTokens: 1},
		{Stream: true, FirstToken: time.Second, Total: 2 * time.Second},
		{Stream: true, FirstToken: time.Second, Total: time.Second, CompletionTokens: 50},
		{Stream: false, FirstToken: time.Second, Total: 2 * time.Second, CompletionTokens: 50},
	} {
		r := NewRoute()
		s.ObserveSuccess(r, 0, sm, t0)
		assert.Zero(t, s.Snapshot(r, t0).DecodeSamples, "%+v", sm)
	}
}

func TestObserveSuccessNonStreamTTFT(t *testing.T) {
	s := New(Config{})
	r := NewRoute()
	nonStream := Sample{FirstToken: 2900 * time.Millisecond, Total: 3 * time.Second, CompletionTokens: 200}

	// No decode speed known yet: the whole time counts as TTFT.
	s.ObserveSuccess(r, 1, nonStream, t0)
	assert.InDelta(t, 3000, s.Snapshot(r, t0).Buckets[1].TTFTMillis, 1e-9)

	// Once a stream taught the speed (10ms a token), the decode time of the
	// completion comes off, of the earlier sample too: 3000 - 200*10.
	s.ObserveSuccess(r, 5, Sample{Stream: true, FirstToken: time.Second, Total: 2 * time.Second, CompletionTokens: 101}, t0)
	s.ObserveSuccess(r, 2, nonStream, t0)
	snap := s.Snapshot(r, t0)
	assert.InDelta(t, 1000, snap.Buckets[1].TTFTMillis, 1e-9)
	assert.InDelta(t, 1000, snap.Buckets[2].TTFTMillis, 1e-9)

	// With the speed as known when read: a stream at 5ms a token makes the
	// mean 7.5ms, so 3000 - 200*7.5.
	s.ObserveSuccess(r, 5, Sample{Stream: true, FirstToken: time.Second, Total: 1500 * time.Millisecond, CompletionTokens: 101}, t0)
	assert.InDelta(t, 1500, s.Snapshot(r, t0).Buckets[2].TTFTMillis, 1e-9)

	// Never below 0.
	s.ObserveSuccess(r, 3, Sample{Total: time.Second, CompletionTokens: 500}, t0)
	assert.Equal(t, BucketSnapshot{TTFTMillis: 0, Samples: 1}, s.Snapshot(r, t0).Buckets[3])

	// Unknown completion size: nothing to take off.
	s.ObserveSuccess(r, 4, Sample{Total: time.Second}, t0)
	assert.InDelta(t, 1000, s.Snapshot(r, t0).Buckets[4].TTFTMillis, 1e-9)
}

func TestObserveSuccessStreamWithoutFirstToken(t *testing.T) {
	s := New(Config{})
	r := NewRoute()
	s.ObserveSuccess(r, 0, Sample{Stream: true, Total: 700 * time.Millisecond, CompletionTokens: 10}, t0)
	snap := s.Snapshot(r, t0)
	assert.InDelta(t, 700, snap.Buckets[0].TTFTMillis, 1e-9, "treated like a non-streaming sample, not as 0")
	assert.Zero(t, snap.DecodeSamples)
}

func TestObserveSuccessClamps(t *testing.T) {
	s := New(Config{})
	r := NewRoute()
	s.ObserveSuccess(r, -1, streamed(10*time.Millisecond), t0)
	s.ObserveSuccess(r, NumBuckets+3, streamed(20*time.Millisecond), t0)
	s.ObserveSuccess(r, 3, Sample{Total: -time.Second, CompletionTokens: -4}, t0)
	snap := s.Snapshot(r, t0)
	assert.Equal(t, BucketSnapshot{TTFTMillis: 10, Samples: 1}, snap.Buckets[0])
	assert.Equal(t, BucketSnapshot{TTFTMillis: 20, Samples: 1}, snap.Buckets[NumBuckets-1])
	assert.Equal(t, BucketSnapshot{TTFTMillis: 0, Samples: 1}, snap.Buckets[3])
	assert.Zero(t, snap.MeanCompletionTokens)
}

func TestObserveSuccessCompletionMean(t *testing.T) {
	s := New(Config{})
	r := NewRoute()
	s.ObserveSuccess(r, 0, Sample{Total: time.Second, CompletionTokens: 100}, t0)
	s.ObserveSuccess(r, 0, Sample{Total: time.Second, CompletionTokens: 300}, t0)
	s.ObserveSuccess(r, 0, Sample{Total: time.Second}, t0) // unknown: not a 0
	assert.InDelta(t, 200, s.Snapshot(r, t0).MeanCompletionTokens, 1e-9)
}

func TestObserveSuccessLastSampleNeverGoesBack(t *testing.T) {
	s := New(Config{})
	r := NewRoute()
	s.ObserveSuccess(r, 0, streamed(time.Millisecond), t0.Add(time.Minute))
	s.ObserveSuccess(r, 0, streamed(time.Millisecond), t0)
	assert.Equal(t, t0.Add(time.Minute), s.Snapshot(r, t0).LastSample)
}

func TestObserveNilRoute(t *testing.T) {
	s := New(Config{})
	assert.NotPanics(t, func() {
		s.ObserveSuccess(nil, 0, streamed(time.Second), t0)
		s.ObserveFailure(nil, Failure{}, t0)
	})
	assert.True(t, s.Admit(nil, t0))
	assert.Equal(t, Snapshot{}, s.Snapshot(nil, t0))
}

func TestObserveDoesNotAllocate(t *testing.T) {
	s := New(Config{})
	r := NewRoute()
	sm := Sample{Stream: true, FirstToken: 300 * time.Millisecond, Total: 2 * time.Second, CompletionTokens: 120}
	assert.Zero(t, testing.AllocsPerRun(100, func() { s.ObserveSuccess(r, 2, sm, t0) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { s.ObserveFailure(r, Failure{RetryAfter: time.Second}, t0) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { s.Admit(r, t0) }))
}

func BenchmarkObserveSuccess(b *testing.B) {
	b.ReportAllocs()
	s := New(Config{})
	r := NewRoute()
	now := t0
	sm := Sample{Stream: true, FirstToken: 300 * time.Millisecond, Total: 2 * time.Second, CompletionTokens: 120}
	for b.Loop() {
		now = now.Add(time.Millisecond)
		s.ObserveSuccess(r, 2, sm, now)
	}
}
