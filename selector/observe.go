package selector

import "time"

// Sample is one successful attempt, as the transport saw it.
type Sample struct {
	// Stream is whether the response was streamed (SSE).
	Stream bool
	// FirstToken is the time from sending the request to the first content
	// token of a stream, or to the first body byte otherwise.
	FirstToken time.Duration
	// Total is the time from sending the request to the end of the response
	// body.
	Total time.Duration
	// CompletionTokens is the vendor's reported (or counted) completion
	// size; 0 means unknown.
	CompletionTokens int
}

// ObserveSuccess records a successful attempt on r at now, with a prompt in
// bucket (clamped into [0, NumBuckets)). It does not allocate. It:
//
//   - closes the breaker, forgetting consecutive failures and openings,
//     unless the attempt started (now - Total) before the breaker opened:
//     a straggler says nothing about the route since;
//   - counts a success and sets the route's newest sample time;
//   - adds the time to first token to the bucket's decayed mean;
//   - for a stream with FirstToken > 0, CompletionTokens > 1 and Total >
//     FirstToken, adds the decode time per token,
//     (Total - FirstToken) / (CompletionTokens - 1), to the route's decode
//     speed;
//   - adds CompletionTokens, when known, to the running mean completion.
//
// A non-streaming response shows no first token: the whole answer arrives
// at once. Its time to first token is approximated as Total minus
// CompletionTokens times the route's mean time per token, as learned from
// streams; while the route has no decode speed, as Total, which overstates
// it by the decode time. The subtraction is made when the bucket's mean is
// read, with the speed known then, rather than once with the speed known at
// the time of the sample: an early, rough speed would otherwise stay baked
// into the bucket for many half-lives after the speed has been corrected.
// The bucket's mean, not each sample, is kept from going below 0. A stream
// reporting no FirstToken is treated like a non-streaming response.
// Decayed means use HalfLife. A nil r is ignored.
func (s *Selector) ObserveSuccess(r Route, bucket int, sm Sample, now time.Time) {
	if r == nil {
		return
	}
	r.ObserveSuccess(bucket, sm, now, s.cfg.HalfLife)
}

// started returns when the attempt sm reports on started, given that it
// ended at now.
func (sm *Sample) started(now time.Time) time.Time {
	return now.Add(-max(sm.Total, 0))
}

// millis returns d in (fractional) milliseconds.
func millis(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}
