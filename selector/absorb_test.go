package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A success whose attempt started at or after the other side's opening
// ends that opening in a merge, as it would have on one instance; one that
// started before it (a straggler) does not.
func TestMergeSuccessEndsOlderOpening(t *testing.T) {
	sec := time.Second
	open := BreakerRecord{Open: true, OpenedAt: t0, OpenUntil: t0.Add(5 * sec), ConsecutiveFailures: 3, LastFailure: t0, Openings: 1}
	merge := func(a, b BreakerRecord) BreakerRecord {
		t.Helper()
		ab := Merge(State{Breaker: a}, State{Breaker: b}, hl).Breaker
		assert.Equal(t, ab, Merge(State{Breaker: b}, State{Breaker: a}, hl).Breaker, "merge is symmetric")
		return ab
	}

	probe := BreakerRecord{LastSuccessStart: t0.Add(6 * sec)}
	assert.Equal(t, probe, merge(open, probe), "the probe's success ends the opening")
	assert.Equal(t, BreakerRecord{LastSuccessStart: t0}, merge(open, BreakerRecord{LastSuccessStart: t0}),
		"an attempt started at the opening counts, as on one instance")

	straggler := BreakerRecord{LastSuccessStart: t0.Add(-sec)}
	want := open
	want.LastSuccessStart = straggler.LastSuccessStart
	assert.Equal(t, want, merge(open, straggler), "a straggler does not end the opening")

	// An opening after the success stands, and keeps the success's time.
	reopened := BreakerRecord{Open: true, OpenedAt: t0.Add(7 * sec), OpenUntil: t0.Add(17 * sec), ConsecutiveFailures: 1, LastFailure: t0.Add(7 * sec), Openings: 2}
	want = reopened
	want.LastSuccessStart = probe.LastSuccessStart
	assert.Equal(t, want, merge(reopened, probe))

	// Failures in a row end with a success started after the last of them.
	failing := BreakerRecord{ConsecutiveFailures: 2, LastFailure: t0}
	assert.Equal(t, BreakerRecord{LastSuccessStart: t0.Add(sec)}, merge(failing, BreakerRecord{LastSuccessStart: t0.Add(sec)}))
	want = failing
	want.LastSuccessStart = t0.Add(-sec)
	assert.Equal(t, want, merge(failing, BreakerRecord{LastSuccessStart: t0.Add(-sec)}))

	// The newest success is what counts, whichever side holds it.
	both := open
	both.LastSuccessStart = t0.Add(-2 * sec)
	assert.Equal(t, probe, merge(both, probe))
}

// The scenario mergeBreakers' rule exists for, on routes: B honours the
// breaker A opened, B's probe then succeeds, and A's stale breaker, merged
// again into B (A has not heard of the probe yet), must not re-open B;
// merged into A, B's state closes A's breaker.
func TestProbeSuccessSurvivesStalePublishedBreaker(t *testing.T) {
	a, b := NewRoute(), NewRoute()
	noExplore.ObserveFailure(a, Failure{Kind: FailureAuth}, t0)
	stale := a.State()
	require.True(t, stale.Breaker.Open)

	b.Absorb(State{Breaker: stale.Breaker}, hl)
	assert.Equal(t, Open, noExplore.Snapshot(b, t0.Add(time.Second)).Breaker, "B honours A's breaker")
	assert.False(t, noExplore.Admit(b, t0.Add(time.Second)))

	after := t0.Add(DefaultCooldownBase)
	require.True(t, noExplore.Admit(b, after), "B's probe")
	noExplore.ObserveSuccess(b, 0, streamed(100*time.Millisecond), after.Add(100*time.Millisecond))
	require.Equal(t, Closed, noExplore.Snapshot(b, after).Breaker)

	b.Absorb(State{Breaker: stale.Breaker}, hl)
	assert.Equal(t, Closed, noExplore.Snapshot(b, after.Add(time.Second)).Breaker, "A's stale breaker does not re-open B")
	b.Rebase(State{Breaker: stale.Breaker})
	assert.Equal(t, Closed, noExplore.Snapshot(b, after.Add(time.Second)).Breaker, "nor does a rebase")

	a.Absorb(b.State(), hl)
	assert.Equal(t, Closed, noExplore.Snapshot(a, after.Add(time.Second)).Breaker, "B's probe closes A's breaker")
	assert.True(t, noExplore.Admit(a, after.Add(time.Second)))
}

