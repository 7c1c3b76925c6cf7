package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestCooldownFor(t *testing.T) {
	cases := []struct {
		failures int
		want     time.Duration
	}{
		{1, 5 * time.Second},
		{2, 10 * time.Second},
		{3, 20 * time.Second},
		{6, 160 * time.Second},
		{7, 5 * time.Minute}, // 320s, capped
		{8, 5 * time.Minute},
		{1 << 40, 5 * time.Minute},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, cooldownFor(c.failures), "%d failures", c.failures)
	}
}

func TestCooldownDisabled(t *testing.T) {
	saved := CooldownBase
	t.Cleanup(func() { CooldownBase = saved })
	CooldownBase = 0

	var s RouteStats
	s.ObserveFailure(t0)
	assert.True(t, s.Healthy(t0))
}

func TestFailureCooldown(t *testing.T) {
	var s RouteStats
	assert.True(t, s.Healthy(t0), "a new route is healthy")

	s.ObserveFailure(t0)
	assert.False(t, s.Healthy(t0))
	assert.False(t, s.Healthy(t0.Add(CooldownBase-time.Nanosecond)))
	assert.True(t, s.Healthy(t0.Add(CooldownBase)), "healthy once the cooldown has passed")

	// A second failure in a row doubles the cooldown, counted from it.
	t1 := t0.Add(CooldownBase)
	s.ObserveFailure(t1)
	assert.False(t, s.Healthy(t1.Add(2*CooldownBase-time.Nanosecond)))
	assert.True(t, s.Healthy(t1.Add(2*CooldownBase)))
	assert.Equal(t, 2, s.Snapshot(t1).ConsecutiveFailures)
}

func TestFailureCooldownCapped(t *testing.T) {
	var s RouteStats
	now := t0
	for range 20 {
		s.ObserveFailure(now)
	}
	assert.False(t, s.Healthy(now.Add(CooldownMax-time.Nanosecond)))
	assert.True(t, s.Healthy(now.Add(CooldownMax)))
}

func TestSuccessResetsDoubling(t *testing.T) {
	var s RouteStats
	s.ObserveFailure(t0)
	s.ObserveFailure(t0) // cooldown 10s
	t1 := t0.Add(time.Minute)
	s.ObserveLatency(0, 100*time.Millisecond, t1)
	assert.Equal(t, 0, s.Snapshot(t1).ConsecutiveFailures)

	s.ObserveFailure(t1)
	assert.False(t, s.Healthy(t1.Add(CooldownBase-time.Nanosecond)))
	assert.True(t, s.Healthy(t1.Add(CooldownBase)), "back to the base cooldown")
}

func TestSuccessDoesNotEndRunningCooldown(t *testing.T) {
	var s RouteStats
	s.ObserveFailure(t0)
	// An attempt started before the failure succeeds during the cooldown.
	s.ObserveLatency(0, 100*time.Millisecond, t0.Add(time.Second))
	assert.False(t, s.Healthy(t0.Add(time.Second)))
	assert.True(t, s.Healthy(t0.Add(CooldownBase)))
}

func TestLateFailureDoesNotShortenCooldown(t *testing.T) {
	var s RouteStats
	s.ObserveFailure(t0)
	s.ObserveFailure(t0) // until t0+10s
	s.ObserveLatency(0, time.Millisecond, t0)
	s.ObserveFailure(t0.Add(-time.Second)) // base cooldown, but reported late
	assert.False(t, s.Healthy(t0.Add(10*time.Second-time.Nanosecond)))
}
