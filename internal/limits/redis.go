package limits

import (
	"context"
	"fmt"
	"slices"
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
	// Seed starts budgets from the ledger (see SeedFunc): Redis's, when a
	// budget's key does not exist (Redis restarted, or the period is new),
	// and the fallback's. It is called once per budget counter name per
	// process (see Redis.seeds).
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
//
// Its grants' headroom comes from the counts reserve.lua returns, so it is
// exact across instances and equal to what Memory reports for the same
// sequence of requests on one instance.
type Redis struct {
	shared *sharedstate.Shared
	opts   RedisOptions
	local  *Memory

	// seedMu makes one Seed call at a time, so that requests that wait for
	// the same new counter find it read rather than read the ledger again.
	seedMu sync.Mutex
	mu     sync.Mutex
	seen   map[string][]Applied // guarded by mu: each client's last limits, for State
	// seeds is guarded by mu: what Seed said of each budget counter this
	// process used, by counter name. A calendar budget's name holds its
	// period, and the ledger's spend in a period only grows, so its seed
	// goes with every reservation (a lower bound, which restores most of
	// the spend if Redis restarts while this process runs). A rolling
	// budget's name outlives its periods: its seed goes with the first
	// reservation only, lest it charge a period that ended to the next.
	seeds map[string]int64
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
		seeds:  make(map[string]int64),
	}
}

// Reserve implements Limiter.
func (r *Redis) Reserve(ctx context.Context, now time.Time, ask Ask) (Grant, error) {
	r.remember(&ask)
	counters := make([]sharedstate.Counter, len(ask.Limits))
	for i := range ask.Limits {
		counters[i] = r.counter(&ask.Limits[i], &ask, now)
	}
	var fresh []string
	if r.opts.Seed != nil {
		fresh = r.seed(now, &ask, counters)
	}
	res, err := r.shared.Reserve(ctx, counters)
	if err != nil {
		r.forgetSeeds(fresh) // not applied: read them again next time
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
		// reserve.lua checked and counted every limit, so a refused client
		// is told what is left of each, as Memory does.
		g := Grant{Refusal: ref, ask: ask}
		r.headroom(&g, now, res.Counts)
		return g, nil
	}
	g := Grant{Admitted: true, ask: ask, shared: &res}
	r.headroom(&g, now, res.Counts)
	return g, nil
}

// seed sets the Seed of the budget counters of ask from opts.Seed, reading
// the ledger once per counter name (see Redis.seeds), before the counter's
// first reservation here, outside of mu. It returns the names it read the
// ledger for.
func (r *Redis) seed(now time.Time, ask *Ask, counters []sharedstate.Counter) (fresh []string) {
	for i := range ask.Limits {
		a := &ask.Limits[i]
		if a.Kind != USD {
			continue
		}
		name := counters[i].Name
		if v, ok := r.cachedSeed(name); ok {
			if a.Calendar() {
				counters[i].Seed = v
			}
			continue
		}
		r.seedMu.Lock()
		v, ok := r.cachedSeed(name)
		if !ok {
			from := now.Add(-a.Window) // a rolling period may have started a window ago
			if a.Calendar() {
				from, _ = a.Period.Bounds(now, a.Location)
			}
			v = max(r.opts.Seed(ask.Client, a.Model, from), 0)
			r.mu.Lock()
			if len(r.seeds) >= maxSeen {
				clear(r.seeds)
			}
			r.seeds[name] = v
			r.mu.Unlock()
			fresh = append(fresh, name)
		}
		r.seedMu.Unlock()
		if !ok || a.Calendar() {
			counters[i].Seed = v
		}
	}
	return fresh
}

func (r *Redis) cachedSeed(name string) (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.seeds[name]
	return v, ok
}

// forgetSeeds drops the seeds of names, read for a reservation that failed.
func (r *Redis) forgetSeeds(names []string) {
	if len(names) == 0 {
		return
	}
	r.mu.Lock()
	for _, name := range names {
		delete(r.seeds, name)
	}
	r.mu.Unlock()
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

// headroom fills g's numbers for the response headers from the counts
// reserve.lua returned, as Memory does from its own: of each kind, the
// limit with least left.
func (r *Redis) headroom(g *Grant, now time.Time, counts sharedstate.Counts) {
	for i := range g.ask.Limits {
		a := &g.ask.Limits[i]
		left := max(a.Limit-counts.Used[i], 0)
		switch a.Kind {
		case Requests, Tokens:
			h := &g.Requests
			if a.Kind == Tokens {
				h = &g.Tokens
			}
			if !h.Set || left < h.Remaining {
				*h = Headroom{Set: true, Limit: a.Limit, Remaining: left, Reset: max(counts.Reset[i], 0)}
			}
		case USD:
			if !g.Budget.Set || left < g.Budget.RemainingMicroUSD {
				g.Budget = BudgetHeadroom{Set: true, RemainingMicroUSD: left, Reset: budgetEnd(a, now, counts.Reset[i])}
			}
		}
	}
}

// budgetEnd is when budget a's period ends: a calendar period's end, or
// for a rolling one its key's TTL from now (zero when it has none: the
// period has not started).
func budgetEnd(a *Applied, now time.Time, ttl time.Duration) time.Time {
	if a.Calendar() {
		_, end := a.Period.Bounds(now, a.Location)
		return end
	}
	if ttl < 0 {
		return time.Time{}
	}
	return now.Add(ttl)
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

// Clients implements Limiter: the clients whose requests this instance
// reserved for (those State remembers), and the fallback's.
func (r *Redis) Clients() []string {
	r.mu.Lock()
	out := make([]string, 0, len(r.seen))
	for c := range r.seen {
		out = append(out, c)
	}
	r.mu.Unlock()
	for _, c := range r.local.Clients() {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
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
// client's last request here had, with their counts read from Redis in one
// round trip (Peek; the admin path can afford it), or unknown (-1) when
// that fails. While it is down (OnErrorLocal) it is the in-memory
// fallback's state.
func (r *Redis) State(client string) []Status {
	if !r.shared.Up() && r.opts.OnError == OnErrorLocal {
		return r.local.State(client)
	}
	r.mu.Lock()
	limits := r.seen[client]
	r.mu.Unlock()
	now := time.Now()
	counters := make([]sharedstate.Counter, len(limits))
	for i := range limits {
		counters[i] = r.counter(&limits[i], &Ask{}, now)
	}
	counts, err := r.shared.Peek(context.Background(), counters)
	out := make([]Status, 0, len(limits))
	for i, a := range limits {
		st := Status{Applied: a, Used: -1, Remaining: -1}
		switch {
		case err != nil:
			if a.Calendar() {
				_, st.Reset = a.Period.Bounds(now, a.Location)
			}
		default:
			st.Used = counts.Used[i]
			st.Remaining = max(a.Limit-st.Used, 0)
			switch a.Kind {
			case Requests, Tokens:
				st.Reset = now.Add(max(counts.Reset[i], 0))
			case USD:
				st.Reset = budgetEnd(&a, now, counts.Reset[i])
			}
		}
		out = append(out, st)
	}
	sortStatus(out)
	return out
}
