package sharedstate

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-llm/llmrouter/internal/testservices"
	"github.com/caddy-llm/llmrouter/selector"
)

const routeKey = "openai/openai/gpt-test"

// rateLimited opens a breaker at once, for 30 s.
var rateLimited = selector.Failure{Kind: selector.FailureRateLimit, RetryAfter: 30 * time.Second}

func streamed(ttft time.Duration) selector.Sample {
	return selector.Sample{Stream: true, FirstToken: ttft, Total: ttft}
}

func reading(r selector.Route) selector.Reading {
	var rd selector.Reading
	r.ReadInto(&rd, 0, selector.BucketTTFT, time.Now(), selector.DefaultCooldownBase)
	return rd
}

// A breaker opened on A is honoured by B within a second, through the
// channel: the sync interval is far longer than that.
func TestBreakerOpenedOnAIsHonouredByB(t *testing.T) {
	f := newFleet(t)
	slow := func(c *Config) { c.SyncInterval = time.Minute }
	a, b := f.open(slow), f.open(slow)
	ra, rb := a.Route(routeKey), b.Route(routeKey)
	ready(t, a)
	ready(t, b)
	require.True(t, sel.Admit(rb, time.Now()))

	start := time.Now()
	sel.ObserveFailure(ra, rateLimited, start)
	assert.Less(t, time.Since(start), 50*time.Millisecond, "the failure path does not wait for Redis")
	require.Eventually(t, func() bool { return !sel.Admit(rb, time.Now()) }, time.Second, 2*time.Millisecond,
		"B honours A's breaker within a second")
	t.Logf("breaker reached B after %v", time.Since(start))
	rd := reading(rb)
	assert.Equal(t, selector.Open, rd.Breaker)
	assert.WithinDuration(t, start.Add(30*time.Second), rd.OpenUntil, time.Millisecond)

	// The key lives until the cooldown ends.
	ttl, err := f.rdb.PTTL(context.Background(), f.prefix+"breaker:"+routeKey).Result()
	require.NoError(t, err)
	assert.InDelta(t, 30*time.Second, ttl, float64(time.Second))
}

// Samples merge weighted by their counts, and each counts once, however
// many rounds pass.
func TestStatisticsMergeWithoutDoubleCounting(t *testing.T) {
	f := newFleet(t)
	a, b := f.open(), f.open()
	ra, rb := a.Route(routeKey), b.Route(routeKey)
	now := time.Now()
	whole := selector.NewRoute() // one instance that saw everything
	for range 3 {
		sel.ObserveSuccess(ra, 0, streamed(100*time.Millisecond), now)
		sel.ObserveSuccess(whole, 0, streamed(100*time.Millisecond), now)
	}
	for range 5 {
		sel.ObserveSuccess(rb, 0, streamed(300*time.Millisecond), now)
		sel.ObserveSuccess(whole, 0, streamed(300*time.Millisecond), now)
	}
	for range 2 {
		sel.ObserveSuccess(rb, 2, streamed(time.Second), now)
		sel.ObserveSuccess(whole, 2, streamed(time.Second), now)
	}
	sel.ObserveFailure(ra, selector.Failure{Kind: selector.FailureServer}, now)

	waitRounds(t, 5, a, b)
	want := sel.Snapshot(whole, now)
	for name, r := range map[string]selector.Route{"A": ra, "B": rb} {
		got := sel.Snapshot(r, now)
		assert.Equal(t, 8, got.Buckets[0].Samples, name)
		assert.Equal(t, 2, got.Buckets[2].Samples, name)
		assert.Equal(t, int64(10), got.Successes, name)
		assert.Equal(t, int64(1), got.Failures, name)
		assert.InDelta(t, 225, got.Buckets[0].TTFTMillis, 1e-6, name) // (3×100 + 5×300) / 8
		assert.InDelta(t, want.Buckets[2].TTFTMillis, got.Buckets[2].TTFTMillis, 1e-6, name)
	}
	// What each publishes is its own.
	assert.Equal(t, int64(3), a.lookup(routeKey).local.State().Successes)
	assert.Equal(t, int64(7), b.lookup(routeKey).local.State().Successes)

	// More samples, more rounds: still exact.
	sel.ObserveSuccess(ra, 0, streamed(100*time.Millisecond), now)
	waitRounds(t, 3, a, b)
	assert.Equal(t, 9, sel.Snapshot(rb, now).Buckets[0].Samples)
	assert.Equal(t, 9, sel.Snapshot(ra, now).Buckets[0].Samples)
}

