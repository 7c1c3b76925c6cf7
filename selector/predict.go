package selector

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
