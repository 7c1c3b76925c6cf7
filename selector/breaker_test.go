package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// step is one event of a breaker sequence: at time at (from t0), either
// report a failure or a success, or ask Admit, then expect a state.
type step struct {
	at    time.Duration
	fail  *Failure      // report this failure
	ok    time.Duration // > 0: report a success of an attempt this long
	admit *bool         // ask Admit and expect this answer
	want  BreakerState
	until time.Duration // expected OpenUntil (from t0) when want != Closed
}

var (
	yes       = ptr(true)
	no        = ptr(false)
	serverErr = &Failure{Kind: FailureServer}
)

func ptr[T any](v T) *T { return &v }

// runSteps plays steps on a fresh route and checks each expectation.
func runSteps(t *testing.T, s *Selector, steps []step) {
	t.Helper()
	r := NewRoute()
	for i, st := range steps {
		now := t0.Add(st.at)
		switch {
		case st.fail != nil:
			s.ObserveFailure(r, *st.fail, now)
		case st.ok > 0:
			s.ObserveSuccess(r, 0, streamed(st.ok), now)
		case st.admit != nil:
			assert.Equal(t, *st.admit, s.Admit(r, now), "step %d: Admit at %v", i, st.at)
		}
		snap := s.Snapshot(r, now)
		require.Equal(t, st.want, snap.Breaker, "step %d at %v", i, st.at)
		if st.want != Closed {
			assert.Equal(t, t0.Add(st.until), snap.OpenUntil, "step %d: open until", i)
		}
	}
}

func TestBreakerThresholdAndGrowingCooldown(t *testing.T) {
	s := New(Config{}) // threshold 3, cooldown 5s doubling to 5m
	sec := time.Second
	runSteps(t, s, []step{
		{at: 0, admit: yes, want: Closed},
		{at: 0, fail: serverErr, want: Closed},
		{at: 1 * sec, fail: serverErr, want: Closed},
		{at: 2 * sec, fail: serverErr, want: Open, until: 7 * sec}, // third in a row: 5s
		{at: 3 * sec, admit: no, want: Open, until: 7 * sec},
		{at: 4 * sec, fail: serverErr, want: Open, until: 7 * sec}, // in flight: no escalation
		{at: 7 * sec, want: HalfOpen, until: 7 * sec},
		{at: 7 * sec, admit: yes, want: HalfOpen, until: 7 * sec},   // the probe
		{at: 8 * sec, admit: no, want: HalfOpen, until: 7 * sec},    // only one
		{at: 9 * sec, fail: serverErr, want: Open, until: 19 * sec}, // probe failed: 10s
		{at: 19 * sec, admit: yes, want: HalfOpen, until: 19 * sec},
		{at: 20 * sec, fail: serverErr, want: Open, until: 40 * sec}, // 20s
		{at: 40 * sec, admit: yes, want: HalfOpen, until: 40 * sec},
		{at: 41 * sec, ok: 500 * time.Millisecond, want: Closed}, // probe succeeded
		// A success forgot the openings: back to threshold and base cooldown.
		{at: 50 * sec, fail: serverErr, want: Closed},
		{at: 50 * sec, fail: serverErr, want: Closed},
		{at: 50 * sec, fail: serverErr, want: Open, until: 55 * sec},
	})
}

func TestBreakerSuccessResetsConsecutive(t *testing.T) {
	s := New(Config{})
	r := NewRoute()
	s.ObserveFailure(r, Failure{}, t0)
	s.ObserveFailure(r, Failure{}, t0)
	assert.Equal(t, 2, s.Snapshot(r, t0).ConsecutiveFailures)
	s.ObserveSuccess(r, 0, streamed(time.Second), t0)
	s.ObserveFailure(r, Failure{}, t0)
	s.ObserveFailure(r, Failure{}, t0)
	snap := s.Snapshot(r, t0)
	assert.Equal(t, Closed, snap.Breaker, "two failures after a success stay under the threshold")
	assert.Equal(t, 2, snap.ConsecutiveFailures)
	assert.Equal(t, int64(4), snap.Failures)
}

func TestBreakerCooldownCapped(t *testing.T) {
	s := New(Config{FailureThreshold: 1, CooldownBase: time.Second, CooldownMax: 10 * time.Second})
	r := NewRoute()
	now := t0
	var cooldowns []time.Duration
	for range 8 {
		s.ObserveFailure(r, Failure{}, now) // opens, or re-opens from half-open
		until := s.Snapshot(r, now).OpenUntil
		cooldowns = append(cooldowns, until.Sub(now))
		now = until // half-open
	}
	sec := time.Second
	assert.Equal(t, []time.Duration{sec, 2 * sec, 4 * sec, 8 * sec, 10 * sec, 10 * sec, 10 * sec, 10 * sec}, cooldowns)
}