// A third instance started later starts with what the fleet learned, and
// with the breakers opened before it came up.
func TestLateInstanceStartsWarm(t *testing.T) {
	f := newFleet(t)
	a, b := f.open(), f.open()
	ra, rb := a.Route(routeKey), b.Route(routeKey)
	ra2 := a.Route("anthropic/anthropic/claude-test")
	now := time.Now()
	for range 4 {
		sel.ObserveSuccess(ra, 1, streamed(200*time.Millisecond), now)
	}
	sel.ObserveSuccess(rb, 1, streamed(400*time.Millisecond), now)
	sel.ObserveFailure(ra2, rateLimited, now)
	waitRounds(t, 2, a, b)

	c := f.open(func(c *Config) { c.SyncInterval = time.Minute }) // only the first rounds
	rc, rc2 := c.Route(routeKey), c.Route("anthropic/anthropic/claude-test")
	require.Eventually(t, func() bool { return sel.Snapshot(rc, now).Successes == 5 }, time.Second, 5*time.Millisecond)
	got := sel.Snapshot(rc, now)
	assert.Equal(t, 5, got.Buckets[1].Samples)
	assert.InDelta(t, 240, got.Buckets[1].TTFTMillis, 1e-6)
	assert.False(t, sel.Admit(rc2, time.Now()), "C honours the breaker opened before it started")

	// C publishes nothing of its own, and nobody counts anything twice.
	waitRounds(t, 3, a, b)
	assert.Equal(t, int64(5), sel.Snapshot(ra, now).Successes)
	assert.Equal(t, int64(5), sel.Snapshot(rb, now).Successes)
}

// What an instance that stopped published expires: the others forget it
// after three sync intervals.
func TestDeadInstanceStateExpires(t *testing.T) {
	f := newFleet(t)
	a, b := f.open(), f.open()
	ra, rb := a.Route(routeKey), b.Route(routeKey)
	now := time.Now()
	for range 4 {
		sel.ObserveSuccess(ra, 0, streamed(time.Second), now)
	}
	sel.ObserveSuccess(rb, 0, streamed(time.Second), now)
	require.Eventually(t, func() bool { return sel.Snapshot(rb, now).Successes == 5 }, 2*time.Second, 5*time.Millisecond)

	require.NoError(t, a.Close())
	stopped := time.Now()
	require.Eventually(t, func() bool { return sel.Snapshot(rb, now).Successes == 1 }, 2*time.Second, 5*time.Millisecond)
	gone := time.Since(stopped)
	t.Logf("A's state dropped out after %v", gone)
	assert.GreaterOrEqual(t, gone, 2*testInterval, "not before its TTL")

	// A, closed, publishes nothing more, whatever its routes see.
	sel.ObserveFailure(ra, rateLimited, time.Now())
	sel.ObserveSuccess(ra, 0, streamed(time.Second), time.Now())
	waitRounds(t, 3, b)
	assert.Equal(t, int64(0), f.rdb.Exists(context.Background(), f.prefix+"state:"+a.cfg.InstanceID).Val())
	assert.Equal(t, int64(0), f.rdb.Exists(context.Background(), f.prefix+"breaker:"+routeKey).Val())
	assert.True(t, sel.Admit(rb, time.Now()))
	assert.Equal(t, int64(1), sel.Snapshot(rb, now).Successes)
}

