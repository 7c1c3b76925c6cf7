package sharedstate

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// N goroutines on two instances racing for a limit of L: exactly L win,
// for each kind of counter.
func TestReserveConcurrentRaceAdmitsExactlyTheLimit(t *testing.T) {
	f := newFleet(t)
	a, b := f.open(), f.open()
	ctx := context.Background()
	for _, c := range []Counter{
		{Name: "rpm", Kind: Window, Limit: 7, Amount: 1, Window: time.Minute},
		{Name: "budget", Kind: Budget, Limit: 70, Amount: 10, Window: time.Hour},
		{Name: "inflight", Kind: Concurrency, Limit: 7, Amount: 1},
	} {
		const n = 40
		var ok atomic.Int64
		var wg sync.WaitGroup
		won := make(chan Reservation, n)
		for i := range n {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := s.Reserve(ctx, []Counter{c})
				if !assert.NoError(t, err) {
					return
				}
				if res.OK {
					ok.Add(1)
					won <- res
				} else {
					assert.Equal(t, 0, res.Refused)
				}
			}()
		}
		wg.Wait()
		close(won)
		assert.Equal(t, int64(7), ok.Load(), c.Name)

		if c.Kind == Concurrency {
			// Settling gives the slots back.
			for res := range won {
				require.NoError(t, a.Settle(ctx, res, []int64{1}))
			}
			for range 7 {
				res, err := b.Reserve(ctx, []Counter{c})
				require.NoError(t, err)
				assert.True(t, res.OK)
			}
			res, err := b.Reserve(ctx, []Counter{c})
			require.NoError(t, err)
			assert.False(t, res.OK)
			assert.Equal(t, time.Duration(0), res.RetryAfter, "a slot comes back when someone settles")
		}
	}
}

// All or nothing: when one counter refuses, none is charged, and the reply
// says which and when to retry.
func TestReserveAllOrNothing(t *testing.T) {
	f := newFleet(t)
	s := f.open()
	ctx := context.Background()
	rpm := Counter{Name: "rpm", Kind: Window, Limit: 10, Amount: 1, Window: time.Minute}
	tpm := Counter{Name: "tpm", Kind: Window, Limit: 1000, Amount: 800, Window: time.Minute}
	spend := Counter{Name: "spend", Kind: Budget, Limit: 100, Amount: 60, Window: time.Hour}

	res, err := s.Reserve(ctx, []Counter{rpm, tpm, spend})
	require.NoError(t, err)
	require.True(t, res.OK)
	assert.Equal(t, -1, res.Refused)

	res, err = s.Reserve(ctx, []Counter{rpm, tpm, spend})
	require.NoError(t, err)
	assert.False(t, res.OK)
	assert.Equal(t, 1, res.Refused, "the token window refuses first")
	assert.Greater(t, res.RetryAfter, time.Duration(0))
	assert.LessOrEqual(t, res.RetryAfter, 2*time.Minute)

	small := tpm
	small.Amount = 100
	res, err = s.Reserve(ctx, []Counter{rpm, small, spend})
	require.NoError(t, err)
	assert.False(t, res.OK)
	assert.Equal(t, 2, res.Refused, "then the budget")
	assert.InDelta(t, time.Hour, res.RetryAfter, float64(time.Minute), "when its period ends")

	// Nothing was charged by the refusals: rpm holds 1, tpm 800.
	assert.Equal(t, int64(1), hashSum(t, f, "rate:rpm"))
	assert.Equal(t, int64(800), hashSum(t, f, "rate:tpm"))
	assert.Equal(t, "60", f.rdb.Get(ctx, f.prefix+"budget:spend").Val())

	// More than the limit never fits.
	res, err = s.Reserve(ctx, []Counter{{Name: "x", Kind: Budget, Limit: 5, Amount: 6}})
	require.NoError(t, err)
	assert.False(t, res.OK)
	assert.Less(t, res.RetryAfter, time.Duration(0))
}

func hashSum(t *testing.T, f *fleet, key string) int64 {
	t.Helper()
	var sum int64
	vals, err := f.rdb.HVals(context.Background(), f.prefix+key).Result()
	require.NoError(t, err)
	for _, v := range vals {
		var n int64
		for _, c := range v {
			n = n*10 + int64(c-'0')
		}
		sum += n
	}
	return sum
}

