package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withBuckets returns bucket means with one sample of ms[b] in each bucket b
// present in ms.
func withBuckets(ms map[int]float64) *[NumBuckets]decayingMean {
	var bs [NumBuckets]decayingMean
	for b, v := range ms {
		bs[b].observe(v, t0)
	}
	return &bs
}

func TestBucketLatencyOwnBucket(t *testing.T) {
	got, ok := bucketLatency(withBuckets(map[int]float64{1: 50, 2: 90}), 2)
	require.True(t, ok)
	assert.Equal(t, 90.0, got)
}

func TestBucketLatencyBorrowsNearest(t *testing.T) {
	bs := withBuckets(map[int]float64{0: 10, 4: 400, 5: 500})
	cases := []struct {
		bucket int
		want   float64
	}{
		{1, 10},  // 0 is nearer than 4
		{3, 400}, // 4 is nearer than 0
		{2, 205}, // 0 and 4 are equally near: average
	}
	for _, c := range cases {
		got, ok := bucketLatency(bs, c.bucket)
		require.True(t, ok)
		assert.Equal(t, c.want, got, "bucket %d", c.bucket)
	}
}

func TestBucketLatencyEdges(t *testing.T) {
	got, ok := bucketLatency(withBuckets(map[int]float64{5: 70}), 0)
	require.True(t, ok)
	assert.Equal(t, 70.0, got)

	got, ok = bucketLatency(withBuckets(map[int]float64{0: 30}), NumBuckets-1)
	require.True(t, ok)
	assert.Equal(t, 30.0, got)

	_, ok = bucketLatency(withBuckets(nil), 3)
	assert.False(t, ok)
}

func TestAverageLatency(t *testing.T) {
	got, ok := averageLatency(withBuckets(map[int]float64{0: 100, 3: 200, 5: 600}))
	require.True(t, ok)
	assert.InDelta(t, 300, got, 1e-9)

	_, ok = averageLatency(withBuckets(nil))
	assert.False(t, ok)
}

func TestObserveLatency(t *testing.T) {
	var s RouteStats
	s.ObserveLatency(2, 120*time.Millisecond, t0)
	s.ObserveLatency(2, 80*time.Millisecond, t0)
	snap := s.Snapshot(t0)
	assert.Equal(t, BucketSnapshot{LatencyMS: 100, Samples: 2}, snap.Buckets[2])
	assert.Equal(t, BucketSnapshot{}, snap.Buckets[1])
}

func TestObserveLatencyClamps(t *testing.T) {
	var s RouteStats
	s.ObserveLatency(-1, 10*time.Millisecond, t0)
	s.ObserveLatency(NumBuckets+3, 20*time.Millisecond, t0)
	s.ObserveLatency(3, -time.Second, t0)
	snap := s.Snapshot(t0)
	assert.Equal(t, BucketSnapshot{LatencyMS: 10, Samples: 1}, snap.Buckets[0])
	assert.Equal(t, BucketSnapshot{LatencyMS: 20, Samples: 1}, snap.Buckets[NumBuckets-1])
	assert.Equal(t, BucketSnapshot{LatencyMS: 0, Samples: 1}, snap.Buckets[3])
}

func TestObserveCompletion(t *testing.T) {
	var s RouteStats
	s.ObserveCompletion(100, t0)
	s.ObserveCompletion(300, t0)
	s.ObserveCompletion(-5, t0) // ignored
	assert.InDelta(t, 200, s.Snapshot(t0).MeanCompletionTokens, 1e-9)
}

func BenchmarkObserveLatency(b *testing.B) {
	b.ReportAllocs()
	var s RouteStats
	now := t0
	for b.Loop() {
		now = now.Add(time.Millisecond)
		s.ObserveLatency(2, 250*time.Millisecond, now)
	}
}
