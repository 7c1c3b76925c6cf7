package selector

import (
	"strconv"
	"time"
)

// BreakerState is where a route's circuit breaker stands.
type BreakerState uint8

const (
	// Closed: the route is in use. Failures below the threshold leave it
	// closed (the route then ranks after routes without failures).
	Closed BreakerState = iota
	// HalfOpen: the cooldown is over; one request (the probe) may try the
	// route, and its outcome closes or re-opens the breaker.
	HalfOpen
	// Open: the route is cooling down after failures and is used only when
	// nothing else is left.
	Open
)

// String returns "closed", "half-open" or "open".
func (b BreakerState) String() string {
	switch b {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half-open"
	case Open:
		return "open"
	}
	return "BreakerState(" + strconv.Itoa(int(b)) + ")"
}

// breaker is a route's circuit breaker. It is plain data, guarded by the
// mutex of the memoryRoute that holds it, and judged against the time the
// caller passes in, so tests drive it with their own clock.
type breaker struct {
	consecutive int       // failures since the last success
	lastFailure time.Time // when the last of them happened
	opens       int       // openings since the last success; sets the cooldown
	open        bool
	openedAt    time.Time   // start of the current opening
	openUntil   time.Time   // end of the current cooldown
	probeUntil  time.Time   // half-open: deadline of the admitted probe
	cause       FailureKind // open: the kind of the failure that opened it, or made its cooldown last
	// lastSuccessStart is when the attempt of the newest success started;
	// unlike the rest it survives the reset a success makes.
	lastSuccessStart time.Time
}

// state returns the breaker's state at now.
func (b *breaker) state(now time.Time) BreakerState {
	switch {
	case !b.open:
		return Closed
	case now.Before(b.openUntil):
		return Open
	}
	return HalfOpen
}

// demoted reports whether a closed breaker with failures below the
// threshold still ranks after the clean routes at now. The demotion lasts one
// base cooldown after the last failure: long enough to spare the next
// requests a likely failure, short enough that the route soon gets real
// traffic again, which is how its failures either stop (a success resets
// them) or reach the threshold.
func (b *breaker) demoted(now time.Time, base time.Duration) bool {
	return b.consecutive > 0 && now.Sub(b.lastFailure) < base
}

// probeFree reports whether the breaker is half-open at now with no probe
// in flight, so that the next request to try the route would be the probe.
func (b *breaker) probeFree(now time.Time) bool {
	return b.state(now) == HalfOpen && !now.Before(b.probeUntil)
}

// admit reports whether a request may try the route at now; a half-open
// breaker admits one probe per probeTimeout.
func (b *breaker) admit(now time.Time, probeTimeout time.Duration) bool {
	switch b.state(now) {
	case Closed:
		return true
	case Open:
		return false
	}
	if now.Before(b.probeUntil) {
		return false
	}
	b.probeUntil = now.Add(probeTimeout)
	return true
}

// success records a success of an attempt started at started. It closes the
// breaker, unless the attempt started before the breaker opened: such a
// straggler says nothing about the route since, so it must not undo a
// cooldown (a long stream finishing after a 429 wave, say).
func (b *breaker) success(started time.Time) {
	last := later(b.lastSuccessStart, started)
	if b.open && started.Before(b.openedAt) {
		b.lastSuccessStart = last
		return
	}
	*b = breaker{lastSuccessStart: last}
}

// probed records a successful health probe started at started: it closes
// the breaker when the breaker is open for a cause a probe clears, as a
// success would, and reports whether it did.
func (b *breaker) probed(started time.Time) bool {
	if !b.open || !b.cause.ProbeClears() || started.Before(b.openedAt) {
		return false
	}
	b.success(started)
	return true
}

// failure records f at now under cfg.
func (b *breaker) failure(cfg *Config, f Failure, now time.Time) {
	b.consecutive++
	if now.After(b.lastFailure) {
		b.lastFailure = now
	}
	st := b.state(now)
	trip := st == HalfOpen || // the probe failed
		f.RetryAfter > 0 || f.Kind.opensAtOnce() ||
		st == Closed && b.consecutive >= cfg.FailureThreshold
	if !trip {
		// Below the threshold, or already open: more failures of attempts
		// that were in flight when it opened must not escalate the cooldown.
		return
	}
	if st != Open {
		b.opens++
		b.open = true
		b.openedAt = now
		b.probeUntil = time.Time{}
		b.cause = f.Kind
	} else if !f.Kind.ProbeClears() {
		// A failure a probe cannot clear, while open for one it could:
		// now only a real request closes it.
		b.cause = f.Kind
	}
	d := cfg.cooldown(b.opens)
	switch {
	case f.Kind == FailureQuota:
		d = cfg.QuotaCooldown
	case f.RetryAfter > 0:
		d = min(max(f.RetryAfter, d), cfg.QuotaCooldown)
	}
	// A failure reported late, or with a shorter wait, must not shorten a
	// cooldown already running.
	if until := now.Add(d); until.After(b.openUntil) {
		b.openUntil = until
	}
}

// record returns b as plain data.
func (b *breaker) record() BreakerRecord {
	return BreakerRecord{
		Open:                b.open,
		OpenedAt:            b.openedAt,
		OpenUntil:           b.openUntil,
		ConsecutiveFailures: b.consecutive,
		LastFailure:         b.lastFailure,
		Openings:            b.opens,
		LastSuccessStart:    b.lastSuccessStart,
		Cause:               b.cause,
	}
}

// load replaces b with rec, keeping the probe in flight, which belongs to
// this instance.
func (b *breaker) load(rec BreakerRecord) {
	*b = breaker{
		consecutive: rec.ConsecutiveFailures,
		lastFailure: rec.LastFailure,
		opens:       rec.Openings,
		open:        rec.Open,
		openedAt:    rec.OpenedAt,
		openUntil:   rec.OpenUntil,
		probeUntil:  b.probeUntil,
		cause:       rec.Cause,

		lastSuccessStart: rec.LastSuccessStart,
	}
}
