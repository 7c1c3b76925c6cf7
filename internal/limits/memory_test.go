package limits

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

// limitsOf compiles a default tier of set and returns client's limits.
func limitsOf(t testing.TB, set Set, client string) []Applied {
	t.Helper()
	p, err := Compile(Config{Tiers: map[string]Set{"default": set}})
	require.NoError(t, err)
	got, err := p.Applicable(client, "", "model")
	require.NoError(t, err)
	return got
}

// at is a time well inside a minute window (windows align on the epoch).
var at = time.Date(2026, 6, 15, 10, 0, 5, 0, time.UTC)

// hammer reserves ask from n goroutines over limiters (round robin) at now,
// settling each admitted one with settle (if not nil); it returns how many
// were admitted.
func hammer(t *testing.T, limiters []Limiter, n int, now time.Time, ask Ask, settle *Actual) int {
	t.Helper()
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		l := limiters[i%len(limiters)]
		wg.Go(func() {
			g, err := l.Reserve(ctx, now, ask)
			if !assert.NoError(t, err) {
				return
			}
			if g.Admitted {
				ok.Add(1)
				if settle != nil {
					assert.NoError(t, l.Settle(ctx, g, *settle))
				}
			} else {
				assert.NotZero(t, g.Refusal.Limit.Kind)
			}
		})
	}
	wg.Wait()
	return int(ok.Load())
}

func TestMemoryExactUnderConcurrency(t *testing.T) {
	m := NewMemory(MemoryOptions{})
	ask := Ask{Client: "c", Limits: limitsOf(t, Set{Requests: rate(100, "1m")}, "c")}
	assert.Equal(t, 100, hammer(t, []Limiter{m}, 400, at, ask, &Actual{}))
	// The next window starts with the last one's count, weighted by its
	// overlap: halfway through, half of it is left.
	assert.Equal(t, 50, hammer(t, []Limiter{m}, 400, at.Add(25*time.Second+time.Minute), ask, &Actual{}))
	// Two windows on, everything slid out.
	assert.Equal(t, 100, hammer(t, []Limiter{m}, 400, at.Add(3*time.Minute), ask, &Actual{}))
}

func TestMemoryRefusalSaysWhichAndWhen(t *testing.T) {
	m := NewMemory(MemoryOptions{})
	limits := limitsOf(t, Set{Requests: rate(2, "1m"), Tokens: rate(1000, "1m")}, "c")
	ask := Ask{Client: "c", Limits: limits, Amounts: Amounts{InputTokens: 300, OutputTokens: 100}}

	g, err := m.Reserve(ctx, at, ask)
	require.NoError(t, err)
	require.True(t, g.Admitted)
	assert.Equal(t, Headroom{Set: true, Limit: 2, Remaining: 1, Reset: 115 * time.Second}, g.Requests)
	assert.Equal(t, Headroom{Set: true, Limit: 1000, Remaining: 600, Reset: 115 * time.Second}, g.Tokens)
	assert.False(t, g.Budget.Set)

	// Tokens refuse first (all or nothing: the request is not counted).
	g, err = m.Reserve(ctx, at, Ask{Client: "c", Limits: limits, Amounts: Amounts{InputTokens: 700}})
	require.NoError(t, err)
	require.False(t, g.Admitted)
	assert.Equal(t, Tokens, g.Refusal.Limit.Kind)
	// 400 in this window, 700 more cannot fit until the next window's
	// share of 400 shrinks to 300: a quarter into it.
	assert.Equal(t, 55*time.Second+15*time.Second, g.Refusal.RetryAfter)
	assert.Equal(t, at.Add(70*time.Second), g.Refusal.Reset)

	_, err = m.Reserve(ctx, at, ask)
	require.NoError(t, err)
	g, err = m.Reserve(ctx, at, ask)
	require.NoError(t, err)
	require.False(t, g.Admitted)
	assert.Equal(t, Requests, g.Refusal.Limit.Kind)
	assert.Equal(t, int64(2), g.Refusal.Limit.Limit)
	assert.Equal(t, time.Minute, g.Refusal.Limit.Window)
	assert.False(t, g.Refusal.Budget())
	// Exact: when the retry comes, it fits.
	g, err = m.Reserve(ctx, at.Add(g.Refusal.RetryAfter-time.Millisecond), ask)
	require.NoError(t, err)
	assert.False(t, g.Admitted)
	g, err = m.Reserve(ctx, at.Add(115*time.Second+time.Second/2), ask)
	require.NoError(t, err)
	assert.True(t, g.Admitted)

	// A request larger than the limit never fits.
	g, err = m.Reserve(ctx, at, Ask{Client: "c", Limits: limits, Amounts: Amounts{InputTokens: 5000}})
	require.NoError(t, err)
	assert.False(t, g.Admitted)
	assert.Negative(t, g.Refusal.RetryAfter)
}

