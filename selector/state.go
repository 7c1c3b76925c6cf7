package selector

import "time"

// State is what a route learned, as plain data: enough to carry it to
// another Caddy instance and [Merge] it with what that one learned. It holds
// decayed sums rather than means, since sums of two instances add up and
// means do not. What is only in flight on one instance (an admitted probe,
// a claimed exploration) is not part of it.
type State struct {
	// Buckets holds the time to first token per prompt-size bucket.
	Buckets [NumBuckets]BucketState
	// Decode is the decode time per completion token after the first, in
	// milliseconds.
	Decode MeanState
	// Completion is the number of completion tokens per response.
	Completion MeanState
	// TTFTSpread is the squared natural log of each streamed first token's
	// ratio to its bucket's mean before it: how widely the route's times
	// to first token vary (see Reading.TTFTQuantile).
	TTFTSpread MeanState
	// Successes and Failures count every attempt observed, not decayed.
	Successes, Failures int64
	// LastSample is when the newest success was observed; zero if none.
	LastSample time.Time
	// Breaker is the circuit breaker.
	Breaker BreakerRecord
}

// MeanState is a time-decayed mean as plain data: Sum / Weight is the mean.
// Each observation adds itself to Sum and 1 to Weight, after both were
// multiplied by 0.5^(time since Last / half-life).
type MeanState struct {
	// Sum is the decayed sum of the observations.
	Sum float64
	// Weight is the decayed count of the observations.
	Weight float64
	// Samples is the plain count of observations; 0 means none, whatever
	// the other fields say.
	Samples int
	// Last is the time of the latest observation, the time Sum and Weight
	// are decayed to.
	Last time.Time
}

// BucketState is one prompt-size bucket's time to first token.
type BucketState struct {
	// MeanState is in milliseconds. The samples of non-streaming answers
	// include their decode time, which comes off when the mean is read.
	MeanState
	// Pending is the decayed count of completion tokens whose decode time
	// is in Sum.
	Pending float64
}

// BreakerRecord is a circuit breaker as plain data. Its state at a given
// time follows: closed unless Open; open until OpenUntil, half-open after.
type BreakerRecord struct {
	// Open is whether the breaker opened since the last success.
	Open bool
	// OpenedAt is when the current opening started; a success of an
	// attempt started before it does not close the breaker.
	OpenedAt time.Time
	// OpenUntil is when the current cooldown ends.
	OpenUntil time.Time
	// ConsecutiveFailures counts failures since the last success.
	ConsecutiveFailures int
	// LastFailure is when the latest of those failures happened.
	LastFailure time.Time
	// Openings counts the openings since the last success, which sets the
	// next cooldown.
	Openings int
	// LastSuccessStart is when the attempt of the newest success started;
	// zero if none. It is what lets a success seen by one instance end an
	// opening another instance published (see [Merge]): the start, not the
	// end of the attempt, because a success of an attempt started before
	// an opening says nothing about the route since.
	LastSuccessStart time.Time
	// Cause is, while Open, the kind of failure that opened the breaker (or
	// last made its cooldown last): whether a health probe may close it
	// ([FailureKind.ProbeClears]).
	Cause FailureKind
}