// Redis going away mid-run: the instance notices, says so once, routes on
// what it learns meanwhile, and when Redis is back publishes it, reads
// what it missed and hears breakers again.
func TestRedisOutageAndRecovery(t *testing.T) {
	f := newFleet(t)
	p := testservices.NewProxy(t, f.addr)
	logger, logs := observedLogger()
	var ups upRecorder
	a := f.open(func(c *Config) {
		c.Address = p.Addr()
		c.Logger = logger
		c.OnUpChange = ups.record
	})
	b := f.open()
	ra, rb := a.Route(routeKey), b.Route(routeKey)
	other := "mistral/mistral/other"
	ra2, rb2 := a.Route(other), b.Route(other)
	ready(t, a)
	ready(t, b)
	assert.Equal(t, []bool{true}, ups.get(), "the first known state")
	assert.True(t, a.Up())

	p.Cut()
	require.Eventually(t, func() bool { return !a.Up() }, 3*time.Second, 5*time.Millisecond)
	assert.Equal(t, []bool{true, false}, ups.get())

	// Local routing carries on, without waiting.
	now := time.Now()
	start := time.Now()
	for range 2 {
		sel.ObserveSuccess(ra, 0, streamed(50*time.Millisecond), now)
	}
	assert.True(t, sel.Admit(ra, now))
	assert.Equal(t, 2, sel.Snapshot(ra, now).Buckets[0].Samples)
	sel.ObserveFailure(ra2, rateLimited, now) // its publication fails, later
	assert.False(t, sel.Admit(ra2, now))
	assert.Less(t, time.Since(start), 50*time.Millisecond, "no request waits for Redis")

	// A breaker opened on B meanwhile does not reach A...
	sel.ObserveFailure(rb, rateLimited, time.Now())
	time.Sleep(5 * testInterval) // several failed retries
	assert.True(t, sel.Admit(ra, time.Now()))
	assert.Len(t, messages(logs, zapcore.WarnLevel), 1, "one WARN per outage")
	assert.Empty(t, messages(logs, zapcore.InfoLevel))

	// ...until Redis is back: then A reads it, and publishes its samples.
	subscribed := a.subscribed.Load()
	p.Restore()
	require.Eventually(t, a.Up, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return !sel.Admit(ra, time.Now()) }, 3*time.Second, 5*time.Millisecond,
		"A honours the breaker B opened during the outage")
	require.Eventually(t, func() bool { return sel.Snapshot(rb, now).Buckets[0].Samples == 2 }, 3*time.Second, 5*time.Millisecond,
		"B sees what A learned during the outage")
	require.Eventually(t, func() bool { return !sel.Admit(rb2, time.Now()) }, time.Second, 5*time.Millisecond,
		"and the breaker A opened during the outage") // in the same round, route by route
	assert.Equal(t, []bool{true, false, true}, ups.get())
	assert.Len(t, messages(logs, zapcore.InfoLevel), 1, "one INFO when back")
	assert.Len(t, messages(logs, zapcore.WarnLevel), 1)

	// Breakers travel through the channel again.
	require.Eventually(t, func() bool { return a.subscribed.Load() > subscribed }, 3*time.Second, 5*time.Millisecond)
	third := "groq/groq/third"
	ra3, rb3 := a.Route(third), b.Route(third)
	waitRounds(t, 1, a, b)
	start = time.Now()
	sel.ObserveFailure(rb3, rateLimited, start)
	require.Eventually(t, func() bool { return !sel.Admit(ra3, time.Now()) }, time.Second, 2*time.Millisecond)
	t.Logf("breaker reached A after %v", time.Since(start))
}

// Redis unreachable from the start: Open succeeds, Up is false, the routes
// work, and Close does not hang.
func TestRedisUnreachableAtStart(t *testing.T) {
	logger, logs := observedLogger()
	var ups upRecorder
	s, err := Open(Config{Address: closedPort(t), SyncInterval: testInterval, Logger: logger, OnUpChange: ups.record,
		DialTimeout: 100 * time.Millisecond, CommandTimeout: 100 * time.Millisecond})
	require.NoError(t, err)
	r := s.Route(routeKey)
	require.Eventually(t, func() bool { return len(ups.get()) > 0 }, 3*time.Second, 5*time.Millisecond)
	assert.False(t, s.Up())
	now := time.Now()
	sel.ObserveSuccess(r, 0, streamed(time.Second), now)
	assert.Equal(t, int64(1), sel.Snapshot(r, now).Successes)
	sel.ObserveFailure(r, rateLimited, now)
	assert.False(t, sel.Admit(r, now))

	_, err = s.Reserve(context.Background(), []Counter{{Name: "x", Kind: Budget, Limit: 1, Amount: 1}})
	assert.Error(t, err, "a reservation needs Redis")

	time.Sleep(3 * testInterval)
	assert.Equal(t, []bool{false}, ups.get(), "called once, with the first known state")
	assert.Len(t, messages(logs, zapcore.WarnLevel), 1)

	start := time.Now()
	require.NoError(t, s.Close())
	assert.Less(t, time.Since(start), time.Second)
	require.NoError(t, s.Close(), "idempotent")
	s.Release(routeKey)
}

// Routes are reference counted, as in selector.MemoryStore.
func TestRouteRefCounting(t *testing.T) {
	s, err := Open(Config{Address: closedPort(t)})
	require.NoError(t, err)
	defer s.Close()
	r1 := s.Route("k")
	r2 := s.Route("k")
	assert.True(t, r1 == r2)
	s.Release("k")
	assert.True(t, s.Route("k") == r1, "still referenced")
	s.Release("k")
	s.Release("k")
	assert.True(t, s.Route("k") != r1, "dropped with the last reference")
	s.Release("never")
}

