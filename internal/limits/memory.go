package limits

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/caddy-llm/llmrouter/internal/sharedstate"
)

// SeedFunc returns what client already spent, in micro-USD, on the models
// matching pattern (every model when empty) since from: what a budget
// starts from after a restart. The root feeds it from the ledger's rollups
// (ledger.Usage grouped by client and model, hourly from `from`, summing
// BillableCostUSD × 1e6 over the rows whose model matches pattern with
// path.Match). It is called at most once per budget counter a Memory
// creates, outside of any lock, on the request's path: it should be quick
// or cached.
type SeedFunc func(client, pattern string, from time.Time) (microUSD int64)

// MemoryOptions tunes a Memory limiter; the zero value is one instance.
type MemoryOptions struct {
	// Share, when set, returns how many instances share each limit: each
	// limit is divided by it (at least 1 is left), and so is what Seed
	// returns. Redis's fallback sets it to the number of live instances.
	Share func() int
	// Seed, when set, starts budgets from what the ledger recorded.
	Seed SeedFunc
	// Lease is how long a concurrency slot is held when a request is never
	// settled; sharedstate.DefaultLease when 0.
	Lease time.Duration
}

// Memory is a Limiter for one instance. Its sliding windows are the same
// two-bucket estimate as Redis's reserve.lua (the previous fixed window's
// count weighted by how much of it still overlaps, plus the current one's,
// windows aligned on the Unix epoch), so that a limit behaves alike on
// either backend; budgets are exact counts per period; concurrency slots
// are leases. It is safe for concurrent use: one mutex guards every
// counter, held for a few hundred nanoseconds per call.
type Memory struct {
	opts    MemoryOptions
	started time.Time

	seedMu    sync.Mutex // one Seed at a time, so each counter is seeded once
	mu        sync.Mutex
	counters  map[counterKey]*counter
	byClient  map[string]map[counterKey]struct{}
	nextLease uint64
	nextSweep time.Time
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns an empty Memory limiter.
func NewMemory(opts MemoryOptions) *Memory {
	if opts.Lease <= 0 {
		opts.Lease = sharedstate.DefaultLease
	}
	return &Memory{
		opts:     opts,
		started:  time.Now(),
		counters: make(map[counterKey]*counter),
		byClient: make(map[string]map[counterKey]struct{}),
	}
}

// counterKey identifies a counter without building its name: a calendar
// budget's period is its start in Unix seconds.
type counterKey struct {
	name   string
	period int64
}

type counter struct {
	a      Applied
	client string

	// Requests, Tokens: the window number (Unix ms / window) and the
	// counts of it and the one before.
	idx, cur, prev int64
	// USD: spend, and the period's end (rolling: zero until first spent).
	used int64
	end  time.Time
	// Concurrent: lease id → its end, Unix ms.
	leases map[uint64]int64
}

// charge is what Reserve took of one counter, for Settle.
type charge struct {
	c      *counter
	idx    int64     // the window charged
	end    time.Time // the budget period charged
	amount int64
	lease  uint64
}

// share divides a limit among the instances that enforce it.
func share(limit int64, n int) int64 {
	if n <= 1 {
		return limit
	}
	return max(limit/int64(n), 1)
}

func (m *Memory) instances() int {
	if m.opts.Share == nil {
		return 1
	}
	return max(m.opts.Share(), 1)
}

// keyOf returns limit a's counter key at now, and a calendar period's end.
func keyOf(a *Applied, now time.Time) (counterKey, time.Time) {
	if a.Period == NoPeriod {
		return counterKey{name: a.Name}, time.Time{}
	}
	start, end := a.Period.Bounds(now, a.Location)
	return counterKey{a.Name, start.Unix()}, end
}

// Reserve implements Limiter.
func (m *Memory) Reserve(_ context.Context, now time.Time, ask Ask) (Grant, error) {
	n := m.instances()
	// Each limit's counter key, worked out once (a calendar budget's takes
	// its period's bounds in its time zone).
	var keyBuf [8]counterKey
	var endBuf [8]time.Time
	keys, ends := keyBuf[:0], endBuf[:0]
	for i := range ask.Limits {
		key, end := keyOf(&ask.Limits[i], now)
		keys, ends = append(keys, key), append(ends, end)
	}
	g := Grant{ask: ask, charges: make([]charge, len(ask.Limits))}
	nowMs := now.UnixMilli()

	m.mu.Lock()
	if m.opts.Seed != nil && m.unseeded(&ask, keys) {
		// A budget counter this process has not made yet starts from the
		// ledger: read it outside the lock.
		m.mu.Unlock()
		m.seed(now, &ask, n)
		m.mu.Lock()
	}
	defer m.mu.Unlock()
	m.maybeSweep(now, nowMs)
	for i := range ask.Limits {
		a := &ask.Limits[i]
		key, end := keys[i], ends[i]
		c := m.counter(key, a, ask.Client, end)
		// A reload may have changed the limit: the counter keeps counting
		// (its name leaves the value out) under the current one.
		c.a = *a
		limit, amount := share(a.Limit, n), ask.amount(a)
		g.charges[i] = charge{c: c, amount: amount}
		if retry, ok := c.fits(now, nowMs, limit, amount); !ok {
			g.Refusal = Refusal{Limit: *a, RetryAfter: retry, Reset: c.reset(now, nowMs)}
			if a.Kind != USD && retry > 0 {
				g.Refusal.Reset = now.Add(retry)
			}
			// What is left of every limit, as an admitted request would be
			// told: a refused client sees all its x-ratelimit-* and budget
			// headers too, as OpenAI sends them on a 429. Nothing is charged.
			for j := i + 1; j < len(ask.Limits); j++ {
				b := &ask.Limits[j]
				c := m.counter(keys[j], b, ask.Client, ends[j])
				c.a = *b
				if b.Kind == USD {
					c.expire(now)
				}
				g.charges[j] = charge{c: c}
			}
			m.headroom(&g, now, nowMs, n)
			g.charges = nil
			return g, nil
		}
	}
	for i := range g.charges {
		ch := &g.charges[i]
		switch c := ch.c; c.a.Kind {
		case Requests, Tokens:
			c.cur += ch.amount
			ch.idx = c.idx
		case USD:
			c.used += ch.amount
			if c.end.IsZero() && ch.amount > 0 {
				c.end = now.Add(c.a.Window)
			}
			ch.end = c.end
		case Concurrent:
			m.nextLease++
			ch.lease = m.nextLease
			if c.leases == nil {
				c.leases = make(map[uint64]int64)
			}
			c.leases[ch.lease] = nowMs + m.opts.Lease.Milliseconds()
		}
	}
	g.Admitted = true
	m.headroom(&g, now, nowMs, n)
	return g, nil
}

// unseeded reports whether a budget counter of ask, whose counter keys are
// keys, does not exist yet. Called with m.mu held.
func (m *Memory) unseeded(ask *Ask, keys []counterKey) bool {
	for i := range ask.Limits {
		if ask.Limits[i].Kind != USD {
			continue
		}
		if _, ok := m.counters[keys[i]]; !ok {
			return true
		}
	}
	return false
}

// seed creates the budget counters of ask that do not exist yet, from
// what Seed says was spent. Seed runs under seedMu, not mu: requests whose
// counters exist go on, and those that wait for the same new counter find
// it seeded.
func (m *Memory) seed(now time.Time, ask *Ask, n int) {
	for i := range ask.Limits {
		a := &ask.Limits[i]
		if a.Kind != USD {
			continue
		}
		key, end := keyOf(a, now)
		if m.exists(key) {
			continue
		}
		var from time.Time
		switch {
		case a.Calendar():
			from, _ = a.Period.Bounds(now, a.Location)
		case now.Sub(m.started) < a.Window:
			// A rolling period may have started before this process did;
			// count what was spent within one window back. Once the
			// process is older than the window, a new counter means nothing
			// was spent here within it.
			from = now.Add(-a.Window)
		default:
			continue
		}
		m.seedMu.Lock()
		if m.exists(key) {
			m.seedMu.Unlock()
			continue
		}
		spent := max(m.opts.Seed(ask.Client, a.Model, from), 0) / int64(n)
		m.mu.Lock()
		c := m.counter(key, a, ask.Client, end)
		c.used = spent
		if !a.Calendar() && spent > 0 {
			c.end = now.Add(a.Window)
		}
		m.mu.Unlock()
		m.seedMu.Unlock()
	}
}

func (m *Memory) exists(key counterKey) bool {
	m.mu.Lock()
	_, ok := m.counters[key]
	m.mu.Unlock()
	return ok
}

// counter returns the counter of key, creating it. Called with m.mu held.
func (m *Memory) counter(key counterKey, a *Applied, client string, end time.Time) *counter {
	if c, ok := m.counters[key]; ok {
		return c
	}
	c := &counter{a: *a, client: client, end: end}
	m.counters[key] = c
	set := m.byClient[client]
	if set == nil {
		set = make(map[counterKey]struct{})
		m.byClient[client] = set
	}
	set[key] = struct{}{}
	return c
}

// fits reports whether amount fits in c under limit at now, after bringing
// c up to date; when not, how long until it would (as reserve.lua).
func (c *counter) fits(now time.Time, nowMs, limit, amount int64) (time.Duration, bool) {
	if amount > limit {
		return -1, false
	}
	switch c.a.Kind {
	case Requests, Tokens:
		win := c.a.Window.Milliseconds()
		c.roll(nowMs / win)
		elapsed := nowMs - c.idx*win
		prev, cur := float64(c.prev), float64(c.cur)
		if prev*float64(win-elapsed)/float64(win)+cur+float64(amount) <= float64(limit) {
			return 0, true
		}
		var retry float64
		if c.cur+amount <= limit {
			retry = float64(win-elapsed) - float64(limit-c.cur-amount)*float64(win)/prev
		} else {
			retry = float64(win-elapsed) + float64(win)*(1-float64(limit-amount)/cur)
		}
		return time.Duration(max(1, math.Ceil(retry))) * time.Millisecond, false
	case USD:
		c.expire(now)
		if c.used+amount <= limit {
			return 0, true
		}
		if c.end.IsZero() {
			return -1, false
		}
		return c.end.Sub(now), false
	case Concurrent:
		c.purge(nowMs)
		if int64(len(c.leases))+amount <= limit {
			return 0, true
		}
		return 0, false
	}
	return -1, false
}

// roll moves a window counter to window idx.
func (c *counter) roll(idx int64) {
	switch {
	case idx == c.idx:
		return
	case idx == c.idx+1:
		c.prev = c.cur
	default:
		c.prev = 0
	}
	c.idx, c.cur = idx, 0
}

// estimate is a window counter's count at nowMs (rolled first).
func (c *counter) estimate(nowMs int64) float64 {
	win := c.a.Window.Milliseconds()
	c.roll(nowMs / win)
	elapsed := nowMs - c.idx*win
	return float64(c.prev)*float64(win-elapsed)/float64(win) + float64(c.cur)
}

// expire starts a rolling budget's next period once the last one ended.
func (c *counter) expire(now time.Time) {
	if !c.a.Calendar() && !c.end.IsZero() && !now.Before(c.end) {
		c.used, c.end = 0, time.Time{}
	}
}

// purge drops the leases that ended.
func (c *counter) purge(nowMs int64) {
	for id, end := range c.leases {
		if end <= nowMs {
			delete(c.leases, id)
		}
	}
}

// reset is when c is back to empty: a window's count has slid out, a
// budget's period ends. Zero when unknown or already empty.
func (c *counter) reset(now time.Time, nowMs int64) time.Time {
	switch c.a.Kind {
	case Requests, Tokens:
		win := c.a.Window.Milliseconds()
		end := (c.idx + 1) * win // the current window's end
		switch {
		case c.cur > 0:
			return time.UnixMilli(end + win)
		case c.prev > 0:
			return time.UnixMilli(end)
		}
		return now
	case USD:
		return c.end
	}
	return time.Time{}
}

// headroom fills g's numbers for the response headers from the counters of
// g.charges, whether charged or not. Called with m.mu held.
func (m *Memory) headroom(g *Grant, now time.Time, nowMs int64, n int) {
	for i := range g.charges {
		c := g.charges[i].c
		limit := share(c.a.Limit, n)
		switch c.a.Kind {
		case Requests, Tokens:
			h := &g.Requests
			if c.a.Kind == Tokens {
				h = &g.Tokens
			}
			left := max(limit-int64(math.Ceil(c.estimate(nowMs))), 0)
			if !h.Set || left < h.Remaining {
				*h = Headroom{Set: true, Limit: limit, Remaining: left,
					Reset: max(c.reset(now, nowMs).Sub(now), 0)}
			}
		case USD:
			left := max(limit-c.used, 0)
			if !g.Budget.Set || left < g.Budget.RemainingMicroUSD {
				g.Budget = BudgetHeadroom{Set: true, RemainingMicroUSD: left, Reset: c.end}
			}
		}
	}
}

// Settle implements Limiter.
func (m *Memory) Settle(_ context.Context, g Grant, actual Actual) error {
	if !g.Admitted || g.charges == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range g.charges {
		ch := &g.charges[i]
		c := ch.c
		delta := settled(&c.a, actual) - ch.amount
		switch c.a.Kind {
		case Requests, Tokens:
			switch c.idx {
			case ch.idx:
				c.cur = max(c.cur+delta, 0)
			case ch.idx + 1:
				c.prev = max(c.prev+delta, 0)
			}
		case USD:
			if c.end.Equal(ch.end) { // the period charged has not ended
				c.used = max(c.used+delta, 0)
			}
		case Concurrent:
			delete(c.leases, ch.lease)
		}
	}
	return nil
}

// sweepEvery is how often Memory drops the counters that hold nothing.
const sweepEvery = time.Minute

// maybeSweep drops the counters whose windows and periods are over, so
// that clients seen once do not stay in memory. Called with m.mu held.
func (m *Memory) maybeSweep(now time.Time, nowMs int64) {
	if now.Before(m.nextSweep) {
		return
	}
	m.nextSweep = now.Add(sweepEvery)
	for key, c := range m.counters {
		var done bool
		switch c.a.Kind {
		case Requests, Tokens:
			done = nowMs/c.a.Window.Milliseconds() > c.idx+1
		case USD:
			done = !c.end.IsZero() && !now.Before(c.end) || c.end.IsZero() && c.used == 0
		case Concurrent:
			c.purge(nowMs)
			done = len(c.leases) == 0
		}
		if done {
			delete(m.counters, key)
			if set := m.byClient[c.client]; set != nil {
				delete(set, key)
				if len(set) == 0 {
					delete(m.byClient, c.client)
				}
			}
		}
	}
}

// Clients implements Limiter: the clients with live counters.
func (m *Memory) Clients() []string {
	m.mu.Lock()
	out := make([]string, 0, len(m.byClient))
	for c := range m.byClient {
		out = append(out, c)
	}
	m.mu.Unlock()
	slices.Sort(out)
	return out
}

// State implements Limiter: each of the client's limits in use, with its
// count now.
func (m *Memory) State(client string) []Status { return m.stateAt(client, time.Now()) }

func (m *Memory) stateAt(client string, now time.Time) []Status {
	nowMs := now.UnixMilli()
	n := m.instances()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Status
	for key := range m.byClient[client] {
		c := m.counters[key]
		if c.a.Calendar() && !now.Before(c.end) {
			continue // a past period
		}
		limit := share(c.a.Limit, n)
		var used int64
		switch c.a.Kind {
		case Requests, Tokens:
			used = int64(math.Ceil(c.estimate(nowMs)))
		case USD:
			c.expire(now)
			used = c.used
		case Concurrent:
			c.purge(nowMs)
			used = int64(len(c.leases))
		}
		st := Status{Applied: c.a, Used: used, Remaining: max(limit-used, 0), Reset: c.reset(now, nowMs)}
		st.Limit = limit
		out = append(out, st)
	}
	sortStatus(out)
	return out
}
