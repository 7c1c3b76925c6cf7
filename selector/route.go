package selector

import "time"

// Route is what was learned about one route (one vendor serving one model)
// and the route's circuit breaker. A Selector ranks, admits and observes
// routes only through these methods, so that a store shared between Caddy
// instances can serve them: most simply by wrapping the in-memory Route of
// [NewRoute], loading it with what the fleet learned ([Route.Load],
// [Route.Rebase]), merging in what other instances report
// ([Route.Absorb]) and publishing what it learns ([Route.State], [Merge]).
//
// Implementations must be safe for concurrent use and should not allocate,
// since ReadInto runs for every candidate of every request and Admit and the
// Observe methods for every attempt. They must be comparable (pointers, in
// practice): callers tell routes apart with ==. Callers look a Route up once
// per config load ([Store]), not per request.
//
// The methods take the time from the caller, so that tests drive the decay
// and the breaker with their own clock, and the parts of [Config] they need,
// since a route outlives the config that first used it.
type Route interface {
	// ReadInto fills rd, which comes zeroed, in one consistent read, with
	// what ranking needs to know of the route for a prompt in bucket (in
	// [0, NumBuckets)), its time to first token taken on basis, judged at
	// now. A closed breaker whose last failure is less than demotion old is
	// Demoted. It fills rd rather than returning a Reading because a struct
	// this size, returned by value, is copied on its way into the caller's
	// memory, which for every candidate of every request costs more than
	// the reading itself. It must not keep rd.
	ReadInto(rd *Reading, bucket int, basis TTFTBasis, now time.Time, demotion time.Duration)
	// Admit reports whether a request may try the route at now. A half-open
	// breaker admits one probe per probeTimeout. See Selector.Admit.
	Admit(now time.Time, probeTimeout time.Duration) bool
	// ObserveSuccess records a successful attempt with a prompt in bucket,
	// decaying older samples with halfLife. See Selector.ObserveSuccess.
	ObserveSuccess(bucket int, sm Sample, now time.Time, halfLife time.Duration)
	// ObserveFailure records a failed attempt under cfg's threshold and
	// cooldowns. See Selector.ObserveFailure.
	ObserveFailure(f Failure, now time.Time, cfg Config)
	// ObserveProbe records a successful health probe (a free call that
	// proves the key, the model and the connection) started at started: it
	// closes the breaker when the breaker is open for a cause a probe
	// clears ([FailureKind.ProbeClears]) and reports whether it did. A
	// failed probe is an ObserveFailure.
	ObserveProbe(started time.Time) bool
	// Snapshot returns the route's state for admin and debug output, its
	// breaker judged at now.
	Snapshot(now time.Time) Snapshot
	// ClaimStaleExploration reports whether the caller may send a request to
	// refresh the route's stale numbers, because nobody claimed that within
	// every before now. Of callers racing for it, one wins.
	ClaimStaleExploration(now time.Time, every time.Duration) bool
	// State returns what the route learned, as plain data to share and
	// Merge.
	State() State
	// Load replaces what the route learned with st, as when an instance
	// starts from what the fleet learned. What is in flight here (an
	// admitted probe, a claimed exploration) is kept.
	Load(st State)
	// Absorb merges st into what the route learned, in one step, as
	// Load(Merge(State(), st, halfLife)) would without a concurrent
	// observation slipping in between: how a shared store applies a
	// breaker another instance opened (a State holding only that
	// breaker). What is in flight here is kept.
	Absorb(st State, halfLife time.Duration)
	// Rebase replaces what the route learned from its samples (everything
	// but the breaker) with st's, and merges st's breaker into the route's
	// as [Merge] does, in one step: how a shared store rebuilds what
	// ranking reads from the fleet's published states without undoing a
	// breaker change made here in the meantime. What is in flight here is
	// kept.
	Rebase(st State)
}

// TTFTBasis says which time to first token a Reading reports.
type TTFTBasis uint8

const (
	// BucketTTFT is the time to first token of the prompt's bucket; a
	// bucket without samples borrows from its neighbours (their average when
	// both have samples), and else takes AverageTTFT.
	BucketTTFT TTFTBasis = iota
	// AverageTTFT is the average of the bucket means that have samples,
	// each bucket counting alike, so that it describes the route rather
	// than the traffic it happened to get.
	AverageTTFT
)

// Reading is what ranking needs to know of a route for one request. It is
// read in one go, so that its numbers agree with each other and sorting
// takes no locks.
type Reading struct {
	// Breaker is the breaker's state at the reading's time.
	Breaker BreakerState
	// Demoted reports a closed breaker with failures below the threshold,
	// the last of them recent enough that the route ranks after the clean
	// ones.
	Demoted bool
	// ProbeFree reports a half-open breaker with no probe in flight: the
	// next request to try the route would be the probe.
	ProbeFree bool
	// Measured reports whether TTFT is known.
	Measured bool
	// Decodes reports whether PerToken is known.
	Decodes bool
	// TTFT is the time to first token to expect in milliseconds, on the
	// basis asked for.
	TTFT float64
	// PerToken is the decode time per completion token after the first, in
	// milliseconds.
	PerToken float64
	// TTFTSpread is the route's mean squared log ratio of a first token's
	// time to its bucket's prediction; 0 while it has too few samples.
	TTFTSpread float64
	// OpenUntil is when the breaker's cooldown ends (or ended, when
	// half-open); zero when it is closed.
	OpenUntil time.Time
	// LastSample is when the newest success was observed; zero if none.
	LastSample time.Time
	// Completion is the route's history of completion sizes, which ranking
	// pools over the routes of a model.
	Completion MeanState
}
