package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A health probe closes a breaker only when the breaker opened for what a
// probe can prove fixed: the key, the model, the connection.
func TestProbeClosesOnlyWhatItCanProve(t *testing.T) {
	s := New(Config{FailureThreshold: 1})
	sec := time.Second
	for _, c := range []struct {
		kind   FailureKind
		closes bool
	}{
		{FailureAuth, true}, {FailureNotFound, true}, {FailureConnection, true},
		{FailureServer, false}, {FailureRateLimit, false}, {FailureQuota, false},
	} {
		r := NewRoute()
		s.ObserveFailure(r, Failure{Kind: c.kind}, t0)
		snap := s.Snapshot(r, t0.Add(sec))
		assert.Equal(t, Open, snap.Breaker, c.kind.String())
		assert.Equal(t, c.kind, snap.Cause)
		assert.Equal(t, c.closes, r.ObserveProbe(t0.Add(sec)), c.kind.String())
		want := Open
		if c.closes {
			want = Closed
		}
		assert.Equal(t, want, s.Snapshot(r, t0.Add(sec)).Breaker, c.kind.String())
	}

	// A probe started before the opening says nothing about it.
	r := NewRoute()
	s.ObserveFailure(r, Failure{Kind: FailureAuth}, t0)
	assert.False(t, r.ObserveProbe(t0.Add(-sec)))

	// Open for a connection, then throttled by an attempt still in flight:
	// only a real request may close it now.
	r = NewRoute()
	s.ObserveFailure(r, Failure{Kind: FailureConnection}, t0)
	s.ObserveFailure(r, Failure{Kind: FailureRateLimit, RetryAfter: 30 * sec}, t0.Add(sec))
	assert.Equal(t, FailureRateLimit, s.Snapshot(r, t0.Add(2*sec)).Cause)
	assert.False(t, r.ObserveProbe(t0.Add(2*sec)))

	// A closed breaker has nothing to close.
	assert.False(t, NewRoute().ObserveProbe(t0))
}

// Instances merging breakers keep the cause a probe cannot clear, so that
// one instance's probe never ends another's throttling cooldown.
func TestMergeKeepsTheCauseProbesCannotClear(t *testing.T) {
	sec := time.Second
	auth := BreakerRecord{Open: true, OpenedAt: t0, OpenUntil: t0.Add(5 * sec), ConsecutiveFailures: 1, LastFailure: t0,
		Openings: 1, Cause: FailureAuth}
	throttled := BreakerRecord{Open: true, OpenedAt: t0.Add(sec), OpenUntil: t0.Add(60 * sec), ConsecutiveFailures: 1,
		LastFailure: t0.Add(sec), Openings: 1, Cause: FailureRateLimit}
	assert.Equal(t, FailureRateLimit, mergeBreakers(auth, throttled).Cause)
	assert.Equal(t, FailureRateLimit, mergeBreakers(throttled, auth).Cause)
	assert.Equal(t, FailureAuth, mergeBreakers(auth, BreakerRecord{}).Cause)
	// A success after both openings closes the lot, cause and all.
	assert.Equal(t, BreakerRecord{LastSuccessStart: t0.Add(2 * sec)},
		mergeBreakers(auth, BreakerRecord{LastSuccessStart: t0.Add(2 * sec)}))
}
