package sharedstate

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/selector"
)

// learnedState returns the State of a route that saw successes of every
// kind and a failure that opened its breaker.
func learnedState() selector.State {
	r := selector.NewRoute()
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)
	for i := range 20 {
		at := t0.Add(time.Duration(i) * 7 * time.Second)
		sel.ObserveSuccess(r, i%selector.NumBuckets,
			selector.Sample{Stream: i%3 != 0, FirstToken: time.Duration(100+i) * time.Millisecond,
				Total: time.Duration(900+13*i) * time.Millisecond, CompletionTokens: 40 + i}, at)
	}
	sel.ObserveFailure(r, selector.Failure{Kind: selector.FailureRateLimit, RetryAfter: 9 * time.Second}, t0.Add(time.Hour))
	return r.State()
}

func TestStateRoundTrip(t *testing.T) {
	st := learnedState()
	require.True(t, st.Breaker.Open)
	data, err := encodeState(&st)
	require.NoError(t, err)
	t.Logf("%d bytes: %s", len(data), data)
	got, err := decodeState(data)
	require.NoError(t, err)

	// Equal but for the times' representation.
	again, err := encodeState(&got)
	require.NoError(t, err)
	assert.Equal(t, string(data), string(again))
	assert.Equal(t, st.Successes, got.Successes)
	assert.Equal(t, st.Buckets[2].Sum, got.Buckets[2].Sum, "floats exactly")
	assert.Equal(t, st.Buckets[2].Pending, got.Buckets[2].Pending)
	assert.True(t, st.Buckets[2].Last.Equal(got.Buckets[2].Last))
	assert.True(t, st.Breaker.OpenUntil.Equal(got.Breaker.OpenUntil))
	assert.True(t, st.Breaker.LastSuccessStart.Equal(got.Breaker.LastSuccessStart))
	assert.Equal(t, selector.FailureRateLimit, got.Breaker.Cause, "why it is open, which decides whether a probe may close it")
	a, b := selector.NewRoute(), selector.NewRoute()
	a.Load(st)
	b.Load(got)
	now := st.Breaker.OpenUntil.Add(time.Minute)
	assert.Equal(t, a.Snapshot(now).Buckets, b.Snapshot(now).Buckets)

	empty := selector.State{}
	data, err = encodeState(&empty)
	require.NoError(t, err)
	assert.Equal(t, `{"v":1}`, string(data))
	got, err = decodeState(data)
	require.NoError(t, err)
	assert.Equal(t, empty, got, "the zero time stays zero")
}

func TestDecodeRefusesOtherVersionsAndBadBuckets(t *testing.T) {
	for _, in := range []string{`{"v":2}`, `{}`, `{"v":1,"b":[{"i":6,"n":1}]}`, `{"v":1,"b":[{"i":-1}]}`, `nope`} {
		_, err := decodeState([]byte(in))
		assert.Error(t, err, in)
	}
}
