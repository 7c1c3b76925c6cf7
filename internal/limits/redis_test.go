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
	ss, _ := openSharedPrefix(t, n, addr)
	return ss
}

// openSharedPrefix is openShared, also returning the key prefix.
func openSharedPrefix(t *testing.T, n int, addr string) ([]*sharedstate.Shared, string) {
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
	return out, prefix
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
		assert.Equal(t, int64(3), g.Requests.Limit)
		assert.Equal(t, int64(2-i), g.Requests.Remaining, "the count is known")
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

// redisWindow is a sliding window whose fixed windows (aligned on the
// epoch) a test does not cross in practice: the estimate is then the
// current window's count, on Redis's clock and on the test's alike.
const redisWindow = "240h"

// headroomCase is client "c" under a request rate of requests per
// redisWindow, 10 000 tokens per redisWindow and a hard $1 monthly budget,
// asking each time for 1 500 tokens and $0.10 at worst and using 700 tokens
// and $0.03.
func headroomCase(t *testing.T, requests int64) (Ask, Actual) {
	t.Helper()
	limits := limitsOf(t, Set{Requests: rate(requests, redisWindow), Tokens: rate(10_000, redisWindow),
		USD: &Budget{USD: 1, Per: "month", Hard: true}}, "c")
	return Ask{Client: "c", Limits: limits, Amounts: Amounts{InputTokens: 500, OutputTokens: 1000, MicroUSD: 100_000}},
		Actual{InputTokens: 400, OutputTokens: 300, MicroUSD: 30_000}
}

// The headers' numbers come from the reservation: exact across instances,
// and what Memory reports for the same sequence; State's counts too.
func TestRedisHeadroomMatchesMemory(t *testing.T) {
	fleet := twoRedis(t, RedisOptions{})
	mem := NewMemory(MemoryOptions{})
	ask, actual := headroomCase(t, 10)
	win := 240 * time.Hour
	for i := range int64(8) {
		now := time.Now()
		g, err := fleet[i%2].Reserve(ctx, now, ask)
		require.NoError(t, err)
		m, err := mem.Reserve(ctx, now, ask)
		require.NoError(t, err)
		require.True(t, g.Admitted)
		require.True(t, m.Admitted)

		assert.Equal(t, Headroom{Set: true, Limit: 10, Remaining: 9 - i, Reset: g.Requests.Reset}, g.Requests, "request %d", i)
		assert.Equal(t, 10_000-(700*i+1500), g.Tokens.Remaining, "settled ones count what they used")
		assert.Equal(t, 1_000_000-(30_000*i+100_000), g.Budget.RemainingMicroUSD)
		assert.InDelta(t, 0.9-0.03*float64(i), g.Budget.RemainingUSD(), 1e-9)

		assert.Equal(t, m.Requests.Remaining, g.Requests.Remaining)
		assert.Equal(t, m.Requests.Limit, g.Requests.Limit)
		assert.Equal(t, m.Tokens.Remaining, g.Tokens.Remaining)
		assert.Equal(t, m.Budget, g.Budget)
		for _, h := range []Headroom{g.Requests, g.Tokens} {
			assert.Greater(t, h.Reset, win, "the current window holds the count")
			assert.LessOrEqual(t, h.Reset, 2*win)
			assert.InDelta(t, m.Requests.Reset, h.Reset, float64(time.Second), "Memory's, on another clock")
		}
		_, end := Month.Bounds(now, time.UTC)
		assert.Equal(t, end, g.Budget.Reset)

		require.NoError(t, fleet[(i+1)%2].Settle(ctx, g, actual))
		require.NoError(t, mem.Settle(ctx, m, actual))
	}

	st, want := fleet[0].State("c"), mem.State("c")
	require.Len(t, st, 3)
	require.Len(t, want, 3)
	for i := range st {
		assert.Equal(t, want[i].Kind, st[i].Kind)
		assert.Equal(t, want[i].Used, st[i].Used, "%v", st[i].Kind)
		assert.Equal(t, want[i].Remaining, st[i].Remaining, "%v", st[i].Kind)
		assert.WithinDuration(t, want[i].Reset, st[i].Reset, time.Second, "%v", st[i].Kind)
	}
	assert.Equal(t, []int64{8, 5600, 240_000}, []int64{st[0].Used, st[1].Used, st[2].Used})
}

// A rolling budget's reset is its key's TTL; soft budgets' remaining too.
func TestRedisRollingBudgetHeadroom(t *testing.T) {
	fleet := twoRedis(t, RedisOptions{})
	limits := limitsOf(t, Set{USD: &Budget{USD: 1, Per: "720h"}}, "c")
	ask := Ask{Client: "c", Limits: limits, Amounts: Amounts{MicroUSD: 500_000}}
	g, err := fleet[0].Reserve(ctx, time.Now(), ask)
	require.NoError(t, err)
	require.True(t, g.Admitted)
	assert.Equal(t, int64(999_999), g.Budget.RemainingMicroUSD, "a soft budget reserves one micro-USD")
	assert.WithinDuration(t, time.Now().Add(720*time.Hour), g.Budget.Reset, time.Second)
	require.NoError(t, fleet[0].Settle(ctx, g, Actual{MicroUSD: 250_000}))
	g, err = fleet[1].Reserve(ctx, time.Now(), ask)
	require.NoError(t, err)
	assert.Equal(t, int64(749_999), g.Budget.RemainingMicroUSD)
}

// Budgets start from what the ledger recorded: read once per counter per
// process, set only when Redis has no count (a second instance does not
// double it), set again when Redis lost it.
func TestRedisSeedsBudgetsFromTheLedger(t *testing.T) {
	var calls atomic.Int64
	monthStart, _ := Month.Bounds(time.Now(), time.UTC)
	opts := RedisOptions{Seed: func(client, pattern string, from time.Time) int64 {
		calls.Add(1)
		assert.Equal(t, "c", client)
		assert.Empty(t, pattern)
		assert.Equal(t, monthStart, from, "the period's start")
		return 400_000
	}}
	ss, prefix := openSharedPrefix(t, 2, "")
	fleet := []Limiter{NewRedis(ss[0], opts), NewRedis(ss[1], opts)}
	limits := limitsOf(t, Set{USD: &Budget{USD: 1, Per: "month", Hard: true}}, "c")
	ask := Ask{Client: "c", Limits: limits, Amounts: Amounts{MicroUSD: 100_000}}

	g, err := fleet[0].Reserve(ctx, time.Now(), ask)
	require.NoError(t, err)
	require.True(t, g.Admitted)
	assert.Equal(t, int64(500_000), g.Budget.RemainingMicroUSD, "1 USD, less the seed and the reservation")
	require.NoError(t, fleet[0].Settle(ctx, g, Actual{MicroUSD: 100_000}))

	admitted := 1
	for i := range 20 {
		l := fleet[(i+1)%2]
		g, err := l.Reserve(ctx, time.Now(), ask)
		require.NoError(t, err)
		if !g.Admitted {
			assert.True(t, g.Refusal.Budget())
			continue
		}
		admitted++
		require.NoError(t, l.Settle(ctx, g, Actual{MicroUSD: 100_000}))
	}
	assert.Equal(t, 6, admitted, "only the limit less the seed: (1 - 0.4) / 0.1")
	assert.Equal(t, int64(2), calls.Load(), "once per instance")

	// Redis lost the count (a restart): the next reservation seeds it again.
	rdb := redis.NewClient(&redis.Options{Addr: testservices.RedisAddr(t)})
	defer rdb.Close()
	require.Equal(t, int64(1), rdb.Del(ctx, prefix+"budget:"+limits[0].CounterName(time.Now())).Val())
	g, err = fleet[1].Reserve(ctx, time.Now(), ask)
	require.NoError(t, err)
	require.True(t, g.Admitted)
	assert.Equal(t, int64(500_000), g.Budget.RemainingMicroUSD, "the seed still counts")
	assert.Equal(t, int64(2), calls.Load(), "from the cache")
}

// A rolling budget's seed goes with its first reservation only: its name
// outlives its periods.
func TestRedisSeedsRollingBudgetOnce(t *testing.T) {
	var calls atomic.Int64
	opts := RedisOptions{Seed: func(_, _ string, from time.Time) int64 {
		calls.Add(1)
		assert.WithinDuration(t, time.Now().Add(-720*time.Hour), from, time.Second, "a window back")
		return 300_000
	}}
	ss, prefix := openSharedPrefix(t, 1, "")
	l := NewRedis(ss[0], opts)
	limits := limitsOf(t, Set{USD: &Budget{USD: 1, Per: "720h", Hard: true}}, "c")
	ask := Ask{Client: "c", Limits: limits, Amounts: Amounts{MicroUSD: 100_000}}
	g, err := l.Reserve(ctx, time.Now(), ask)
	require.NoError(t, err)
	assert.Equal(t, int64(600_000), g.Budget.RemainingMicroUSD)

	rdb := redis.NewClient(&redis.Options{Addr: testservices.RedisAddr(t)})
	defer rdb.Close()
	require.Equal(t, int64(1), rdb.Del(ctx, prefix+"budget:"+limits[0].CounterName(time.Now())).Val())
	g, err = l.Reserve(ctx, time.Now(), ask)
	require.NoError(t, err)
	assert.Equal(t, int64(900_000), g.Budget.RemainingMicroUSD, "a period that ended is not charged to the next")
	assert.Equal(t, int64(1), calls.Load())
}

// BenchmarkRedisReserveSettle is what limits cost a request with the shared
// backend: a reservation of four limits and its settlement, one round trip
// each to the test Redis on loopback. ns/op is the latency the request path
// adds.
func BenchmarkRedisReserveSettle(b *testing.B) {
	addr := testservices.RedisAddr(b)
	p, err := Compile(Config{Tiers: map[string]Set{"default": {
		Requests:   rate(1e9, "1m"),
		Tokens:     rate(1e12, "1m"),
		Concurrent: 1e6,
		USD:        &Budget{USD: 1e9, Per: "month", TimeZone: "Europe/Paris", Hard: true},
	}}})
	require.NoError(b, err)
	shared, err := sharedstate.Open(sharedstate.Config{Address: addr, KeyPrefix: "llmr-bench-" + b.Name() + ":"})
	require.NoError(b, err)
	b.Cleanup(func() { _ = shared.Close() })
	l := NewRedis(shared, RedisOptions{})
	b.ReportAllocs()
	for b.Loop() {
		limits, _ := p.Applicable("client", "", "gpt-4o")
		now := time.Now()
		g, err := l.Reserve(ctx, now, Ask{Client: "client", Limits: limits, Amounts: Amounts{InputTokens: 500, OutputTokens: 1000, MicroUSD: 12_000}})
		if err != nil || !g.Admitted {
			b.Fatal(err, g.Refusal)
		}
		if err := l.Settle(ctx, g, Actual{InputTokens: 500, OutputTokens: 200, MicroUSD: 3000}); err != nil {
			b.Fatal(err)
		}
	}
}

// A refused request is told what is left of every limit, not only of the
// one that refused it, as OpenAI's 429s carry all x-ratelimit-* headers:
// the same from Memory and from Redis, and nothing is charged for it.
func TestRefusalReportsEveryLimit(t *testing.T) {
	fleet := twoRedis(t, RedisOptions{})
	mem := NewMemory(MemoryOptions{})
	ask, actual := headroomCase(t, 2)
	for i, l := range []Limiter{fleet[0], mem} {
		now := time.Now()
		for range 2 {
			g, err := l.Reserve(ctx, now, ask)
			require.NoError(t, err)
			require.True(t, g.Admitted)
			require.NoError(t, l.Settle(ctx, g, actual))
		}
		g, err := l.Reserve(ctx, now, ask)
		require.NoError(t, err)
		require.False(t, g.Admitted, "limiter %d", i)
		assert.Equal(t, Requests, g.Refusal.Limit.Kind)
		assert.Equal(t, Headroom{Set: true, Limit: 10_000, Remaining: 10_000 - 2*700, Reset: g.Tokens.Reset}, g.Tokens,
			"limiter %d: the token limit that did not refuse", i)
		assert.Positive(t, g.Tokens.Reset)
		assert.Equal(t, int64(1_000_000-2*30_000), g.Budget.RemainingMicroUSD, "limiter %d", i)
		_, end := Month.Bounds(now, time.UTC)
		assert.Equal(t, end, g.Budget.Reset)

		// The refusal charged nothing.
		st := l.State("c")
		require.Len(t, st, 3)
		assert.Equal(t, []int64{2, 1400, 60_000}, []int64{st[0].Used, st[1].Used, st[2].Used}, "limiter %d", i)
	}
}
