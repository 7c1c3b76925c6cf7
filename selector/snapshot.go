package selector

import "time"

// Snapshot is a copy of what a RouteStats knows, for admin and debug output.
type Snapshot struct {
	// Buckets holds the latency learned per prompt-size bucket.
	Buckets [NumBuckets]BucketSnapshot
	// ConsecutiveFailures counts failures since the last success.
	ConsecutiveFailures int
	// Healthy is whether the route was out of its cooldown at the time the
	// snapshot was taken.
	Healthy bool
	// CooldownUntil is when the cooldown of the latest failure ends (or
	// ended); zero if the route never failed.
	CooldownUntil time.Time
	// MeanCompletionTokens is the time-decayed mean of the completion tokens
	// observed; 0 if none was.
	MeanCompletionTokens float64
}

// BucketSnapshot is the latency learned for one prompt-size bucket.
type BucketSnapshot struct {
	// LatencyMS is the time-decayed mean time to first byte in milliseconds.
	LatencyMS float64
	// Samples is the plain count of observations; 0 means no data, and then
	// LatencyMS is 0 too.
	Samples int
}

// Snapshot returns a copy of the route's state, with health judged at now.
func (s *RouteStats) Snapshot(now time.Time) Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	var snap Snapshot
	for i := range s.latency {
		snap.Buckets[i].LatencyMS, _ = s.latency[i].mean()
		snap.Buckets[i].Samples = s.latency[i].n
	}
	snap.ConsecutiveFailures = s.health.consecutiveFailures
	snap.Healthy = s.health.healthy(now)
	snap.CooldownUntil = s.health.cooldownUntil
	snap.MeanCompletionTokens, _ = s.completion.mean()
	return snap
}
