package sharedstate

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// CounterKind is how a Counter counts.
type CounterKind uint8

const (
	// Window limits what is reserved within a sliding Window (requests
	// per minute, tokens per minute). The window slides by estimate: the
	// previous fixed window's count, weighted by how much of it still
	// overlaps, plus the current one's; so a burst at a boundary cannot
	// reach twice the limit, as with fixed windows.
	Window CounterKind = iota + 1
	// Budget limits a total (spend in micro-dollars, tokens per day) for a
	// period: the count expires Window after its first reservation (never
	// when Window is 0). The caller may also put the period in the name
	// ("team-a:2025-06") for calendar periods.
	Budget
	// Concurrency limits how many reservations hold a slot at once; each
	// Amount takes Amount slots until Settle gives them back or their
	// lease (Window, DefaultLease when 0) ends, which is what returns the
	// slots of an instance that crashed.
	Concurrency
)

// DefaultLease is how long a Concurrency slot is held when Counter.Window
// is 0: longer than any request should take.
const DefaultLease = 10 * time.Minute

// Counter is one limit a reservation must fit in.
type Counter struct {
	// Name identifies the counter among those of its kind, within the key
	// prefix: every instance that names it alike shares it.
	Name string
	Kind CounterKind
	// Limit is the most the counter may hold (0: nothing fits).
	Limit int64
	// Amount is what the reservation takes (requests, tokens, micro-dollars,
	// slots), before Settle adjusts it to what was actually used.
	Amount int64
	// Window is the sliding window of a Window counter (required), the
	// period of a Budget (0: none) and the lease of a Concurrency slot.
	Window time.Duration
	// Seed, for a Budget, is what its count starts from when its key does
	// not exist: what the ledger says was spent in the period, so that a
	// Redis that restarted (or the first use of a period) does not forget
	// it. It is set only then (SET NX, expiring with the period), inside
	// Reserve's round trip, whether or not the reservation is made; every
	// instance may pass its own without doubling anything. 0: none.
	Seed int64
}

// Counts are the counters' counts, as Reserve and Peek report them, one
// per counter, in the order given.
type Counts struct {
	// Used is each count after the reservation (as it stands when the
	// reservation was refused, or read by Peek): for a Window, the
	// sliding estimate Reserve decides on, rounded up; for a Budget, its
	// total; for Concurrency, the slots held.
	Used []int64
	// Reset is how long until each counter is back to empty if nothing
	// more is charged. A Window's estimate is the previous fixed window's
	// count, weighted by its overlap, plus the current one's: when the
	// current fixed window (number idx, from idx×Window) holds anything,
	// it has slid out at the end of the next one, (idx+2)×Window; else,
	// when the previous one does, at the end of the current one,
	// (idx+1)×Window; else 0. A Budget's is its key's remaining TTL (the
	// end of its period), -1 when it has none. A Concurrency counter's is
	// when the last lease ends, 0 when none is held. Milliseconds, on
	// Redis's clock.
	Reset []time.Duration
}

// Reservation is the outcome of Reserve.
type Reservation struct {
	// OK reports that every counter had room, and was charged.
	OK bool
	// Refused is the index of the counter that had no room (-1 when OK).
	Refused int
	// RetryAfter, when refused, is when the amount would fit if nothing
	// else changed; 0 when that is not known (a Concurrency slot comes
	// back when a holder settles), and negative when it never will (the
	// amount exceeds the limit, or a budget without period is spent).
	RetryAfter time.Duration
	// Counts are every counter's, after the charge, or as they stand when
	// refused: what is left, for the response headers, without another
	// round trip.
	Counts

	id       string
	counters []Counter
	fields   []int64 // per counter: the window charged (Window kind)
}

// ErrNotReserved is returned by Settle for a reservation that was refused
// (or is the zero Reservation): there is nothing to settle.
var ErrNotReserved = errors.New("shared state: settling a reservation that was not made")

var (
	//go:embed reserve.lua
	reserveSource string
	//go:embed settle.lua
	settleSource string

	reserveScript = redis.NewScript(reserveSource)
	settleScript  = redis.NewScript(settleSource)
)

// Reserve takes each counter's Amount, in one round trip, if every counter
// has room for it; otherwise it takes nothing and reports the first counter
// that had none. Either way it reports every counter's count (Counts), and
// sets the Seed of Budget counters whose keys do not exist. The time is Redis's, so instances whose clocks disagree
// count alike. An error means the reservation was not made (Redis did not
// answer within CommandTimeout, or a counter is invalid); what to do then
// (let the request through, or refuse it) is the caller's choice.
//
// Every reservation that was made (OK) must be settled once, with Settle.
func (s *Shared) Reserve(ctx context.Context, counters []Counter) (Reservation, error) {
	if len(counters) == 0 {
		return Reservation{OK: true, Refused: -1}, nil
	}
	id := randomID()
	vals, err := s.runReserve(ctx, id, true, counters)
	if err != nil {
		return Reservation{}, fmt.Errorf("shared state: reserve: %w", err)
	}
	res := Reservation{Refused: -1, Counts: countsOf(vals, len(counters))}
	if vals[0] != 1 {
		res.Refused = int(vals[1]) - 1
		switch r := vals[2]; {
		case r < 0:
			res.RetryAfter = -1
		default:
			res.RetryAfter = time.Duration(r) * time.Millisecond
		}
		return res, nil
	}
	res.OK, res.id = true, id
	res.counters = append([]Counter(nil), counters...)
	res.fields = make([]int64, len(counters))
	for i := range counters {
		res.fields[i] = vals[3+3*i]
	}
	return res, nil
}

