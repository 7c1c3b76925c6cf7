package limits

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/caddy-llm/llmrouter/internal/sharedstate"
)

// RedisOptions tunes a Redis limiter.
type RedisOptions struct {
	// OnError is what Reserve does when Redis fails (Policy.OnError).
	OnError OnError
	// Instances returns how many instances share the limits (the live ones
	// the shared state last counted, this one included): with OnErrorLocal
	// each enforces limit/Instances() in memory while Redis is down. nil
	// means 1, which lets a fleet of N admit N times the limit during an
	// outage.
	Instances func() int
	// Seed starts the fallback's budgets from the ledger (see SeedFunc).
	Seed SeedFunc
	// Lease is how long a concurrency slot outlives an instance that died
	// holding it; sharedstate.DefaultLease when 0.
	Lease time.Duration
}

// Redis is a Limiter for a fleet, over the shared state's counters: one
// round trip to reserve every limit of a request (reserve.lua), one to
// settle (settle.lua). Its windows are reserve.lua's two-bucket estimate,
// on Redis's clock; calendar budgets are named by their period's start, on
// this instance's clock, and expire at its end. When Redis fails it follows
// OnError; grants made in memory meanwhile settle in memory.
type Redis struct {
	shared *sharedstate.Shared
	opts   RedisOptions
	local  *Memory

	mu   sync.Mutex
	seen map[string][]Applied // each client's last limits, for State
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter over s.
func NewRedis(s *sharedstate.Shared, opts RedisOptions) *Redis {
	if opts.Lease <= 0 {
		opts.Lease = sharedstate.DefaultLease
	}
	return &Redis{
		shared: s,
		opts:   opts,
		local:  NewMemory(MemoryOptions{Share: opts.Instances, Seed: opts.Seed, Lease: opts.Lease}),
		seen:   make(map[string][]Applied),
	}
}

// Reserve implements Limiter.
func (r *Redis) Reserve(ctx context.Context, now time.Time, ask Ask) (Grant, error) {
	r.remember(&ask)
	counters := make([]sharedstate.Counter, len(ask.Limits))
	for i := range ask.Limits {
		counters[i] = r.counter(&ask.Limits[i], &ask, now)
	}
	res, err := r.shared.Reserve(ctx, counters)
	if err != nil {
		switch r.opts.OnError {
		case OnErrorOpen:
			return Grant{Admitted: true, ask: ask}, nil
		case OnErrorClosed:
			return Grant{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return r.local.Reserve(ctx, now, ask)
	}
	if !res.OK {
		a := ask.Limits[res.Refused]
		ref := Refusal{Limit: a, RetryAfter: res.RetryAfter}
		if a.Calendar() && ref.RetryAfter >= 0 {
			_, end := a.Period.Bounds(now, a.Location)
			ref.RetryAfter = end.Sub(now)
		}
		if ref.RetryAfter > 0 {
			ref.Reset = now.Add(ref.RetryAfter)
		}
		return Grant{Refusal: ref, ask: ask}, nil
	}
	g := Grant{Admitted: true, ask: ask, shared: &res}
	r.headroom(&g, now)
	return g, nil
}

// counter is limit a's shared counter for ask at now.
func (r *Redis) counter(a *Applied, ask *Ask, now time.Time) sharedstate.Counter {
	c := sharedstate.Counter{Name: a.CounterName(now), Limit: a.Limit, Amount: ask.amount(a), Window: a.Window}
	switch a.Kind {
	case Requests, Tokens:
		c.Kind = sharedstate.Window
	case USD:
		c.Kind = sharedstate.Budget
		if a.Calendar() {
			// The count expires at the period's end; its name changes then.
			_, end := a.Period.Bounds(now, a.Location)
			c.Window = max(end.Sub(now).Round(time.Millisecond), time.Millisecond)
		}
	case Concurrent:
		c.Kind, c.Window = sharedstate.Concurrency, r.opts.Lease
	}
	return c
}

// headroom fills what Redis tells: the limits, not the counts (reserve.lua
// returns none), and the periods' ends.
func (r *Redis) headroom(g *Grant, now time.Time) {
	for i := range g.ask.Limits {
		a := &g.ask.Limits[i]
		switch a.Kind {
		case Requests, Tokens:
			h := &g.Requests
			if a.Kind == Tokens {
				h = &g.Tokens
			}
			if !h.Set || a.Limit < h.Limit {
				*h = Headroom{Set: true, Limit: a.Limit, Remaining: -1, Reset: -1}
			}
		case USD:
			if !g.Budget.Set {
				g.Budget = BudgetHeadroom{Set: true, RemainingMicroUSD: -1}
			}
			if a.Calendar() {
				_, end := a.Period.Bounds(now, a.Location)
				if g.Budget.Reset.IsZero() || end.Before(g.Budget.Reset) {
					g.Budget.Reset = end
				}
			}
		}
	}
}

// Settle implements Limiter.
func (r *Redis) Settle(ctx context.Context, g Grant, actual Actual) error {
	switch {
	case !g.Admitted:
		return nil
	case g.charges != nil:
		return r.local.Settle(ctx, g, actual)
	case g.shared == nil:
		return nil // admitted open, counting nothing
	}
	amounts := make([]int64, len(g.ask.Limits))
	for i := range g.ask.Limits {
		amounts[i] = settled(&g.ask.Limits[i], actual)
	}
	return r.shared.Settle(ctx, *g.shared, amounts)
}

// maxSeen bounds the clients State remembers.
const maxSeen = 16384

func (r *Redis) remember(ask *Ask) {
	r.mu.Lock()
	if len(r.seen) >= maxSeen {
		clear(r.seen)
	}
	r.seen[ask.Client] = ask.Limits
	r.mu.Unlock()
}

// State implements Limiter. While Redis is up it lists the limits the
// client's last request here had, with counts unknown (-1): reading them
// would cost a round trip that Reserve and Settle do not make. While it is
// down (OnErrorLocal) it is the in-memory fallback's state.
func (r *Redis) State(client string) []Status {
	if !r.shared.Up() && r.opts.OnError == OnErrorLocal {
		return r.local.State(client)
	}
	r.mu.Lock()
	limits := r.seen[client]
	r.mu.Unlock()
	now := time.Now()
	out := make([]Status, 0, len(limits))
	for _, a := range limits {
		st := Status{Applied: a, Used: -1, Remaining: -1}
		if a.Calendar() {
			_, st.Reset = a.Period.Bounds(now, a.Location)
		}
		out = append(out, st)
	}
	sortStatus(out)
	return out
}
