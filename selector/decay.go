package selector

import (
	"math"
	"time"
)

// HalfLife is how much wall time between two observations halves the weight
// of everything observed before the later one, in the time-decayed means
// kept per route (latency per bucket, completion size). It is what lets a
// vendor that was slow and has recovered win again: after a few half-lives
// its old samples hardly count.
//
// A non-positive HalfLife forgets everything older than the latest
// observation. Set it before any observation is made; it is read without
// synchronisation.
var HalfLife = 5 * time.Minute

// decayingMean is an exponentially weighted mean whose weights decay with
// the wall time between observations, not with their count, so a burst of
// samples does not wash out history faster than a trickle.
type decayingMean struct {
	sum    float64   // decayed weighted sum of observations
	weight float64   // decayed sum of weights; each observation adds 1
	last   time.Time // time of the latest observation
	n      int       // plain count of observations
}

// observe adds x, observed at now.
func (m *decayingMean) observe(x float64, now time.Time) {
	if m.n > 0 {
		w := decayFactor(now.Sub(m.last))
		m.sum *= w
		m.weight *= w
	}
	m.sum += x
	m.weight++
	// An observation reported out of order must not move the reference time
	// back, or the next one would decay history twice.
	if m.n == 0 || now.After(m.last) {
		m.last = now
	}
	m.n++
}

// mean returns the decayed mean and whether there was any observation.
// Decay scales sum and weight alike, so the mean needs no "now".
func (m *decayingMean) mean() (float64, bool) {
	if m.n == 0 {
		return 0, false
	}
	return m.sum / m.weight, true
}

// decayFactor returns 0.5^(dt/HalfLife), the weight left to history after
// dt. Time going backwards (dt < 0) decays nothing.
func decayFactor(dt time.Duration) float64 {
	if dt <= 0 {
		return 1
	}
	if HalfLife <= 0 {
		return 0
	}
	return math.Exp2(-float64(dt) / float64(HalfLife))
}
