package selector

import "time"

// Snapshot is a copy of what a Route knows, for admin and debug output.
type Snapshot struct {
	// Buckets holds the time to first token learned per prompt-size bucket.
	Buckets [NumBuckets]BucketSnapshot
	// DecodeTokensPerSec is the decode speed after the first token: the
	// reciprocal of the decayed mean time per token; 0 if unknown.
	DecodeTokensPerSec float64
	// DecodeSamples is the plain count of streams the speed was learned from.
	DecodeSamples int
	// MeanCompletionTokens is the decayed mean of the completion tokens
	// observed; 0 if none was.
	MeanCompletionTokens float64
	// Successes and Failures count every attempt observed, not decayed.
	Successes, Failures int64
	// ConsecutiveFailures counts failures since the last success.
	ConsecutiveFailures int
	// Breaker is the breaker's state at the snapshot's time.
	Breaker BreakerState
	// OpenUntil is when the current cooldown ends (or ended, when
	// half-open); zero when the breaker is closed.
	OpenUntil time.Time
	// Cause is, when the breaker is not closed, the kind of failure that
	// opened it.
	Cause FailureKind
	// LastSample is when the newest success was observed; zero if none.
	LastSample time.Time
}

// BucketSnapshot is what was learned for one prompt-size bucket.
type BucketSnapshot struct {
	// TTFTMillis is the decayed mean time to first token in milliseconds.
	TTFTMillis float64
	// Samples is the plain count of observations; 0 means no data, and then
	// TTFTMillis is 0 too.
	Samples int
}

// Snapshot returns a copy of r's state, its breaker judged at now. A nil r
// yields the zero Snapshot.
func (s *Selector) Snapshot(r Route, now time.Time) Snapshot {
	if r == nil {
		return Snapshot{}
	}
	return r.Snapshot(now)
}
