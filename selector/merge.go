package selector

import "time"

// Merge combines what two instances learned about the same route, as if
// one instance had seen the samples of both. Each decayed mean is weighted
// by its samples: both sides are decayed with halfLife to the later of
// their reference times, then their sums and weights are added; plain
// counts add up. The breaker takes the more pessimistic view, since either
// instance may have seen the failures the other missed: it is open if
// either is, until the later OpenUntil, its failures in a row and openings
// are the larger of the two, and its times the later ones. Only a newer
// success overrides that: a side whose newest success started at or after
// the other side's opening (LastSuccessStart, OpenedAt) ended that opening,
// as it would have on one instance, and a success started after the other
// side's last failure ended its failures in a row. Without that, an
// instance whose probe succeeded would be re-opened by the stale state
// another instance published, for as long as it kept publishing it.
// Merging with the zero State gives the other State back.
func Merge(a, b State, halfLife time.Duration) State {
	out := State{
		Decode:     mergeMeans(a.Decode, b.Decode, halfLife),
		Completion: mergeMeans(a.Completion, b.Completion, halfLife),
		TTFTSpread: mergeMeans(a.TTFTSpread, b.TTFTSpread, halfLife),
		Successes:  a.Successes + b.Successes,
		Failures:   a.Failures + b.Failures,
		LastSample: later(a.LastSample, b.LastSample),
		Breaker:    mergeBreakers(a.Breaker, b.Breaker),
	}
	for i := range out.Buckets {
		out.Buckets[i] = mergeBuckets(a.Buckets[i], b.Buckets[i], halfLife)
	}
	return out
}

// mergeMeans returns the mean of a's and b's observations together.
func mergeMeans(a, b MeanState, halfLife time.Duration) MeanState {
	m, _, _ := mergeDecayed(a, b, halfLife)
	return m
}

// mergeBuckets merges two buckets' times to first token, decaying their
// pending decode tokens alike.
func mergeBuckets(a, b BucketState, halfLife time.Duration) BucketState {
	m, wa, wb := mergeDecayed(a.MeanState, b.MeanState, halfLife)
	return BucketState{MeanState: m, Pending: a.Pending*wa + b.Pending*wb}
}

// mergeDecayed merges a and b, and returns the factors their history was
// decayed by, for companions that decay alike. A side without samples
// counts for nothing, whatever its other fields say.
func mergeDecayed(a, b MeanState, halfLife time.Duration) (m MeanState, wa, wb float64) {
	switch {
	case a.Samples == 0 && b.Samples == 0:
		return MeanState{}, 0, 0
	case b.Samples == 0:
		return a, 1, 0
	case a.Samples == 0:
		return b, 0, 1
	}
	last := later(a.Last, b.Last)
	wa = decayFactor(last.Sub(a.Last), halfLife)
	wb = decayFactor(last.Sub(b.Last), halfLife)
	return MeanState{
		Sum:     a.Sum*wa + b.Sum*wb,
		Weight:  a.Weight*wa + b.Weight*wb,
		Samples: a.Samples + b.Samples,
		Last:    last,
	}, wa, wb
}

// mergeBreakers returns the more pessimistic of two breakers, after each
// has been brought up to date with the other's newest success.
func mergeBreakers(a, b BreakerRecord) BreakerRecord {
	a, b = a.after(b.LastSuccessStart), b.after(a.LastSuccessStart)
	out := BreakerRecord{
		LastSuccessStart:    later(a.LastSuccessStart, b.LastSuccessStart),
		Open:                a.Open || b.Open,
		OpenUntil:           later(a.OpenUntil, b.OpenUntil),
		ConsecutiveFailures: max(a.ConsecutiveFailures, b.ConsecutiveFailures),
		LastFailure:         later(a.LastFailure, b.LastFailure),
		Openings:            max(a.Openings, b.Openings),
	}
	// A success closes an open breaker only if its attempt started after
	// the opening: the later opening is the one it must postdate.
	switch {
	case a.Open == b.Open:
		out.OpenedAt = later(a.OpenedAt, b.OpenedAt)
		// A cause a probe cannot clear wins: an instance must not probe
		// away a breaker another opened for throttling.
		out.Cause = a.Cause
		if a.Cause.ProbeClears() {
			out.Cause = b.Cause
		}
	case a.Open:
		out.OpenedAt, out.Cause = a.OpenedAt, a.Cause
	default:
		out.OpenedAt, out.Cause = b.OpenedAt, b.Cause
	}
	if !out.Open {
		out.Cause = 0
	}
	return out
}

// after returns r as it stands after a success whose attempt started at
// started (zero: none), as breaker.success would leave it: an opening the
// attempt started in or after is over, and so are failures in a row that
// all happened before the attempt started. An opening that started after
// the attempt, or failures after its start, stand.
func (r BreakerRecord) after(started time.Time) BreakerRecord {
	if started.IsZero() {
		return r
	}
	var over bool
	if r.Open {
		over = !r.OpenedAt.IsZero() && !started.Before(r.OpenedAt)
	} else {
		over = r.ConsecutiveFailures > 0 && started.After(r.LastFailure)
	}
	if !over {
		return r
	}
	return BreakerRecord{LastSuccessStart: later(r.LastSuccessStart, started)}
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
