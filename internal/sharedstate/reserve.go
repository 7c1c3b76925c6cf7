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
// that had none. The time is Redis's, so instances whose clocks disagree
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
	keys := make([]string, len(counters))
	args := make([]any, 1, 1+5*len(counters))
	args[0] = id
	for i, c := range counters {
		key, err := s.counterKey(c)
		if err != nil {
			return Reservation{}, fmt.Errorf("counter %d: %w", i, err)
		}
		keys[i] = key
		win := c.Window
		if c.Kind == Concurrency && win == 0 {
			win = DefaultLease
		}
		args = append(args, kindCode(c.Kind), c.Limit, c.Amount, win.Milliseconds(), win.Milliseconds())
	}

	bounded, cancel := s.bound(ctx)
	defer cancel()
	vals, err := reserveScript.Run(bounded, s.client, keys, args...).Int64Slice()
	s.reportCall(ctx, err)
	if err != nil {
		return Reservation{}, fmt.Errorf("shared state: reserve: %w", err)
	}
	if len(vals) < 3 {
		return Reservation{}, fmt.Errorf("shared state: reserve: unexpected reply %v", vals)
	}
	if vals[0] != 1 {
		res := Reservation{Refused: int(vals[1]) - 1}
		switch r := vals[2]; {
		case r < 0:
			res.RetryAfter = -1
		default:
			res.RetryAfter = time.Duration(r) * time.Millisecond
		}
		return res, nil
	}
	if len(vals) != 3+len(counters) {
		return Reservation{}, fmt.Errorf("shared state: reserve: unexpected reply %v", vals)
	}
	return Reservation{
		OK: true, Refused: -1, id: id,
		counters: append([]Counter(nil), counters...),
		fields:   vals[3:],
	}, nil
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
	err := settleScript.Run(bounded, s.client, keys, args...).Err()
	s.reportCall(ctx, err)
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
	case c.Limit < 0 || c.Amount < 0:
		return "", fmt.Errorf("%q: negative limit or amount", c.Name)
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
func (s *Shared) reportCall(ctx context.Context, err error) {
	if err != nil && ctx.Err() != nil {
		return
	}
	s.report(err)
}
