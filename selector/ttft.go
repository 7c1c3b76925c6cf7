package selector

import "time"

// ttftMean is one bucket's decayed mean time to first token, in
// milliseconds.
//
// A non-streaming response shows no first token, so its TTFT is its total
// time minus its decode time, which needs the route's decode speed. Such a
// sample adds its total time to the sum and its completion tokens to
// pending, decayed alike, and the mean takes pending times the decode time
// per token off with the speed known when it is read. Subtracting once,
// with the speed known at the time of the sample, would bake that speed's
// error into the bucket, or the whole decode time when no speed was known
// yet; a route that looks slow gets few samples to correct it, so one such
// sample could keep a fast route away for many half-lives.
type ttftMean struct {
	decayingMean
	pending float64 // decayed completion tokens whose decode time is in sum
}

// observe adds a sample of ms milliseconds, which includes the decode time
// of pendingTokens completion tokens (0 for an exact TTFT).
func (m *ttftMean) observe(ms, pendingTokens float64, now time.Time, halfLife time.Duration) {
	w := m.decayingMean.observe(ms, now, halfLife)
	m.pending = m.pending*w + pendingTokens
}

// mean returns the mean time to first token given the route's decode time
// per token (decodes reports whether it is known), and false when there is
// no sample.
func (m *ttftMean) mean(perToken float64, decodes bool) (float64, bool) {
	if m.n == 0 {
		return 0, false
	}
	sum := m.sum
	if decodes && m.pending > 0 {
		sum = max(sum-m.pending*perToken, 0)
	}
	return sum / m.weight, true
}