// Settle charges or refunds the difference between the reserved and the
// actual amounts.
func TestSettleAdjustsToActual(t *testing.T) {
	f := newFleet(t)
	s := f.open()
	ctx := context.Background()
	tpm := Counter{Name: "tpm", Kind: Window, Limit: 1000, Amount: 600, Window: time.Minute}
	spend := Counter{Name: "spend", Kind: Budget, Limit: 100, Amount: 10, Window: time.Hour}

	res, err := s.Reserve(ctx, []Counter{tpm, spend})
	require.NoError(t, err)
	require.True(t, res.OK)
	require.NoError(t, s.Settle(ctx, res, []int64{200, 30})) // fewer tokens, more spend
	assert.Equal(t, int64(200), hashSum(t, f, "rate:tpm"))
	assert.Equal(t, "30", f.rdb.Get(ctx, f.prefix+"budget:spend").Val())
	assert.InDelta(t, time.Hour, f.rdb.PTTL(ctx, f.prefix+"budget:spend").Val(), float64(time.Minute), "the period is kept")

	tpm.Amount = 800
	res, err = s.Reserve(ctx, []Counter{tpm})
	require.NoError(t, err)
	assert.True(t, res.OK, "the refund made room: 200 + 800 = 1000")

	// A nil actual refunds everything.
	require.NoError(t, s.Settle(ctx, res, nil))
	assert.Equal(t, int64(200), hashSum(t, f, "rate:tpm"))

	assert.ErrorIs(t, s.Settle(ctx, Reservation{}, nil), ErrNotReserved)
	assert.Error(t, s.Settle(ctx, res, []int64{1, 2}), "one amount per counter")
}

// The sliding window's retry hint is right: waiting that long is enough.
func TestWindowRetryAfter(t *testing.T) {
	f := newFleet(t)
	s := f.open()
	ctx := context.Background()
	c := Counter{Name: "rps", Kind: Window, Limit: 3, Amount: 1, Window: 500 * time.Millisecond}
	for range 3 {
		res, err := s.Reserve(ctx, []Counter{c})
		require.NoError(t, err)
		require.True(t, res.OK)
	}
	res, err := s.Reserve(ctx, []Counter{c})
	require.NoError(t, err)
	require.False(t, res.OK)
	assert.Greater(t, res.RetryAfter, time.Duration(0))
	assert.LessOrEqual(t, res.RetryAfter, time.Second)
	time.Sleep(res.RetryAfter + 20*time.Millisecond)
	res, err = s.Reserve(ctx, []Counter{c})
	require.NoError(t, err)
	assert.True(t, res.OK, "fits after the RetryAfter it was given")

	// The window's hash keeps two windows at most, and expires.
	assert.LessOrEqual(t, f.rdb.HLen(ctx, f.prefix+"rate:rps").Val(), int64(2))
	assert.Greater(t, f.rdb.PTTL(ctx, f.prefix+"rate:rps").Val(), time.Duration(0))
}

// The script is loaded again when Redis forgot it (EVALSHA falls back to
// EVAL).
func TestReserveAfterScriptFlush(t *testing.T) {
	f := newFleet(t)
	s := f.open()
	ctx := context.Background()
	c := Counter{Name: "n", Kind: Budget, Limit: 10, Amount: 1}
	res, err := s.Reserve(ctx, []Counter{c})
	require.NoError(t, err)
	require.True(t, res.OK)
	require.NoError(t, f.rdb.ScriptFlush(ctx).Err())
	res, err = s.Reserve(ctx, []Counter{c})
	require.NoError(t, err)
	assert.True(t, res.OK)
	assert.Equal(t, "2", f.rdb.Get(ctx, f.prefix+"budget:n").Val())
	assert.Equal(t, time.Duration(-1), f.rdb.PTTL(ctx, f.prefix+"budget:n").Val(), "a budget without period never expires")
}

func TestReserveRefusesBadCounters(t *testing.T) {
	s, err := Open(Config{Address: closedPort(t)})
	require.NoError(t, err)
	defer s.Close()
	for _, c := range []Counter{
		{Kind: Budget, Limit: 1},
		{Name: "x", Kind: Budget, Limit: -1},
		{Name: "x", Kind: Window, Limit: 1},
		{Name: "x", Kind: 0, Limit: 1},
		{Name: "x", Kind: Concurrency, Limit: 5000, Amount: 5000},
	} {
		_, err := s.Reserve(context.Background(), []Counter{c})
		assert.Error(t, err, "%+v", c)
	}
	res, err := s.Reserve(context.Background(), nil)
	require.NoError(t, err)
	assert.True(t, res.OK, "nothing to check")
}
