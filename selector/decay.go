package selector

import (
	"math"
	"time"
)

// decayingMean is an exponentially weighted mean whose weights decay with
// the wall time between observations, not with their count, so a burst of
// samples does not wash out history faster than a trickle.
type decayingMean struct {
	sum    float64   // decayed weighted sum of observations
	weight float64   // decayed sum of weights; each observation adds 1
	last   time.Time // time of the latest observation
	n      int       // plain count of observations
}

// observe adds x, observed at now, first decaying what came before by the
// time since the latest observation with the given half-life. It returns
// the factor history was decayed by, for companions that decay alike.
func (m *decayingMean) observe(x float64, now time.Time, halfLife time.Duration) (w float64) {
	w = 1
	if m.n > 0 {
		w = decayFactor(now.Sub(m.last), halfLife)
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
	return w
}

// mean returns the decayed mean and whether there was any observation.
// Decay scales sum and weight alike, so the mean needs no "now".
func (m *decayingMean) mean() (float64, bool) {
	if m.n == 0 {
		return 0, false
	}
	return m.sum / m.weight, true
}

// decayFactor returns 0.5^(dt/halfLife), the weight left to history after
// dt. Time going backwards (dt < 0) decays nothing; a non-positive halfLife
// forgets everything.
func decayFactor(dt, halfLife time.Duration) float64 {
	if dt <= 0 {
		return 1
	}
	if halfLife <= 0 {
		return 0
	}
	return math.Exp2(-float64(dt) / float64(halfLife))
}

// state returns m as plain data.
func (m *decayingMean) state() MeanState {
	var st MeanState
	m.stateInto(&st)
	return st
}

// stateInto writes m as plain data into st, field by field, which a hot
// path can afford where copying a whole MeanState is slower.
func (m *decayingMean) stateInto(st *MeanState) {
	st.Sum, st.Weight, st.Samples, st.Last = m.sum, m.weight, m.n, m.last
}

// load replaces m with st.
func (m *decayingMean) load(st MeanState) {
	*m = decayingMean{sum: st.Sum, weight: st.Weight, n: st.Samples, last: st.Last}
}