func TestMemoryHardBudgetNeverOvershoots(t *testing.T) {
	m := NewMemory(MemoryOptions{})
	limits := limitsOf(t, Set{USD: &Budget{USD: 1, Per: "day", Hard: true}}, "c")
	// Worst case 30,000 µUSD, real cost 20,000 to 30,000: a dollar admits
	// 33 worst cases at once, and settling lets more in.
	var spent atomic.Int64
	var wg sync.WaitGroup
	for i := range 300 {
		wg.Go(func() {
			g, err := m.Reserve(ctx, at, Ask{Client: "c", Limits: limits, Amounts: Amounts{MicroUSD: 30_000}})
			require.NoError(t, err)
			if g.Admitted {
				cost := int64(20_000 + (i%3)*5_000)
				spent.Add(cost)
				require.NoError(t, m.Settle(ctx, g, Actual{MicroUSD: cost}))
			} else {
				assert.True(t, g.Refusal.Budget())
				assert.Equal(t, 14*time.Hour-5*time.Second, g.Refusal.RetryAfter, "the day's end")
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, spent.Load(), int64(1_000_000))
	// Refused only when the worst case did not fit: one at a time, the
	// rest of the budget goes until less than a worst case is left.
	for {
		g, err := m.Reserve(ctx, at, Ask{Client: "c", Limits: limits, Amounts: Amounts{MicroUSD: 30_000}})
		require.NoError(t, err)
		if !g.Admitted {
			break
		}
		spent.Add(20_000)
		require.NoError(t, m.Settle(ctx, g, Actual{MicroUSD: 20_000}))
	}
	assert.LessOrEqual(t, spent.Load(), int64(1_000_000))
	assert.Greater(t, spent.Load(), int64(1_000_000-30_000))
	st := m.stateAt("c", at)
	require.Len(t, st, 1)
	assert.Equal(t, spent.Load(), st[0].Used)
}

func TestMemorySettleChargesBillableOnly(t *testing.T) {
	m := NewMemory(MemoryOptions{})
	limits := limitsOf(t, Set{
		Requests: rate(10, "1m"),
		Tokens:   rate(10_000, "1m"),
		USD:      &Budget{USD: 1, Per: "month", Hard: true},
		Models:   []ModelSet{{Match: "*", Tokens: &Rate{Limit: 10_000, Per: "1m", Count: "output"}}},
	}, "c")
	ask := Ask{Client: "c", Limits: limits, Amounts: Amounts{InputTokens: 1000, OutputTokens: 4000, MicroUSD: 50_000}}
	used := func() map[string]int64 {
		out := map[string]int64{}
		for _, s := range m.stateAt("c", at) {
			out[s.Name] = s.Used
		}
		return out
	}

	g, err := m.Reserve(ctx, at, ask)
	require.NoError(t, err)
	require.True(t, g.Admitted)
	assert.Equal(t, map[string]int64{
		"c|requests|*|1m0s": 1, "c|tokens|*|1m0s": 5000, "c|tokens:output|=*|1m0s": 4000, "c|usd|*|month@UTC": 50_000,
	}, used())
	// A failed or empty answer: the request counts, nothing else.
	require.NoError(t, m.Settle(ctx, g, Actual{}))
	assert.Equal(t, map[string]int64{
		"c|requests|*|1m0s": 1, "c|tokens|*|1m0s": 0, "c|tokens:output|=*|1m0s": 0, "c|usd|*|month@UTC": 0,
	}, used())

	g, err = m.Reserve(ctx, at, ask)
	require.NoError(t, err)
	require.NoError(t, m.Settle(ctx, g, Actual{InputTokens: 900, OutputTokens: 120, MicroUSD: 3450}))
	assert.Equal(t, map[string]int64{
		"c|requests|*|1m0s": 2, "c|tokens|*|1m0s": 1020, "c|tokens:output|=*|1m0s": 120, "c|usd|*|month@UTC": 3450,
	}, used())
	// Settling a refusal does nothing.
	require.NoError(t, m.Settle(ctx, Grant{}, Actual{MicroUSD: 5}))
}

func TestMemorySoftBudgetAdmitsWhileAnythingIsLeft(t *testing.T) {
	m := NewMemory(MemoryOptions{})
	limits := limitsOf(t, Set{USD: &Budget{USD: 0.1, Per: "30d"}}, "c")
	ask := Ask{Client: "c", Limits: limits, Amounts: Amounts{MicroUSD: 1_000_000}} // more than the budget
	g, err := m.Reserve(ctx, at, ask)
	require.NoError(t, err)
	require.True(t, g.Admitted)
	assert.Equal(t, at.Add(720*time.Hour), g.Budget.Reset, "a rolling period starts with its first spend")
	require.NoError(t, m.Settle(ctx, g, Actual{MicroUSD: 120_000}))
	g, err = m.Reserve(ctx, at.Add(time.Hour), ask)
	require.NoError(t, err)
	require.False(t, g.Admitted)
	assert.Equal(t, 719*time.Hour, g.Refusal.RetryAfter)
	g, err = m.Reserve(ctx, at.Add(720*time.Hour), ask)
	require.NoError(t, err)
	assert.True(t, g.Admitted, "the next period")
}

func TestMemoryLeasesExpire(t *testing.T) {
	m := NewMemory(MemoryOptions{Lease: time.Second})
	limits := limitsOf(t, Set{Concurrent: 2}, "c")
	ask := Ask{Client: "c", Limits: limits}
	assert.Equal(t, 2, hammer(t, []Limiter{m}, 50, at, ask, nil), "never settled")
	g, err := m.Reserve(ctx, at.Add(999*time.Millisecond), ask)
	require.NoError(t, err)
	assert.False(t, g.Admitted)
	assert.Equal(t, time.Duration(0), g.Refusal.RetryAfter, "unknown: a slot frees when a request ends")
	// The holders died: their leases end.
	var held []Grant
	for range 3 {
		g, err := m.Reserve(ctx, at.Add(time.Second), ask)
		require.NoError(t, err)
		if g.Admitted {
			held = append(held, g)
		}
	}
	require.Len(t, held, 2)
	// Settling gives a slot back at once.
	require.NoError(t, m.Settle(ctx, held[0], Actual{}))
	g, err = m.Reserve(ctx, at.Add(time.Second), ask)
	require.NoError(t, err)
	assert.True(t, g.Admitted)
}

func TestMemoryShareAndSeed(t *testing.T) {
	var seeded atomic.Int64
	m := NewMemory(MemoryOptions{
		Share: func() int { return 4 },
		Seed: func(client, pattern string, from time.Time) int64 {
			seeded.Add(1)
			assert.Equal(t, "c", client)
			assert.Equal(t, "", pattern)
			assert.Equal(t, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), from, "the period's start")
			return 400_000
		},
	})
	limits := limitsOf(t, Set{Requests: rate(10, "1m"), USD: &Budget{USD: 1, Per: "month", Hard: true}}, "c")
	ask := Ask{Client: "c", Limits: limits, Amounts: Amounts{MicroUSD: 100_000}}
	// A quarter of 10 requests; a quarter of the dollar, of which a
	// quarter of the 0.40 seeded is spent: 0.15 left, one request.
	assert.Equal(t, 1, hammer(t, []Limiter{m}, 20, at, ask, nil))
	assert.Equal(t, int64(1), seeded.Load())
	g, err := m.Reserve(ctx, at, Ask{Client: "c", Limits: limits})
	require.NoError(t, err)
	assert.True(t, g.Admitted)
	assert.Equal(t, int64(2), g.Requests.Limit)
	assert.Equal(t, int64(50_000), g.Budget.RemainingMicroUSD)
	assert.Equal(t, 0.05, g.Budget.RemainingUSD())
	assert.Equal(t, time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), g.Budget.Reset)
}

func TestMemorySweepsIdleClients(t *testing.T) {
	m := NewMemory(MemoryOptions{})
	limits := limitsOf(t, Set{Requests: rate(10, "1m"), Concurrent: 1, USD: &Budget{USD: 1, Per: "day"}}, "c")
	g, err := m.Reserve(ctx, at, Ask{Client: "c", Limits: limits})
	require.NoError(t, err)
	require.NoError(t, m.Settle(ctx, g, Actual{MicroUSD: 10}))
	assert.Len(t, m.counters, 3)
	_, err = m.Reserve(ctx, at.Add(25*time.Hour), Ask{Client: "d"})
	require.NoError(t, err)
	assert.Empty(t, m.counters)
	assert.Empty(t, m.byClient)
	assert.Empty(t, m.stateAt("c", at))
}

func BenchmarkMemoryReserveSettle(b *testing.B) {
	p, err := Compile(Config{Tiers: map[string]Set{"default": {
		Requests:   rate(1e9, "1m"),
		Tokens:     rate(1e12, "1m"),
		Concurrent: 1e6,
		USD:        &Budget{USD: 1e9, Per: "month", TimeZone: "Europe/Paris", Hard: true},
	}}})
	require.NoError(b, err)
	m := NewMemory(MemoryOptions{})
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		limits, _ := p.Applicable("client", "", "gpt-4o")
		g, err := m.Reserve(ctx, now, Ask{Client: "client", Limits: limits, Amounts: Amounts{InputTokens: 500, OutputTokens: 1000, MicroUSD: 12_000}})
		if err != nil || !g.Admitted {
			b.Fatal(err, g.Refusal)
		}
		_ = m.Settle(ctx, g, Actual{InputTokens: 500, OutputTokens: 200, MicroUSD: 3000})
	}
}

// A worst case larger than a token limit's window takes the whole window
// instead of being refused for good; once the window holds anything, it
// waits.
func TestMemoryTokenWorstCaseAboveTheLimit(t *testing.T) {
	p, err := Compile(Config{Tiers: map[string]Set{"default": {Tokens: rate(1000, "1m")}}})
	require.NoError(t, err)
	m := NewMemory(MemoryOptions{})
	limits, err := p.Applicable("c", "", "m")
	require.NoError(t, err)
	now := time.Unix(1_800_000_000, 0)
	ask := Ask{Client: "c", Limits: limits, Amounts: Amounts{InputTokens: 20, OutputTokens: 4096}}
	g, err := m.Reserve(ctx, now, ask)
	require.NoError(t, err)
	require.True(t, g.Admitted, "a request larger than the window is admitted into an empty window")
	require.NoError(t, m.Settle(ctx, g, Actual{InputTokens: 20, OutputTokens: 30}))
	// 50 of 1000 used: the next worst case (capped at 1000) does not fit.
	g, err = m.Reserve(ctx, now.Add(time.Second), ask)
	require.NoError(t, err)
	assert.False(t, g.Admitted)
	assert.Positive(t, g.Refusal.RetryAfter)
}
