package selector

// Perf prefers the route with the lowest predicted latency for this
// request: the time to first token of its prompt-size bucket (borrowed from
// the neighbour buckets, or else the route's average, when the bucket has no
// samples), plus for a non-streaming request the expected completion tokens
// (the running mean capped by MaxTokens, else MaxTokens, else
// DefaultExpectedCompletionTokens) times the route's time per token. Routes
// without any sample come before measured ones, cheapest first, so that each
// gets measured once. It is the default, and the zero Strategy.
const Perf Strategy = 0

func init() {
	register(Perf, strategyDef{
		name:     "perf",
		ttft:     BucketTTFT,
		order:    byLatency,
		explores: true,
	})
}

// byLatency orders by predicted latency, unmeasured routes first so that
// every route gets measured once before the fastest one takes over. Among
// unmeasured routes the cheaper goes first, so exploring costs less.
func byLatency(_ *Request, a, b *score) int {
	return measuredFirstBy(a, b, a.latency, b.latency)
}

// measuredFirstBy orders unmeasured routes first (the cheaper of them
// first), then measured ones by ka and kb, lower first: the latency
// strategies' shared rule, each with the time it ranks by.
func measuredFirstBy(a, b *score, ka, kb float64) int {
	if a.Measured != b.Measured {
		if !a.Measured {
			return -1
		}
		return 1
	}
	if !a.Measured {
		return comparePrice(a, b)
	}
	switch {
	case ka < kb:
		return -1
	case ka > kb:
		return 1
	}
	return 0
}
