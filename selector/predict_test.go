package selector

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withBuckets returns stats with one exact TTFT sample of ms[b] in each
// bucket b present in ms.
func withBuckets(ms map[int]float64) *stats {
	var r stats
	for b, v := range ms {
		r.ttft[b].observe(v, 0, t0, hl)
	}
	return &r
}

func TestBucketTTFT(t *testing.T) {
	cases := []struct {
		name   string
		ms     map[int]float64
		bucket int
		want   float64
	}{
		{"own bucket", map[int]float64{1: 50, 2: 90, 3: 500}, 2, 90},
		{"both neighbours: their average", map[int]float64{1: 50, 3: 150, 5: 900}, 2, 100},
		{"lower neighbour", map[int]float64{1: 50, 5: 900}, 2, 50},
		{"upper neighbour", map[int]float64{3: 150, 5: 900}, 2, 150},
		{"edge bucket, one neighbour", map[int]float64{1: 40}, 0, 40},
		{"last bucket", map[int]float64{4: 70}, NumBuckets - 1, 70},
		{"no neighbour: route average", map[int]float64{0: 100, 5: 500}, 2, 300},
		{"no neighbour, single bucket", map[int]float64{5: 700}, 0, 700},
	}
	for _, c := range cases {
		got, ok := withBuckets(c.ms).bucketTTFT(c.bucket)
		require.True(t, ok, c.name)
		assert.InDelta(t, c.want, got, 1e-9, c.name)
	}
	_, ok := withBuckets(nil).bucketTTFT(3)
	assert.False(t, ok)
}

func TestAverageTTFT(t *testing.T) {
	got, ok := withBuckets(map[int]float64{0: 100, 3: 200, 5: 600}).averageTTFT()
	require.True(t, ok)
	assert.InDelta(t, 300, got, 1e-9)

	_, ok = withBuckets(nil).averageTTFT()
	assert.False(t, ok)
}

func TestTTFTAtOutOfRange(t *testing.T) {
	r := withBuckets(map[int]float64{0: 1, 5: 1})
	for _, b := range []int{-1, NumBuckets} {
		_, ok := r.ttftAt(b)
		assert.False(t, ok, "bucket %d", b)
	}
}

func TestLatencyCompletion(t *testing.T) {
	assert.Equal(t, 50.0, latencyCompletion(100, 50, true), "the mean, under max_tokens")
	assert.Equal(t, 30.0, latencyCompletion(30, 50, true), "capped by max_tokens")
	assert.Equal(t, 50.0, latencyCompletion(0, 50, true))
	assert.Equal(t, 100.0, latencyCompletion(100, 0, false), "max_tokens without a mean")
	assert.Equal(t, float64(DefaultExpectedCompletionTokens), latencyCompletion(0, 0, false))
}
