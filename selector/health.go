package selector

import "time"

// A route that fails is avoided for a cooldown that doubles with every
// consecutive failure: CooldownBase after the first, twice that after the
// second, and so on, never more than CooldownMax. A non-positive value
// disables cooldowns. Set them before any observation is made; they are read
// without synchronisation.
var (
	// CooldownBase is the cooldown after a first failure.
	CooldownBase = 5 * time.Second
	// CooldownMax caps the cooldown however many failures follow.
	CooldownMax = 5 * time.Minute
)

// health tracks a route's failures. It is guarded by RouteStats.mu.
type health struct {
	consecutiveFailures int
	cooldownUntil       time.Time
}

// failure records a failed attempt at now.
func (h *health) failure(now time.Time) {
	h.consecutiveFailures++
	until := now.Add(cooldownFor(h.consecutiveFailures))
	// A failure reported late must not shorten a cooldown already running.
	if until.After(h.cooldownUntil) {
		h.cooldownUntil = until
	}
}

// success records a successful attempt: the next failure starts the
// doubling from CooldownBase again.
func (h *health) success() {
	h.consecutiveFailures = 0
}

// healthy reports whether the cooldown is over at now.
func (h *health) healthy(now time.Time) bool {
	return !now.Before(h.cooldownUntil)
}

// cooldownFor returns min(CooldownBase * 2^(failures-1), CooldownMax).
func cooldownFor(failures int) time.Duration {
	d := CooldownBase
	if d <= 0 {
		return 0 // cooldowns disabled
	}
	// Doubling step by step, rather than shifting by failures-1, cannot
	// overflow however long the run of failures.
	for i := 1; i < failures && d < CooldownMax; i++ {
		d *= 2
	}
	return min(d, CooldownMax)
}

// ObserveFailure records a failed attempt (an error status, a transport
// error or a timeout) at now. The route is then unhealthy for
// min(CooldownBase * 2^(n-1), CooldownMax) from now, where n is the number of
// failures since the last success.
func (s *RouteStats) ObserveFailure(now time.Time) {
	s.mu.Lock()
	s.health.failure(now)
	s.mu.Unlock()
}

// Healthy reports whether the route is out of its cooldown at now. A success
// reported during a cooldown does not end it, because it may come from an
// attempt started before the failure; it only resets the doubling.
// Unhealthy routes are still ranked, after all healthy ones.
func (s *RouteStats) Healthy(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.health.healthy(now)
}