// A long answer that started before A's breaker opened and ends on B after
// it says nothing about the route since: merged into A, it leaves A open.
func TestStragglerOnAnotherInstanceDoesNotCloseBreaker(t *testing.T) {
	a, b := NewRoute(), NewRoute()
	noExplore.ObserveFailure(a, Failure{Kind: FailureQuota}, t0)
	noExplore.ObserveSuccess(b, 0, Sample{Stream: true, FirstToken: time.Second, Total: 20 * time.Second}, t0.Add(10*time.Second))
	a.Absorb(b.State(), hl)
	assert.Equal(t, Open, noExplore.Snapshot(a, t0.Add(11*time.Second)).Breaker)
	assert.Equal(t, int64(1), a.State().Successes, "the sample itself counts")
}

// A straggler on the same route does not close it either, but its start is
// remembered.
func TestStragglerKeepsItsStart(t *testing.T) {
	r := NewRoute()
	noExplore.ObserveFailure(r, Failure{Kind: FailureAuth}, t0)
	noExplore.ObserveSuccess(r, 0, Sample{Total: 3 * time.Second}, t0.Add(time.Second))
	st := r.State()
	assert.True(t, st.Breaker.Open)
	assert.Equal(t, t0.Add(-2*time.Second), st.Breaker.LastSuccessStart)
}

// Absorb is Load(Merge(State(), st)) in one step, keeping the probe in flight.
func TestAbsorbMerges(t *testing.T) {
	a, b := NewRoute(), NewRoute()
	for i, x := range mergeSamples {
		r := a
		if i%2 == 1 {
			r = b
		}
		noExplore.ObserveSuccess(r, x.bucket, x.sm, t0.Add(time.Duration(i)*time.Second))
	}
	noExplore.ObserveFailure(b, Failure{Kind: FailureNotFound}, t0.Add(time.Minute))
	want := Merge(a.State(), b.State(), hl)

	after := t0.Add(time.Minute + DefaultCooldownBase)
	a.Absorb(State{Breaker: b.State().Breaker}, hl)
	require.True(t, noExplore.Admit(a, after), "the probe")
	a.Absorb(b.State(), hl)
	got := a.State()
	assert.Equal(t, want.Successes, got.Successes)
	assert.Equal(t, want.Breaker, got.Breaker)
	merged := NewRoute()
	merged.Load(want)
	assertSameLearning(t, merged.Snapshot(after), a.Snapshot(after))
	assert.False(t, noExplore.Admit(a, after), "the probe is still in flight")
}

// Rebase replaces the samples but merges the breaker, keeping a breaker
// opened here since the state it is given was made.
func TestRebaseReplacesSamplesMergesBreaker(t *testing.T) {
	here, fleet := NewRoute(), NewRoute()
	noExplore.ObserveSuccess(here, 0, streamed(time.Second), t0)
	for i := range 4 {
		noExplore.ObserveSuccess(fleet, 1, streamed(200*time.Millisecond), t0.Add(time.Duration(i)*time.Second))
	}
	noExplore.ObserveFailure(here, Failure{Kind: FailureAuth}, t0.Add(10*time.Second))

	here.Rebase(fleet.State())
	st := here.State()
	assert.Equal(t, int64(4), st.Successes, "samples replaced")
	assert.Equal(t, 0, st.Buckets[0].Samples)
	assert.Equal(t, 4, st.Buckets[1].Samples)
	assert.True(t, st.Breaker.Open, "the breaker opened here stands")

	// And a breaker in the given state opens the route.
	closed := NewRoute()
	closed.Rebase(State{Breaker: st.Breaker})
	assert.Equal(t, Open, noExplore.Snapshot(closed, t0.Add(11*time.Second)).Breaker)
}
