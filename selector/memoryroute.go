package selector

import (
	"sync"
	"sync/atomic"
	"time"
)

// memoryRoute is the Route kept in this process's memory. Every access to
// its guarded fields is in this file: each method takes the lock once and
// hands the work to the plain types (stats, breaker), which know nothing
// of locking.
type memoryRoute struct {
	mu      sync.Mutex
	stats   stats   // guarded by mu
	breaker breaker // guarded by mu
	// exploreClaim is the time (Unix nanoseconds) at which a Rank last sent
	// a request to refresh this route's stale stats. It is atomic, outside
	// mu, so that of many concurrent requests only one claims the refresh.
	exploreClaim atomic.Int64
}

// NewRoute returns an in-memory Route that has learned nothing yet.
func NewRoute() Route {
	return new(memoryRoute)
}

var _ Route = (*memoryRoute)(nil)

// ReadInto implements Route. It holds the lock only to read, and writes rd
// field by field: a composite literal would be built aside and copied.
func (r *memoryRoute) ReadInto(rd *Reading, bucket int, basis TTFTBasis, now time.Time, demotion time.Duration) {
	r.mu.Lock()
	state := r.breaker.state(now)
	var openUntil time.Time
	var probeFree, demoted bool
	switch state {
	case Open:
		openUntil = r.breaker.openUntil
	case HalfOpen:
		openUntil = r.breaker.openUntil
		probeFree = r.breaker.probeFree(now)
	default:
		demoted = r.breaker.demoted(now, demotion)
	}
	var ttft float64
	var measured bool
	if basis == AverageTTFT {
		ttft, measured = r.stats.averageTTFT()
	} else {
		ttft, measured = r.stats.bucketTTFT(bucket)
	}
	perToken, decodes := r.stats.decode.mean()
	lastSample := r.stats.lastSample
	completion := r.stats.completion
	var spread float64
	if r.stats.spread.n >= minSpreadSamples {
		spread, _ = r.stats.spread.mean()
	}
	r.mu.Unlock()

	rd.Breaker, rd.Demoted, rd.ProbeFree = state, demoted, probeFree
	rd.Measured, rd.Decodes = measured, decodes
	rd.TTFT, rd.PerToken, rd.TTFTSpread = ttft, perToken, spread
	rd.OpenUntil, rd.LastSample = openUntil, lastSample
	completion.stateInto(&rd.Completion)
}

// Admit implements Route.
func (r *memoryRoute) Admit(now time.Time, probeTimeout time.Duration) bool {
	r.mu.Lock()
	ok := r.breaker.admit(now, probeTimeout)
	r.mu.Unlock()
	return ok
}

// ObserveSuccess implements Route.
func (r *memoryRoute) ObserveSuccess(bucket int, sm Sample, now time.Time, halfLife time.Duration) {
	r.mu.Lock()
	r.stats.observe(bucket, &sm, now, halfLife)
	r.breaker.success(sm.started(now))
	r.mu.Unlock()
}

// ObserveFailure implements Route.
func (r *memoryRoute) ObserveFailure(f Failure, now time.Time, cfg Config) {
	r.mu.Lock()
	r.stats.failures++
	r.breaker.failure(&cfg, f, now)
	r.mu.Unlock()
}

// ObserveProbe implements Route.
func (r *memoryRoute) ObserveProbe(started time.Time) bool {
	r.mu.Lock()
	closed := r.breaker.probed(started)
	r.mu.Unlock()
	return closed
}

// Snapshot implements Route.
func (r *memoryRoute) Snapshot(now time.Time) Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	snap := r.stats.snapshot()
	snap.ConsecutiveFailures = r.breaker.consecutive
	snap.Breaker = r.breaker.state(now)
	if snap.Breaker != Closed {
		snap.OpenUntil, snap.Cause = r.breaker.openUntil, r.breaker.cause
	}
	return snap
}

// ClaimStaleExploration implements Route.
func (r *memoryRoute) ClaimStaleExploration(now time.Time, every time.Duration) bool {
	t := now.UnixNano()
	old := r.exploreClaim.Load()
	if old != 0 && t-old < int64(every) {
		return false
	}
	return r.exploreClaim.CompareAndSwap(old, t)
}

// State implements Route.
func (r *memoryRoute) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.stats.state()
	st.Breaker = r.breaker.record()
	return st
}

// Load implements Route.
func (r *memoryRoute) Load(st State) {
	r.mu.Lock()
	r.stats.load(&st)
	r.breaker.load(st.Breaker)
	r.mu.Unlock()
}

// Absorb implements Route.
func (r *memoryRoute) Absorb(st State, halfLife time.Duration) {
	r.mu.Lock()
	cur := r.stats.state()
	cur.Breaker = r.breaker.record()
	merged := Merge(cur, st, halfLife)
	r.stats.load(&merged)
	r.breaker.load(merged.Breaker)
	r.mu.Unlock()
}

// Rebase implements Route.
func (r *memoryRoute) Rebase(st State) {
	r.mu.Lock()
	r.stats.load(&st)
	r.breaker.load(mergeBreakers(r.breaker.record(), st.Breaker))
	r.mu.Unlock()
}
