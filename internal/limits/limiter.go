package limits

import (
	"context"
	"errors"
	"time"

	"github.com/caddy-llm/llmrouter/internal/sharedstate"
)

// Limiter admits requests against their limits and charges what they
// used. Memory counts for one instance, Redis for a fleet.
type Limiter interface {
	// Reserve reserves ask's worst case against every limit in it at once:
	// all of them, or none. A refusal is a Grant that is not Admitted, not
	// an error; an error means the limits could not be checked (ErrUnavailable:
	// the handler answers 503).
	Reserve(ctx context.Context, now time.Time, ask Ask) (Grant, error)
	// Settle charges what an admitted request used: the request stays
	// counted, tokens are charged per each limit's CountMode and spend in
	// micro-USD, the rest of the reservation is refunded, and concurrency
	// slots are given back. Settling a grant that was not admitted does
	// nothing. Settle each grant once.
	Settle(ctx context.Context, g Grant, actual Actual) error
	// State is the client's limits as this limiter knows them, for
	// /llm_router/stats.
	State(client string) []Status
	// Clients lists the clients this limiter has counted for lately (here;
	// other instances' are theirs), sorted, for /llm_router/stats.
	Clients() []string
}

// ErrUnavailable is returned by Reserve when the shared counters cannot be
// reached and OnError is closed.
var ErrUnavailable = errors.New("limits: shared counters unavailable")

// Ask is what Reserve needs: whose request, the limits that apply to it
// (Policy.Applicable) and its worst case (WorstCase).
type Ask struct {
	Client string
	Limits []Applied
	Amounts
}

// Actual is what a request used, billable only: zero completion insurance
// absorbs the rest, which never counts against a client (a failed or empty
// answer settles with zero tokens and zero cost, and still counts as a
// request).
type Actual struct {
	InputTokens, OutputTokens int64
	MicroUSD                  int64
}

func (a Actual) tokens(c CountMode) int64 {
	return Amounts{InputTokens: a.InputTokens, OutputTokens: a.OutputTokens}.tokens(c)
}

// Grant is the outcome of Reserve.
type Grant struct {
	// Admitted reports that every limit had room, and was charged.
	Admitted bool
	// Refusal says which limit refused, when not Admitted.
	Refusal Refusal
	// Requests and Tokens are for OpenAI's x-ratelimit-* headers: the
	// tightest limit of each kind (the one with least left).
	Requests, Tokens Headroom
	// Budget is the tightest USD budget, for x-llm-budget-*.
	Budget BudgetHeadroom

	ask     Ask
	charges []charge                 // Memory: what was charged
	shared  *sharedstate.Reservation // Redis: the reservation
}

// Refusal is the limit that refused a request.
type Refusal struct {
	Limit Applied
	// RetryAfter is when the request would fit if nothing else changed:
	// exact for sliding windows, the end of the period for budgets; 0 when
	// unknown (a concurrency slot frees when a request ends), negative when
	// it never will (the request alone exceeds the limit).
	RetryAfter time.Duration
	// Reset is when the limit's window or period ends (zero when unknown).
	Reset time.Time
}

// Budget reports that the refusal is a spent budget (429 insufficient_quota,
// x-should-retry: false) rather than a rate (429 rate_limit_exceeded).
func (r Refusal) Budget() bool { return r.Limit.Kind == USD }

// Headroom is a rate limit's state for the x-ratelimit-* headers.
type Headroom struct {
	// Set when a limit of the kind applies.
	Set   bool
	Limit int64
	// Remaining is what is left after this request (sliding windows: the
	// limit less the estimate, rounded up); exact across instances with
	// Redis, whose reservation returns the counts.
	Remaining int64
	// Reset is how long until the window is back to its full limit: the
	// end of the next fixed window while the current one holds anything,
	// of the current one while only the previous one does, else 0.
	Reset time.Duration
}

// BudgetHeadroom is a budget's state for the x-llm-budget-* headers.
type BudgetHeadroom struct {
	Set bool
	// RemainingMicroUSD is what is left after this reservation; -1 when not
	// known.
	RemainingMicroUSD int64
	// Reset is the end of the period (zero when not known, or a rolling
	// budget that has not started).
	Reset time.Time
}

// RemainingUSD is RemainingMicroUSD in USD (negative when not known).
func (b BudgetHeadroom) RemainingUSD() float64 {
	if b.RemainingMicroUSD < 0 {
		return -1
	}
	return float64(b.RemainingMicroUSD) / 1e6
}

// Status is one limit of a client, for /llm_router/stats.
type Status struct {
	Applied
	// Used is the count now (sliding windows: the estimate); -1 when not
	// known. Remaining is Limit - Used, never below 0.
	Used, Remaining int64
	// Reset is when the window or period ends (zero when not known).
	Reset time.Time
}

// amount is what a reservation takes of limit a.
func (ask *Ask) amount(a *Applied) int64 {
	switch a.Kind {
	case Tokens:
		// A worst case that only the completion's bound makes larger than
		// the whole window (a long max_tokens, or none, against a small
		// limit) takes the whole window rather than being refused for
		// good: a token rate is a rate, and the request settles to what it
		// used. A prompt that alone exceeds the limit never fits.
		worst := ask.tokens(a.Count)
		if prompt := (Amounts{InputTokens: ask.InputTokens}).tokens(a.Count); prompt <= a.Limit {
			worst = min(worst, a.Limit)
		}
		return worst
	case USD:
		if !a.Hard {
			// A soft budget admits while anything is left: it reserves
			// one micro-USD, and Settle charges the real cost.
			return 1
		}
		return ask.MicroUSD
	}
	return 1 // a request, a slot
}

// settled is what an admitted request finally takes of limit a.
func settled(a *Applied, actual Actual) int64 {
	switch a.Kind {
	case Tokens:
		return max(actual.tokens(a.Count), 0)
	case USD:
		return max(actual.MicroUSD, 0)
	}
	return 1
}
