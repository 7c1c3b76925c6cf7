package selector

import (
	"strconv"
	"time"
)

// FailureKind says what went wrong with an attempt, which decides how the
// route's breaker reacts.
type FailureKind uint8

const (
	// FailureServer is a 5xx, a transport error or a timeout. It counts
	// towards FailureThreshold. It is the zero value.
	FailureServer FailureKind = iota
	// FailureRateLimit is a 429. Without a RetryAfter it counts towards
	// FailureThreshold like a server failure.
	FailureRateLimit
	// FailureAuth is a 401, a 403 or a key the vendor rejects. It opens the
	// breaker at once: a bad key does not fix itself between requests.
	FailureAuth
	// FailureQuota is an account out of quota or money (OpenAI
	// insufficient_quota, DeepSeek 402, Volcengine AccountOverdueError). It
	// opens the breaker at once for QuotaCooldown.
	FailureQuota
	// FailureNotFound is a model the vendor does not serve (any more). It
	// opens the breaker at once, like FailureAuth.
	FailureNotFound
	// FailureConnection is a connection that could not be made or broke
	// before an answer. It counts towards FailureThreshold like a server
	// failure; unlike one, a health probe that connects can clear it.
	FailureConnection
)

// ProbeClears reports whether a breaker opened by a failure of kind k may
// be closed by a health probe: a free metadata call that succeeds proves
// the key, the model and the connection, but not that the vendor stopped
// throttling, has money or stopped failing requests.
func (k FailureKind) ProbeClears() bool {
	return k == FailureAuth || k == FailureNotFound || k == FailureConnection
}

// String returns "server", "rate_limit", "auth", "quota", "not_found" or
// "connection".
func (k FailureKind) String() string {
	switch k {
	case FailureServer:
		return "server"
	case FailureRateLimit:
		return "rate_limit"
	case FailureAuth:
		return "auth"
	case FailureQuota:
		return "quota"
	case FailureNotFound:
		return "not_found"
	case FailureConnection:
		return "connection"
	}
	return "FailureKind(" + strconv.Itoa(int(k)) + ")"
}

// opensAtOnce reports whether one failure of kind k opens the breaker
// whatever the threshold.
func (k FailureKind) opensAtOnce() bool {
	return k == FailureAuth || k == FailureQuota || k == FailureNotFound
}

// Failure is one failed attempt, as the transport classified it.
type Failure struct {
	Kind FailureKind
	// RetryAfter is what the vendor asked for with Retry-After or
	// retry-after-ms; 0 when it did not.
	RetryAfter time.Duration
}

// ObserveFailure records a failed attempt on r at now. It does not allocate.
//
// The breaker opens for min(CooldownBase * 2^(n-1), CooldownMax), where n
// counts the openings since the last success, when:
//
//   - the failures in a row reach FailureThreshold;
//   - the breaker is half-open (the probe failed), which gives the next,
//     longer cooldown;
//   - the failure is FailureAuth or FailureNotFound.
//
// A RetryAfter > 0 opens it at once for max(RetryAfter, that cooldown), at
// most QuotaCooldown; FailureQuota opens it at once for QuotaCooldown.
// Further failures while it is open (attempts that were in flight, or the
// route used as a last resort) do not escalate the cooldown, but a
// RetryAfter or quota failure can lengthen it. Nothing shortens a running
// cooldown. A nil r is ignored.
func (s *Selector) ObserveFailure(r Route, f Failure, now time.Time) {
	if r == nil {
		return
	}
	r.ObserveFailure(f, now, s.cfg)
}

// Admit reports whether r may be tried at now; ask right before trying it.
// A closed breaker admits everyone and an open one nobody. A half-open
// breaker admits exactly one caller, the probe, until the probe reports back
// (ObserveSuccess or ObserveFailure) or ProbeTimeout passes; the others are
// refused. A caller should still use a route it was refused when nothing
// else is left. A nil r is admitted.
func (s *Selector) Admit(r Route, now time.Time) bool {
	if r == nil {
		return true
	}
	return r.Admit(now, s.cfg.ProbeTimeout)
}