// A Redis that accepts connections but answers nothing: every call gives
// up within its timeout, the hot path does not notice, and sharing resumes
// when Redis answers again.
func TestRedisHanging(t *testing.T) {
	f := newFleet(t)
	p := testservices.NewProxy(t, f.addr)
	var ups upRecorder
	a := f.open(func(c *Config) { c.Address = p.Addr(); c.OnUpChange = ups.record })
	b := f.open()
	ra, rb := a.Route(routeKey), b.Route(routeKey)
	ready(t, a)

	p.Hang()
	require.Eventually(t, func() bool { return !a.Up() }, 3*time.Second, 5*time.Millisecond)
	start := time.Now()
	sel.ObserveSuccess(ra, 0, streamed(time.Second), start)
	sel.ObserveFailure(ra, rateLimited, start)
	assert.False(t, sel.Admit(ra, start))
	assert.Less(t, time.Since(start), 50*time.Millisecond)

	start = time.Now()
	_, err := a.Reserve(context.Background(), []Counter{{Name: "n", Kind: Budget, Limit: 1, Amount: 1}})
	assert.Error(t, err)
	assert.Less(t, time.Since(start), time.Second, "bounded by the command timeout")

	p.Restore()
	require.Eventually(t, a.Up, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return !sel.Admit(rb, time.Now()) }, 3*time.Second, 5*time.Millisecond,
		"B learns the breaker A opened while Redis hung")
	require.Eventually(t, func() bool { return sel.Snapshot(rb, start).Successes == 1 }, 3*time.Second, 5*time.Millisecond)
	assert.Equal(t, []bool{true, false, true}, ups.get())
}

// A probe that succeeds on B ends, across the fleet, the breaker A opened,
// and A's stale published breaker does not re-open B.
func TestProbeSuccessClosesBreakerEverywhere(t *testing.T) {
	fast := selector.New(selector.Config{ExplorationShare: -1, CooldownBase: 300 * time.Millisecond})
	f := newFleet(t)
	a, b := f.open(), f.open()
	ra, rb := a.Route(routeKey), b.Route(routeKey)
	ready(t, a)
	ready(t, b)

	fast.ObserveFailure(ra, selector.Failure{Kind: selector.FailureAuth}, time.Now())
	require.Eventually(t, func() bool { return !fast.Admit(rb, time.Now()) }, time.Second, 2*time.Millisecond)

	// After the cooldown, B's probe succeeds.
	require.Eventually(t, func() bool { return fast.Admit(rb, time.Now()) }, 2*time.Second, 5*time.Millisecond)
	now := time.Now()
	fast.ObserveSuccess(rb, 0, streamed(10*time.Millisecond), now)
	require.Equal(t, selector.Closed, fast.Snapshot(rb, now).Breaker)

	waitRounds(t, 4, a, b)
	assert.Equal(t, selector.Closed, fast.Snapshot(rb, time.Now()).Breaker, "B stays closed")
	assert.Equal(t, selector.Closed, fast.Snapshot(ra, time.Now()).Breaker, "A hears of the probe")
	assert.True(t, fast.Admit(ra, time.Now()))
	assert.Equal(t, 0, fast.Snapshot(ra, time.Now()).ConsecutiveFailures)
}

// Calls finish out of order: a call that hung while Redis did not answer and
// times out after a later call found it answering again does not mark it
// down, and a later failure still does.
func TestReportIgnoresStaleOutcomes(t *testing.T) {
	var ups upRecorder
	s := &Shared{cfg: &settings{Config: Config{Logger: zap.NewNop(), OnUpChange: ups.record}}}
	t0 := time.Now()
	hung, probe, later := t0, t0.Add(time.Second), t0.Add(2*time.Second)
	timeout := errors.New("i/o timeout")

	s.report(t0.Add(-time.Second), nil)
	s.report(t0.Add(-time.Millisecond), timeout) // the outage begins
	s.report(probe, nil)                         // Redis answers again
	s.report(hung, timeout)                      // a call from the outage times out now
	assert.True(t, s.Up())
	s.report(later, timeout)
	assert.False(t, s.Up())
	assert.Equal(t, []bool{true, false, true, false}, ups.get())
}
