package selector

import (
	"sync"
	"sync/atomic"
	"time"
)

// RouteStats holds what was learned about one route (one vendor serving one
// model): time to first token per prompt-size bucket, decode speed,
// completion sizes, outcome counts and the route's breaker. A Selector reads
// and updates it; it is safe for concurrent use.
//
// Hold the pointer: looking it up is the [Store]'s job and happens once per
// config load, not per request. The zero value is ready to use.
type RouteStats struct {
	mu sync.Mutex
	// ttft is the time to first token in milliseconds, per bucket.
	ttft [NumBuckets]ttftMean
	// decode is the time per completion token after the first, in
	// milliseconds. The mean of times rather than of speeds is kept because
	// predictions add times up: tokens x mean time per token is the expected
	// decode time, tokens / mean speed is not.
	decode decayingMean
	// completion is the number of completion tokens per response.
	completion decayingMean
	successes  int64
	failures   int64
	// lastSample is when the newest success was observed; zero if none.
	lastSample time.Time
	breaker    breaker
	// exploreClaim is the time (Unix nanoseconds) at which a Rank last sent
	// a request to refresh this route's stale stats. It is atomic, outside
	// mu, so that of many concurrent requests only one claims the refresh.
	exploreClaim atomic.Int64
}

// claimStaleExploration reports whether the caller may send a request to
// refresh r, because nobody else claimed that within every before now.
func (r *RouteStats) claimStaleExploration(now time.Time, every time.Duration) bool {
	t := now.UnixNano()
	old := r.exploreClaim.Load()
	if old != 0 && t-old < int64(every) {
		return false
	}
	return r.exploreClaim.CompareAndSwap(old, t)
}
