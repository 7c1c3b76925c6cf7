package selector

import (
	"math"
	"time"
)

// stats is what a route learned from its successes and failures: time to
// first token per prompt-size bucket, decode speed, completion sizes and
// outcome counts. It is plain data, not safe for concurrent use: the
// memoryRoute that holds it guards it with its mutex.
type stats struct {
	// ttft is the time to first token in milliseconds, per bucket.
	ttft [NumBuckets]ttftMean
	// decode is the time per completion token after the first, in
	// milliseconds. The mean of times rather than of speeds is kept because
	// predictions add times up: tokens x mean time per token is the expected
	// decode time, tokens / mean speed is not.
	decode decayingMean
	// completion is the number of completion tokens per response.
	completion decayingMean
	// spread is the squared natural log of how far each streamed first
	// token was from its bucket's mean just before it: how much the route's
	// times to first token vary around what it predicts (see ttftQuantile).
	spread    decayingMean
	successes int64
	failures  int64
	// lastSample is when the newest success was observed; zero if none.
	lastSample time.Time
}

// observe adds what sm teaches (see Selector.ObserveSuccess) to st, with a
// prompt in bucket, at now.
func (st *stats) observe(bucket int, sm *Sample, now time.Time, halfLife time.Duration) {
	bucket = min(max(bucket, 0), NumBuckets-1)
	total := max(sm.Total, 0)
	streamed := sm.Stream && sm.FirstToken > 0
	if streamed && sm.CompletionTokens > 1 && total > sm.FirstToken {
		st.decode.observe(millis(total-sm.FirstToken)/float64(sm.CompletionTokens-1), now, halfLife)
	}
	if streamed {
		ms := millis(sm.FirstToken)
		if predicted, ok := st.ttftAt(bucket); ok && predicted > 0 && ms > 0 {
			miss := math.Log(ms / predicted)
			st.spread.observe(miss*miss, now, halfLife)
		}
		st.ttft[bucket].observe(ms, 0, now, halfLife)
	} else {
		// The decode time comes off when the mean is read; see ttftMean.
		st.ttft[bucket].observe(millis(total), float64(max(sm.CompletionTokens, 0)), now, halfLife)
	}
	if sm.CompletionTokens > 0 {
		st.completion.observe(float64(sm.CompletionTokens), now, halfLife)
	}
	st.successes++
	if now.After(st.lastSample) {
		st.lastSample = now
	}
}

// ttftAt returns bucket b's mean time to first token in milliseconds, and
// false when b is out of range or has no sample.
func (st *stats) ttftAt(b int) (float64, bool) {
	perToken, decodes := st.decode.mean()
	return st.ttftWith(b, perToken, decodes)
}

// ttftWith is ttftAt given the route's decode time per token, so that a
// caller reading several buckets reads it once.
func (st *stats) ttftWith(b int, perToken float64, decodes bool) (float64, bool) {
	if b < 0 || b >= NumBuckets {
		return 0, false
	}
	return st.ttft[b].mean(perToken, decodes)
}

// bucketTTFT returns the time to first token in milliseconds to expect for
// a prompt in bucket b, and false when no bucket has samples. A bucket
// without samples borrows from its neighbours (their average when both have
// samples): prompt size changes latency smoothly, so a neighbour is the
// best guess. Without neighbours it takes the route's average over its
// measured buckets.
func (st *stats) bucketTTFT(b int) (float64, bool) {
	perToken, decodes := st.decode.mean()
	if ms, ok := st.ttftWith(b, perToken, decodes); ok {
		return ms, true
	}
	lo, okLo := st.ttftWith(b-1, perToken, decodes)
	hi, okHi := st.ttftWith(b+1, perToken, decodes)
	switch {
	case okLo && okHi:
		return (lo + hi) / 2, true
	case okLo:
		return lo, true
	case okHi:
		return hi, true
	}
	return st.averageTTFT()
}

// averageTTFT returns the mean in milliseconds of the bucket means that have
// samples, and false when none has. Buckets count alike whatever their
// sample counts, so that the average describes the route rather than the
// traffic it happened to get.
func (st *stats) averageTTFT() (float64, bool) {
	perToken, decodes := st.decode.mean()
	var sum float64
	n := 0
	for b := range NumBuckets {
		if ms, ok := st.ttftWith(b, perToken, decodes); ok {
			sum += ms
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

// snapshot returns what st holds as a Snapshot, with the breaker's fields
// left for the caller.
func (st *stats) snapshot() Snapshot {
	var snap Snapshot
	for i := range st.ttft {
		snap.Buckets[i].TTFTMillis, _ = st.ttftAt(i)
		snap.Buckets[i].Samples = st.ttft[i].n
	}
	if perToken, ok := st.decode.mean(); ok && perToken > 0 {
		snap.DecodeTokensPerSec = 1000 / perToken
	}
	snap.DecodeSamples = st.decode.n
	snap.MeanCompletionTokens, _ = st.completion.mean()
	snap.Successes, snap.Failures = st.successes, st.failures
	snap.LastSample = st.lastSample
	return snap
}

// state returns st as plain data.
func (st *stats) state() State {
	out := State{
		Decode:     st.decode.state(),
		Completion: st.completion.state(),
		TTFTSpread: st.spread.state(),
		Successes:  st.successes,
		Failures:   st.failures,
		LastSample: st.lastSample,
	}
	for i := range st.ttft {
		out.Buckets[i] = BucketState{MeanState: st.ttft[i].state(), Pending: st.ttft[i].pending}
	}
	return out
}

// load replaces st with the learned part of in.
func (st *stats) load(in *State) {
	for i := range st.ttft {
		st.ttft[i].decayingMean.load(in.Buckets[i].MeanState)
		st.ttft[i].pending = in.Buckets[i].Pending
	}
	st.decode.load(in.Decode)
	st.completion.load(in.Completion)
	st.spread.load(in.TTFTSpread)
	st.successes, st.failures = in.Successes, in.Failures
	st.lastSample = in.LastSample
}
