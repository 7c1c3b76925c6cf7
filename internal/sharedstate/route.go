package sharedstate

import (
	"sync"
	"time"

	"github.com/caddy-llm/llmrouter/selector"
)

// route is the selector.Route a Shared hands out. It keeps two in-memory
// routes, and touches the network on none of its methods:
//
//   - local holds only what this instance observed: the samples it
//     publishes, so that no instance ever counts another's samples twice;
//   - view is what ranking reads and admits on: local's samples merged with
//     the other instances' (rebuilt each sync round, see Shared.round), and
//     the fleet's breaker, which every instance's failures, probes and
//     published breakers update.
//
// Observations go to both. Only the breaker of view matters (local's is
// kept by the in-memory route but never read): it is the one this
// instance publishes, and the one a failure here is judged against.
type route struct {
	key    string
	shared *Shared
	local  selector.Route
	view   selector.Route
	// mu serializes what changes view's breaker other than a success: the
	// failure path (which compares the breaker before and after), breakers
	// absorbed from other instances and the sync's rebase. The success and
	// ranking paths do not take it.
	mu sync.Mutex
	// refs counts the Route calls not yet released; guarded by Shared.mu.
	refs int
}

var _ selector.Route = (*route)(nil)

func newRoute(s *Shared, key string) *route {
	return &route{key: key, shared: s, local: selector.NewRoute(), view: selector.NewRoute()}
}

// ReadInto implements selector.Route: it reads the fleet's view.
func (r *route) ReadInto(rd *selector.Reading, bucket int, basis selector.TTFTBasis, now time.Time, demotion time.Duration) {
	r.view.ReadInto(rd, bucket, basis, now, demotion)
}

// Admit implements selector.Route, on the fleet's breaker. A half-open
// breaker admits one probe per instance.
func (r *route) Admit(now time.Time, probeTimeout time.Duration) bool {
	return r.view.Admit(now, probeTimeout)
}

// ObserveSuccess implements selector.Route.
func (r *route) ObserveSuccess(bucket int, sm selector.Sample, now time.Time, halfLife time.Duration) {
	r.local.ObserveSuccess(bucket, sm, now, halfLife)
	r.view.ObserveSuccess(bucket, sm, now, halfLife)
}

// ObserveFailure implements selector.Route. When the failure opens the
// fleet's breaker, or makes its cooldown longer, the breaker is handed to
// the publisher, without waiting.
func (r *route) ObserveFailure(f selector.Failure, now time.Time, cfg selector.Config) {
	r.local.ObserveFailure(f, now, cfg)
	r.mu.Lock()
	before := r.view.State().Breaker
	r.view.ObserveFailure(f, now, cfg)
	after := r.view.State().Breaker
	r.mu.Unlock()
	if after.Open && (!before.Open || !after.OpenedAt.Equal(before.OpenedAt) || after.OpenUntil.After(before.OpenUntil)) {
		r.shared.publishBreaker(r.key, after, now)
	}
}

// ObserveProbe implements selector.Route. A probe that closes the fleet's
// breaker reaches the other instances as a success does: through the
// breaker's LastSuccessStart in the next sync round, which Merge reads as
// the end of every opening that started before it.
func (r *route) ObserveProbe(started time.Time) bool {
	r.local.ObserveProbe(started)
	r.mu.Lock()
	closed := r.view.ObserveProbe(started)
	r.mu.Unlock()
	return closed
}

// Snapshot implements selector.Route: the fleet's view.
func (r *route) Snapshot(now time.Time) selector.Snapshot { return r.view.Snapshot(now) }

// ClaimStaleExploration implements selector.Route.
func (r *route) ClaimStaleExploration(now time.Time, every time.Duration) bool {
	return r.view.ClaimStaleExploration(now, every)
}

// State implements selector.Route: what the fleet learned, as this
// instance knows it.
func (r *route) State() selector.State { return r.view.State() }

// Load implements selector.Route: it loads the fleet's view, which the next
// sync round rebuilds from what the instances publish. What this instance
// publishes (its own observations) is left alone.
func (r *route) Load(st selector.State) {
	r.mu.Lock()
	r.view.Load(st)
	r.mu.Unlock()
}

// Absorb implements selector.Route, into the fleet's view.
func (r *route) Absorb(st selector.State, halfLife time.Duration) {
	r.mu.Lock()
	r.view.Absorb(st, halfLife)
	r.mu.Unlock()
}

// Rebase implements selector.Route, on the fleet's view.
func (r *route) Rebase(st selector.State) {
	r.mu.Lock()
	r.view.Rebase(st)
	r.mu.Unlock()
}

// published returns what this instance publishes for the route: its own
// samples, and the fleet's breaker as it knows it (merging breakers twice
// is harmless: they merge by max and latest, not by sum).
func (r *route) published() selector.State {
	st := r.local.State()
	r.mu.Lock()
	st.Breaker = r.view.State().Breaker
	r.mu.Unlock()
	return st
}

// rebuild sets the fleet's view to this instance's samples merged with
// others' (the other instances' published states and breakers, merged),
// and merges others' breaker into the view's. A sample observed between
// the read of local and the rebase is missing from the view until the next
// round (it is in local, so it is not lost); a breaker change cannot be
// missed, since the breaker is merged, not replaced.
func (r *route) rebuild(others selector.State, halfLife time.Duration) {
	mine := r.local.State()
	mine.Breaker = selector.BreakerRecord{}
	r.Rebase(selector.Merge(mine, others, halfLife))
}
