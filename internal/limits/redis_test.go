package limits

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/sharedstate"
	"github.com/caddy-llm/llmrouter/internal/testservices"
)

// openShared opens n instances on the test Redis (through addr when not
// empty), under a key prefix of the test's own, removed at its end.
func openShared(t *testing.T, n int, addr string) []*sharedstate.Shared {
	t.Helper()
	real := testservices.RedisAddr(t)
	if addr == "" {
		addr = real
	}
	prefix := "llm_router_test:" + t.Name() + ":" + rand.Text() + ":"
	rdb := redis.NewClient(&redis.Options{Addr: real})
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		_ = rdb.Close()
	})
	out := make([]*sharedstate.Shared, n)
	for i := range out {
		s, err := sharedstate.Open(sharedstate.Config{Address: addr, KeyPrefix: prefix,
			CommandTimeout: 300 * time.Millisecond, DialTimeout: 300 * time.Millisecond, SyncInterval: time.Second})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		out[i] = s
	}
	return out
}

func twoRedis(t *testing.T, opts RedisOptions) []Limiter {
	ss := openShared(t, 2, "")
	return []Limiter{NewRedis(ss[0], opts), NewRedis(ss[1], opts)}
}

func TestRedisExactAcrossInstances(t *testing.T) {
	fleet := twoRedis(t, RedisOptions{})
	ask := Ask{Client: "c", Limits: limitsOf(t, Set{Requests: rate(100, "1h")}, "c")}
	assert.Equal(t, 100, hammer(t, fleet, 300, time.Now(), ask, &Actual{}))

	g, err := fleet[0].Reserve(ctx, time.Now(), ask)
	require.NoError(t, err)
	require.False(t, g.Admitted)
	assert.Equal(t, Requests, g.Refusal.Limit.Kind)
	assert.Positive(t, g.Refusal.RetryAfter)
	assert.WithinDuration(t, time.Now().Add(g.Refusal.RetryAfter), g.Refusal.Reset, time.Second)

	slots := Ask{Client: "c", Limits: limitsOf(t, Set{Concurrent: 3}, "c")}
	assert.Equal(t, 3, hammer(t, fleet, 50, time.Now(), slots, nil))
}

