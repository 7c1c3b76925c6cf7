package selector

import (
	"math"
	"time"
)

// defaultTTFTSpread is the spread TTFTQuantile assumes while a route has
// fewer than minSpreadSamples: a log-normal whose 90th percentile is about
// twice its mean, wide enough not to hedge a route that is merely normal.
const (
	defaultTTFTSpread = 0.5
	minSpreadSamples  = 5
)

// TTFTQuantile returns the q-quantile (0 < q < 1), in milliseconds, of the
// time to first token to expect from the route rd describes: its predicted
// TTFT taken as the mean of a log-normal distribution whose spread is the
// one the route learned (TTFTSpread), or a default while it has too few
// samples. First tokens are heavy-tailed, and a log-normal fits their long
// right tail far better than a normal would. It returns false when the
// route has no measured TTFT.
func (rd *Reading) TTFTQuantile(q float64) (float64, bool) {
	if !rd.Measured || rd.TTFT <= 0 || q <= 0 || q >= 1 {
		return 0, false
	}
	m2 := rd.TTFTSpread
	if m2 <= 0 {
		m2 = defaultTTFTSpread
	}
	// The spread is measured around the mean, E[ln(x/mean)^2]; for a
	// log-normal of log-variance s2 that is s2 + s2^2/4, solved here for s2.
	s2 := 2 * (math.Sqrt(1+m2) - 1)
	z := math.Sqrt2 * math.Erfinv(2*q-1)
	return rd.TTFT * math.Exp(z*math.Sqrt(s2)-s2/2), true
}

// PredictTTFT returns the q-quantile of the time to first token r predicts
// for a prompt of promptTokens at now (see Reading.TTFTQuantile), and false
// when r has no measurement. It reads the route once, like one candidate of
// Rank: callers use it off the hot path, to decide when to hedge a request.
func (s *Selector) PredictTTFT(r Route, promptTokens int, q float64, now time.Time) (time.Duration, bool) {
	if r == nil {
		return 0, false
	}
	var rd Reading
	r.ReadInto(&rd, BucketOf(promptTokens), BucketTTFT, now, s.cfg.CooldownBase)
	ms, ok := rd.TTFTQuantile(q)
	if !ok {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}
