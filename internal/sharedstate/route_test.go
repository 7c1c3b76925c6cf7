package sharedstate

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/caddy-llm/llmrouter/internal/testservices"
	"github.com/caddy-llm/llmrouter/selector"
)

// Close stops every goroutine a Shared started, with Redis up, down from the
// start, or going away while it runs.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	f := newFleet(t)
	p := testservices.NewProxy(t, f.addr)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	up := f.open()
	through := f.open(func(c *Config) { c.Address = p.Addr() })
	down, err := Open(Config{Address: closedPort(t), SyncInterval: testInterval,
		DialTimeout: 100 * time.Millisecond, CommandTimeout: 100 * time.Millisecond})
	require.NoError(t, err)
	for _, s := range []*Shared{up, through, down} {
		r := s.Route(routeKey)
		sel.ObserveFailure(r, rateLimited, time.Now()) // something to publish
	}
	ready(t, up)
	ready(t, through)
	p.Cut()
	require.Eventually(t, func() bool { return !through.Up() }, 3*time.Second, 5*time.Millisecond)

	for _, s := range []*Shared{up, through, down} {
		start := time.Now()
		require.NoError(t, s.Close())
		assert.Less(t, time.Since(start), time.Second, "Close is prompt")
	}
}

// The hot path does not allocate.
func TestHotPathDoesNotAllocate(t *testing.T) {
	s, err := Open(Config{Address: closedPort(t)})
	require.NoError(t, err)
	defer s.Close()
	r := s.Route(routeKey)
	now := time.Now()
	sm := streamed(200 * time.Millisecond)
	var rd selector.Reading
	allocs := testing.AllocsPerRun(1000, func() {
		r.ObserveSuccess(1, sm, now, selector.DefaultHalfLife)
		r.ReadInto(&rd, 1, selector.BucketTTFT, now, selector.DefaultCooldownBase)
		r.Admit(now, selector.DefaultProbeTimeout)
		r.ClaimStaleExploration(now, time.Minute)
	})
	assert.Zero(t, allocs)
}

// BenchmarkRoute compares the shared route's hot path with the in-memory
// route's: the shared one does each observation twice (local and view).
//
//	go test -run '^$' -bench Route -benchmem ./internal/sharedstate/
func BenchmarkRoute(b *testing.B) {
	s, err := Open(Config{Address: closedPort(b), SyncInterval: time.Hour})
	require.NoError(b, err)
	defer s.Close()
	now := time.Now()
	sm := selector.Sample{Stream: true, FirstToken: 200 * time.Millisecond, Total: time.Second, CompletionTokens: 100}
	for _, c := range []struct {
		name  string
		route selector.Route
	}{
		{"memory", selector.NewRoute()},
		{"shared", s.Route(routeKey)},
	} {
		r := c.route
		r.ObserveSuccess(1, sm, now, selector.DefaultHalfLife)
		b.Run("ReadInto/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			var rd selector.Reading
			for b.Loop() {
				r.ReadInto(&rd, 1, selector.BucketTTFT, now, selector.DefaultCooldownBase)
			}
		})
		b.Run("ObserveSuccess/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.ObserveSuccess(1, sm, now, selector.DefaultHalfLife)
			}
		})
		b.Run("Admit/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Admit(now, selector.DefaultProbeTimeout)
			}
		})
	}
}
