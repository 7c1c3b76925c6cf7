package sharedstate

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bigWindow is a sliding window whose fixed windows (aligned on the epoch)
// are long enough that a test never crosses a boundary in practice, so
// that the estimate is the current window's count exactly.
const bigWindow = 240 * time.Hour

// Every reservation, made or refused, through either instance, reports
// every counter's count after it, exactly, and when it resets.
func TestReserveReportsCountsAcrossInstances(t *testing.T) {
	f := newFleet(t)
	a, b := f.open(), f.open()
	ctx := context.Background()
	counters := []Counter{
		{Name: "rpm", Kind: Window, Limit: 10, Amount: 1, Window: bigWindow},
		{Name: "tpm", Kind: Window, Limit: 1000, Amount: 150, Window: bigWindow},
		{Name: "spend", Kind: Budget, Limit: 100, Amount: 10, Window: time.Hour},
		{Name: "inflight", Kind: Concurrency, Limit: 5, Amount: 1},
		{Name: "forever", Kind: Budget, Limit: 1000, Amount: 1},
	}
	for i := range int64(5) {
		s := a
		if i%2 == 1 {
			s = b
		}
		res, err := s.Reserve(ctx, counters)
		require.NoError(t, err)
		require.True(t, res.OK)
		n := i + 1
		assert.Equal(t, []int64{n, 150 * n, 10 * n, n, n}, res.Used, "reservation %d", n)
		require.Len(t, res.Reset, len(counters))
		for _, w := range res.Reset[:2] {
			// The current window holds something: empty at the end of
			// the next one.
			assert.Greater(t, w, bigWindow)
			assert.LessOrEqual(t, w, 2*bigWindow)
		}
		assert.Equal(t, res.Reset[0], res.Reset[1], "same window, same reset")
		assert.InDelta(t, time.Hour, res.Reset[2], float64(time.Minute), "the budget's period")
		assert.InDelta(t, DefaultLease, res.Reset[3], float64(time.Minute), "the last lease")
		assert.Equal(t, time.Duration(-1), res.Reset[4], "a budget without period never resets")
	}

	// A refusal charges nothing and reports the counts as they stand.
	big := append([]Counter(nil), counters...)
	big[1].Amount = 300
	res, err := b.Reserve(ctx, big)
	require.NoError(t, err)
	require.False(t, res.OK)
	assert.Equal(t, 1, res.Refused)
	assert.Equal(t, []int64{5, 750, 50, 5, 5}, res.Used)

	// Peek reads the same, charging nothing, from either instance.
	for _, s := range []*Shared{a, b, a} {
		counts, err := s.Peek(ctx, counters)
		require.NoError(t, err)
		assert.Equal(t, []int64{5, 750, 50, 5, 5}, counts.Used)
	}
	counts, err := a.Peek(ctx, []Counter{{Name: "unused", Kind: Budget, Limit: 1, Window: time.Hour}})
	require.NoError(t, err)
	assert.Equal(t, Counts{Used: []int64{0}, Reset: []time.Duration{-1}}, counts)
}

// A window's reset is when its estimate is back to zero: the end of the
// next fixed window while the current one holds anything, the end of the
// current one while only the previous one does.
func TestWindowResetIsWhenTheEstimateIsEmpty(t *testing.T) {
	f := newFleet(t)
	s := f.open()
	ctx := context.Background()
	const win = 300 * time.Millisecond
	c := Counter{Name: "w", Kind: Window, Limit: 10, Amount: 1, Window: win}

	res, err := s.Reserve(ctx, []Counter{c})
	require.NoError(t, err)
	require.True(t, res.OK)
	assert.Equal(t, []int64{1}, res.Used)
	first := res.Reset[0]
	require.Greater(t, first, win)
	require.LessOrEqual(t, first, 2*win)

	// Into the next fixed window: the count is the previous window's,
	// weighted by its overlap (rounded up: 1), gone at this window's end.
	time.Sleep(first - win + 20*time.Millisecond)
	counts, err := s.Peek(ctx, []Counter{c})
	require.NoError(t, err)
	assert.Equal(t, []int64{1}, counts.Used)
	assert.Greater(t, counts.Reset[0], time.Duration(0))
	assert.LessOrEqual(t, counts.Reset[0], win-20*time.Millisecond)

	time.Sleep(counts.Reset[0] + 20*time.Millisecond)
	counts, err = s.Peek(ctx, []Counter{c})
	require.NoError(t, err)
	assert.Equal(t, Counts{Used: []int64{0}, Reset: []time.Duration{0}}, counts, "slid out when it said")
}

