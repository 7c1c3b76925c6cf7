package selector

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

// latencyCompletion returns the completion size the perf strategies assume
// when adding decode time for a non-streaming request: the running mean
// (ok reports whether there is one), capped by max_tokens, since clients
// often set max_tokens as a generous bound that a typical answer stays far
// below; else max_tokens; else DefaultExpectedCompletionTokens.
func latencyCompletion(maxTokens int, mean float64, ok bool) float64 {
	switch {
	case ok && maxTokens > 0:
		return min(mean, float64(maxTokens))
	case ok:
		return mean
	case maxTokens > 0:
		return float64(maxTokens)
	}
	return DefaultExpectedCompletionTokens
}