// Peek reads the counters' counts, in one round trip, charging and seeding
// nothing (Amount and Seed are ignored): the admin path's view of what
// Reserve would see.
func (s *Shared) Peek(ctx context.Context, counters []Counter) (Counts, error) {
	if len(counters) == 0 {
		return Counts{}, nil
	}
	vals, err := s.runReserve(ctx, "", false, counters)
	if err != nil {
		return Counts{}, fmt.Errorf("shared state: peek: %w", err)
	}
	return countsOf(vals, len(counters)), nil
}

// runReserve runs reserve.lua (see its contract there) and checks the
// shape of its reply: 3 values, then 3 per counter.
func (s *Shared) runReserve(ctx context.Context, id string, reserve bool, counters []Counter) ([]int64, error) {
	keys := make([]string, len(counters))
	mode := "0"
	if reserve {
		mode = "1"
	}
	args := make([]any, 2, 2+6*len(counters))
	args[0], args[1] = id, mode
	for i, c := range counters {
		key, err := s.counterKey(c)
		if err != nil {
			return nil, fmt.Errorf("counter %d: %w", i, err)
		}
		keys[i] = key
		win := c.Window
		if c.Kind == Concurrency && win == 0 {
			win = DefaultLease
		}
		amount, seed := c.Amount, c.Seed
		if !reserve {
			amount, seed = 0, 0
		}
		args = append(args, kindCode(c.Kind), c.Limit, amount, win.Milliseconds(), win.Milliseconds(), seed)
	}

	bounded, cancel := s.bound(ctx)
	defer cancel()
	started := time.Now()
	vals, err := reserveScript.Run(bounded, s.client, keys, args...).Int64Slice()
	s.reportCall(ctx, started, err)
	if err != nil {
		return nil, err
	}
	if len(vals) != 3+3*len(counters) {
		return nil, fmt.Errorf("unexpected reply %v", vals)
	}
	return vals, nil
}

// countsOf reads the counts of n counters in reserve.lua's reply.
func countsOf(vals []int64, n int) Counts {
	c := Counts{Used: make([]int64, n), Reset: make([]time.Duration, n)}
	for i := range n {
		c.Used[i] = vals[3+3*i+1]
		if r := vals[3+3*i+2]; r < 0 {
			c.Reset[i] = -1
		} else {
			c.Reset[i] = time.Duration(r) * time.Millisecond
		}
	}
	return c
}

// Settle adjusts a reservation to what was used: actual[i] replaces
// counter i's Amount (the difference is charged, or refunded), and
// Concurrency slots are given back. A nil actual refunds everything (the
// request did not happen). Counters whose window or period has ended since
// are left alone. Settle a reservation once; an error means it may not have
// been applied (a Concurrency slot then comes back at the end of its lease).
func (s *Shared) Settle(ctx context.Context, res Reservation, actual []int64) error {
	if !res.OK {
		return ErrNotReserved
	}
	if len(res.counters) == 0 {
		return nil // a reservation of nothing
	}
	if actual != nil && len(actual) != len(res.counters) {
		return fmt.Errorf("shared state: settle: %d amounts for %d counters", len(actual), len(res.counters))
	}
	keys := make([]string, len(res.counters))
	args := make([]any, 1, 1+4*len(res.counters))
	args[0] = res.id
	for i, c := range res.counters {
		keys[i], _ = s.counterKey(c) // checked by Reserve
		var used int64
		if actual != nil {
			used = max(actual[i], 0)
		}
		args = append(args, kindCode(c.Kind), c.Amount, used, strconv.FormatInt(res.fields[i], 10))
	}
	bounded, cancel := s.bound(ctx)
	defer cancel()
	started := time.Now()
	err := settleScript.Run(bounded, s.client, keys, args...).Err()
	s.reportCall(ctx, started, err)
	if err != nil {
		return fmt.Errorf("shared state: settle: %w", err)
	}
	return nil
}

// counterKey checks c and returns its key.
func (s *Shared) counterKey(c Counter) (string, error) {
	switch {
	case c.Name == "":
		return "", errors.New("no name")
	case c.Limit < 0 || c.Amount < 0 || c.Seed < 0:
		return "", fmt.Errorf("%q: negative limit, amount or seed", c.Name)
	case c.Window < 0:
		return "", fmt.Errorf("%q: negative window", c.Name)
	case c.Kind == Window && c.Window < time.Millisecond:
		return "", fmt.Errorf("%q: a window counter needs a window of 1ms or more", c.Name)
	}
	switch c.Kind {
	case Window:
		return s.keys.rate(c.Name), nil
	case Budget:
		return s.keys.budget(c.Name), nil
	case Concurrency:
		if c.Amount > 1000 {
			return "", fmt.Errorf("%q: at most 1000 slots at once", c.Name)
		}
		return s.keys.slots(c.Name), nil
	}
	return "", fmt.Errorf("%q: unknown kind %d", c.Name, c.Kind)
}

func kindCode(k CounterKind) string {
	switch k {
	case Window:
		return "w"
	case Budget:
		return "b"
	}
	return "c"
}

// bound returns ctx, bounded by CommandTimeout.
func (s *Shared) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.CommandTimeout)
}

// reportCall reports the outcome of a call made for a caller, unless the
// caller's own context (cancelled, or a deadline shorter than
// CommandTimeout) ended it: that says nothing about Redis.
func (s *Shared) reportCall(ctx context.Context, started time.Time, err error) {
	if err != nil && ctx.Err() != nil {
		return
	}
	s.report(started, err)
}