// A budget's seed sets its count when the key does not exist, once: the
// limit admits only what the seed leaves, and a second instance seeding
// the same counter does not double it.
func TestReserveSeedsBudgetIfAbsent(t *testing.T) {
	f := newFleet(t)
	a, b := f.open(), f.open()
	ctx := context.Background()
	c := Counter{Name: "spend", Kind: Budget, Limit: 100, Amount: 10, Window: time.Hour, Seed: 30}

	res, err := a.Reserve(ctx, []Counter{c})
	require.NoError(t, err)
	require.True(t, res.OK)
	assert.Equal(t, []int64{40}, res.Used, "seed + amount")
	assert.InDelta(t, time.Hour, res.Reset[0], float64(time.Minute), "the seed starts the period")

	res, err = b.Reserve(ctx, []Counter{c})
	require.NoError(t, err)
	require.True(t, res.OK)
	assert.Equal(t, []int64{50}, res.Used, "the key existed: b's seed is not added")

	admitted := 2
	for range 20 {
		s := a
		if admitted%2 == 1 {
			s = b
		}
		res, err := s.Reserve(ctx, []Counter{c})
		require.NoError(t, err)
		if !res.OK {
			break
		}
		admitted++
	}
	assert.Equal(t, 7, admitted, "(100 - 30) / 10")
	assert.Equal(t, "100", f.rdb.Get(ctx, f.prefix+"budget:spend").Val())

	// A seed is state, not a charge: it is set even when the reservation
	// is refused.
	spent := Counter{Name: "spent", Kind: Budget, Limit: 100, Amount: 1, Window: time.Hour, Seed: 100}
	res, err = a.Reserve(ctx, []Counter{spent})
	require.NoError(t, err)
	assert.False(t, res.OK)
	assert.Equal(t, []int64{100}, res.Used)
	assert.InDelta(t, time.Hour, res.RetryAfter, float64(time.Minute))

	// Without a period the seed never expires; Peek never seeds.
	forever := Counter{Name: "forever", Kind: Budget, Limit: 100, Amount: 1, Seed: 5}
	counts, err := a.Peek(ctx, []Counter{forever})
	require.NoError(t, err)
	assert.Equal(t, []int64{0}, counts.Used)
	assert.Equal(t, int64(0), f.rdb.Exists(ctx, f.prefix+"budget:forever").Val())
	res, err = b.Reserve(ctx, []Counter{forever})
	require.NoError(t, err)
	assert.Equal(t, []int64{6}, res.Used)
	assert.Equal(t, []time.Duration{-1}, res.Reset)

	_, err = a.Reserve(ctx, []Counter{{Name: "x", Kind: Budget, Limit: 1, Seed: -1}})
	assert.Error(t, err, "a negative seed")
}

// Instances counts the live instances, this one included.
func TestInstancesCountsLiveOnes(t *testing.T) {
	f := newFleet(t)
	a, b := f.open(), f.open()
	ready(t, a)
	ready(t, b)
	waitRounds(t, 2, a, b)
	assert.Equal(t, 2, a.Instances())
	assert.Equal(t, 2, b.Instances())

	c := f.open()
	ready(t, c)
	waitRounds(t, 2, a, b, c)
	for _, s := range []*Shared{a, b, c} {
		assert.Equal(t, 3, s.Instances())
	}

	// One that stops drops out when its alive key expires (3 intervals).
	require.NoError(t, c.Close())
	require.Eventually(t, func() bool { return a.Instances() == 2 && b.Instances() == 2 },
		20*testInterval, 10*time.Millisecond)

	// Alone, or before any round, it counts itself.
	lone, err := Open(Config{Address: closedPort(t)})
	require.NoError(t, err)
	defer lone.Close()
	assert.Equal(t, 1, lone.Instances())
}