func TestRedisHardBudgetNeverOvershoots(t *testing.T) {
	fleet := twoRedis(t, RedisOptions{})
	limits := limitsOf(t, Set{USD: &Budget{USD: 1, Per: "month", TimeZone: "Europe/Paris", Hard: true}}, "c")
	var spent atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		l := fleet[i%2]
		wg.Go(func() {
			g, err := l.Reserve(ctx, time.Now(), Ask{Client: "c", Limits: limits, Amounts: Amounts{MicroUSD: 30_000}})
			require.NoError(t, err)
			if !g.Admitted {
				assert.True(t, g.Refusal.Budget())
				_, end := Month.Bounds(time.Now(), limits[0].Location)
				assert.WithinDuration(t, end, g.Refusal.Reset, time.Second, "the month's end")
				return
			}
			assert.True(t, g.Budget.Set)
			cost := int64(20_000 + (i%3)*5_000)
			spent.Add(cost)
			assert.NoError(t, l.Settle(ctx, g, Actual{MicroUSD: cost}))
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, spent.Load(), int64(1_000_000))
	// Refused only when the worst case did not fit: one at a time, the
	// rest of the budget goes until less than a worst case is left.
	for {
		g, err := fleet[0].Reserve(ctx, time.Now(), Ask{Client: "c", Limits: limits, Amounts: Amounts{MicroUSD: 30_000}})
		require.NoError(t, err)
		if !g.Admitted {
			break
		}
		spent.Add(20_000)
		require.NoError(t, fleet[0].Settle(ctx, g, Actual{MicroUSD: 20_000}))
	}
	assert.LessOrEqual(t, spent.Load(), int64(1_000_000))
	assert.Greater(t, spent.Load(), int64(1_000_000-30_000))
}

func TestRedisSettleRefunds(t *testing.T) {
	fleet := twoRedis(t, RedisOptions{})
	limits := limitsOf(t, Set{Requests: rate(3, "1h"), Tokens: rate(10_000, "1h"), USD: &Budget{USD: 0.1, Per: "day", Hard: true}}, "c")
	ask := Ask{Client: "c", Limits: limits, Amounts: Amounts{InputTokens: 1000, OutputTokens: 8000, MicroUSD: 90_000}}
	for i := range 3 {
		g, err := fleet[i%2].Reserve(ctx, time.Now(), ask)
		require.NoError(t, err)
		require.True(t, g.Admitted, "a failed request charged nothing but the request (%d)", i)
		assert.Equal(t, Headroom{Set: true, Limit: 3, Remaining: -1, Reset: -1}, g.Requests)
		require.NoError(t, fleet[(i+1)%2].Settle(ctx, g, Actual{}))
	}
	g, err := fleet[0].Reserve(ctx, time.Now(), ask)
	require.NoError(t, err)
	require.False(t, g.Admitted)
	assert.Equal(t, Requests, g.Refusal.Limit.Kind, "the requests count")
	assert.Len(t, fleet[0].State("c"), 3)
}

func TestRedisOnError(t *testing.T) {
	proxy := testservices.NewProxy(t, testservices.RedisAddr(t))
	limits := limitsOf(t, Set{Requests: rate(10, "1h"), Concurrent: 5}, "c")
	ask := Ask{Client: "c", Limits: limits}
	s := openShared(t, 1, proxy.Addr())[0]
	mk := func(mode OnError) *Redis {
		return NewRedis(s, RedisOptions{OnError: mode, Instances: func() int { return 2 }})
	}
	local, open, closed := mk(OnErrorLocal), mk(OnErrorOpen), mk(OnErrorClosed)

	g, err := local.Reserve(ctx, time.Now(), ask)
	require.NoError(t, err)
	require.True(t, g.Admitted)
	require.NotNil(t, g.shared, "through Redis")
	require.NoError(t, local.Settle(ctx, g, Actual{}))

	proxy.Cut()
	// open admits, counting nothing.
	for range 20 {
		g, err := open.Reserve(ctx, time.Now(), ask)
		require.NoError(t, err)
		assert.True(t, g.Admitted)
		assert.NoError(t, open.Settle(ctx, g, Actual{}))
	}
	// closed refuses.
	_, err = closed.Reserve(ctx, time.Now(), ask)
	require.ErrorIs(t, err, ErrUnavailable)
	// local enforces half of each limit.
	var held []Grant
	for range 10 {
		g, err := local.Reserve(ctx, time.Now(), ask)
		require.NoError(t, err)
		if g.Admitted {
			held = append(held, g)
		}
	}
	assert.Len(t, held, 2, "concurrent 5 over 2 instances")
	for _, g := range held {
		require.NoError(t, local.Settle(ctx, g, Actual{}))
	}
	assert.Equal(t, 3, hammerSerial(t, local, 10, ask), "10 requests over 2 instances: 5, 2 taken")
	assert.False(t, s.Up())
	assert.NotEmpty(t, local.State("c"), "the fallback's counts")

	// Back: Redis again, where only the first request was counted.
	proxy.Restore()
	require.Eventually(t, func() bool {
		g, err := local.Reserve(ctx, time.Now(), ask)
		if err != nil || !g.Admitted {
			return false
		}
		defer func() { _ = local.Settle(ctx, g, Actual{}) }()
		return g.shared != nil
	}, 5*time.Second, 50*time.Millisecond)
}

// hammerSerial reserves and settles ask n times on l, returning how many
// were admitted.
func hammerSerial(t *testing.T, l Limiter, n int, ask Ask) int {
	t.Helper()
	ok := 0
	for range n {
		g, err := l.Reserve(ctx, time.Now(), ask)
		require.NoError(t, err)
		if g.Admitted {
			ok++
			require.NoError(t, l.Settle(ctx, g, Actual{}))
		}
	}
	return ok
}
