package selector

import (
	"sync"
	"time"
)

// RouteStats holds what was learned about one route (one vendor serving one
// model): latency per prompt-size bucket, completion sizes and failures.
// It is safe for concurrent use.
//
// Hold the pointer: looking it up is the [Store]'s job and happens once per
// config load, not per request. The zero value is ready to use.
type RouteStats struct {
	mu sync.Mutex
	// latency is the time to first byte, in milliseconds, per bucket.
	latency    [NumBuckets]decayingMean
	completion decayingMean
	health     health
}

// ObserveLatency records the time to first byte of a successful attempt
// with a prompt in the given bucket. A bucket out of range is clamped into
// [0, NumBuckets) and a negative latency counts as 0. A success also ends
// the run of consecutive failures (but not a cooldown already running, see
// [RouteStats.Healthy]).
func (s *RouteStats) ObserveLatency(bucket int, latency time.Duration, now time.Time) {
	bucket = min(max(bucket, 0), NumBuckets-1)
	ms := max(float64(latency)/float64(time.Millisecond), 0)
	s.mu.Lock()
	s.latency[bucket].observe(ms, now)
	s.health.success()
	s.mu.Unlock()
}

// ObserveCompletion records the completion tokens of a finished response.
// Their time-decayed mean is what the Price strategy expects a request
// without max_tokens to produce. Negative counts are ignored.
func (s *RouteStats) ObserveCompletion(completionTokens int, now time.Time) {
	if completionTokens < 0 {
		return
	}
	s.mu.Lock()
	s.completion.observe(float64(completionTokens), now)
	s.mu.Unlock()
}

// bucketLatency returns the latency in milliseconds to expect from a route
// with the given bucket means for a prompt in bucket b. A bucket without
// samples borrows from the nearest buckets that have some, averaging the two
// when one on each side is equally near: prompt size changes latency
// smoothly, so a neighbour is a better guess than nothing. It reports false
// when no bucket has samples.
func bucketLatency(buckets *[NumBuckets]decayingMean, b int) (float64, bool) {
	if ms, ok := buckets[b].mean(); ok {
		return ms, true
	}
	for d := 1; d < NumBuckets; d++ {
		lo, okLo := meanAt(buckets, b-d)
		hi, okHi := meanAt(buckets, b+d)
		switch {
		case okLo && okHi:
			return (lo + hi) / 2, true
		case okLo:
			return lo, true
		case okHi:
			return hi, true
		}
	}
	return 0, false
}

// averageLatency returns the mean in milliseconds of the bucket means that
// have samples, and false when none has.
func averageLatency(buckets *[NumBuckets]decayingMean) (float64, bool) {
	var sum float64
	n := 0
	for i := range buckets {
		if ms, ok := buckets[i].mean(); ok {
			sum += ms
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

// meanAt is buckets[i].mean() for an index that may be out of range.
func meanAt(buckets *[NumBuckets]decayingMean, i int) (float64, bool) {
	if i < 0 || i >= NumBuckets {
		return 0, false
	}
	return buckets[i].mean()
}
