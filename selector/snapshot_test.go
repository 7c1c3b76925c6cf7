package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSnapshotZero(t *testing.T) {
	assert.Equal(t, Snapshot{Breaker: Closed}, New(Config{}).Snapshot(NewRoute(), t0))
}

func TestSnapshot(t *testing.T) {
	s := New(Config{})
	r := NewRoute()
	s.ObserveSuccess(r, 1, Sample{Stream: true, FirstToken: 200 * time.Millisecond, Total: 1200 * time.Millisecond, CompletionTokens: 51}, t0)
	s.ObserveSuccess(r, 4, streamed(900*time.Millisecond), t0)
	s.ObserveFailure(r, Failure{}, t0)
	s.ObserveFailure(r, Failure{Kind: FailureNotFound}, t0)

	want := Snapshot{
		DecodeTokensPerSec:   50,
		DecodeSamples:        1,
		MeanCompletionTokens: 51,
		Successes:            2,
		Failures:             2,
		ConsecutiveFailures:  2,
		Breaker:              Open,
		OpenUntil:            t0.Add(DefaultCooldownBase),
		Cause:                FailureNotFound,
		LastSample:           t0,
	}
	want.Buckets[1] = BucketSnapshot{TTFTMillis: 200, Samples: 1}
	want.Buckets[4] = BucketSnapshot{TTFTMillis: 900, Samples: 1}
	assert.Equal(t, want, s.Snapshot(r, t0))

	later := s.Snapshot(r, t0.Add(time.Hour))
	assert.Equal(t, HalfOpen, later.Breaker)
	assert.Equal(t, t0.Add(DefaultCooldownBase), later.OpenUntil, "when it became half-open")

	s.ObserveSuccess(r, 1, streamed(time.Millisecond), t0.Add(time.Hour))
	closed := s.Snapshot(r, t0.Add(time.Hour))
	assert.Equal(t, Closed, closed.Breaker)
	assert.True(t, closed.OpenUntil.IsZero())
	assert.Zero(t, closed.ConsecutiveFailures)
	assert.Equal(t, int64(2), closed.Failures, "counts are not reset")
}
