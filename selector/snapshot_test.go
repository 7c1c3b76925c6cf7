package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSnapshotZero(t *testing.T) {
	var s RouteStats
	assert.Equal(t, Snapshot{Healthy: true}, s.Snapshot(t0))
}

func TestSnapshot(t *testing.T) {
	var s RouteStats
	s.ObserveLatency(1, 200*time.Millisecond, t0)
	s.ObserveLatency(4, 900*time.Millisecond, t0)
	s.ObserveCompletion(42, t0)
	s.ObserveFailure(t0)
	s.ObserveFailure(t0)

	want := Snapshot{
		ConsecutiveFailures:  2,
		Healthy:              false,
		CooldownUntil:        t0.Add(2 * CooldownBase),
		MeanCompletionTokens: 42,
	}
	want.Buckets[1] = BucketSnapshot{LatencyMS: 200, Samples: 1}
	want.Buckets[4] = BucketSnapshot{LatencyMS: 900, Samples: 1}
	assert.Equal(t, want, s.Snapshot(t0))

	later := s.Snapshot(t0.Add(time.Hour))
	assert.True(t, later.Healthy)
	assert.Equal(t, t0.Add(2*CooldownBase), later.CooldownUntil, "the last cooldown stays visible")
}