func TestBreakerProbeTimeout(t *testing.T) {
	s := New(Config{FailureThreshold: 1, ProbeTimeout: 10 * time.Second})
	sec := time.Second
	runSteps(t, s, []step{
		{at: 0, fail: serverErr, want: Open, until: 5 * sec},
		{at: 5 * sec, admit: yes, want: HalfOpen, until: 5 * sec},
		{at: 14 * sec, admit: no, want: HalfOpen, until: 5 * sec},
		// The probe never reported back: another caller may probe.
		{at: 15 * sec, admit: yes, want: HalfOpen, until: 5 * sec},
		{at: 16 * sec, admit: no, want: HalfOpen, until: 5 * sec},
	})
}

func TestBreakerRetryAfter(t *testing.T) {
	s := New(Config{QuotaCooldown: 10 * time.Minute})
	sec := time.Second
	runSteps(t, s, []step{
		// At once, whatever the threshold, for the longer of the ask and
		// the cooldown.
		{at: 0, fail: &Failure{Kind: FailureRateLimit, RetryAfter: 30 * sec}, want: Open, until: 30 * sec},
		// A shorter ask while open does not shorten the cooldown...
		{at: 1 * sec, fail: &Failure{Kind: FailureRateLimit, RetryAfter: sec}, want: Open, until: 30 * sec},
		// ...a longer one lengthens it, without escalating the openings.
		{at: 2 * sec, fail: &Failure{Kind: FailureServer, RetryAfter: 60 * sec}, want: Open, until: 62 * sec},
		{at: 62 * sec, admit: yes, want: HalfOpen, until: 62 * sec},
		// Second opening: cooldown 10s beats an ask of 1s.
		{at: 63 * sec, fail: &Failure{Kind: FailureRateLimit, RetryAfter: sec}, want: Open, until: 73 * sec},
		{at: 73 * sec, ok: sec, want: Closed},
		// An ask beyond QuotaCooldown is capped.
		{at: 80 * sec, fail: &Failure{Kind: FailureRateLimit, RetryAfter: time.Hour}, want: Open, until: 80*sec + 10*time.Minute},
	})
}

func TestBreakerRateLimitWithoutRetryAfterCounts(t *testing.T) {
	s := New(Config{})
	rl := &Failure{Kind: FailureRateLimit}
	runSteps(t, s, []step{
		{at: 0, fail: rl, want: Closed},
		{at: 0, fail: rl, want: Closed},
		{at: 0, fail: rl, want: Open, until: 5 * time.Second},
	})
}

func TestBreakerQuota(t *testing.T) {
	s := New(Config{})
	quota := &Failure{Kind: FailureQuota}
	runSteps(t, s, []step{
		{at: 0, fail: quota, want: Open, until: DefaultQuotaCooldown},
		{at: time.Hour, admit: yes, want: HalfOpen, until: time.Hour},
		{at: time.Hour + time.Second, fail: quota, want: Open, until: 2*time.Hour + time.Second},
		// Even with a short Retry-After: quota is long.
		{at: 3 * time.Hour, admit: yes, want: HalfOpen, until: 2*time.Hour + time.Second},
		{at: 3 * time.Hour, fail: &Failure{Kind: FailureQuota, RetryAfter: time.Second}, want: Open, until: 4 * time.Hour},
	})
}

func TestBreakerAuthAndNotFoundOpenAtOnce(t *testing.T) {
	s := New(Config{})
	sec := time.Second
	for _, kind := range []FailureKind{FailureAuth, FailureNotFound} {
		f := &Failure{Kind: kind}
		runSteps(t, s, []step{
			{at: 0, fail: f, want: Open, until: 5 * sec},
			{at: 5 * sec, admit: yes, want: HalfOpen, until: 5 * sec},
			{at: 6 * sec, fail: f, want: Open, until: 16 * sec}, // growing
		})
	}
}

func TestBreakerStragglerSuccessDoesNotClose(t *testing.T) {
	s := New(Config{FailureThreshold: 1})
	sec := time.Second
	runSteps(t, s, []step{
		{at: 10 * sec, fail: serverErr, want: Open, until: 15 * sec},
		// A stream started at 8s finishes at 12s: it began before the
		// breaker opened, so it says nothing about the route since.
		{at: 12 * sec, ok: 4 * sec, want: Open, until: 15 * sec},
		{at: 16 * sec, ok: 10 * sec, want: HalfOpen, until: 15 * sec},
		// An attempt begun after the opening (a last resort, or the probe)
		// closes it.
		{at: 16 * sec, ok: 5 * sec, want: Closed},
	})
}

func TestBreakerStateString(t *testing.T) {
	assert.Equal(t, "closed", Closed.String())
	assert.Equal(t, "half-open", HalfOpen.String())
	assert.Equal(t, "open", Open.String())
	assert.Equal(t, "BreakerState(9)", BreakerState(9).String())
}
