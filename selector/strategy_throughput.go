package selector

// Throughput prefers the route that decodes fastest: the lowest decode time
// per completion token, learned from streams, whatever the wait for the
// first token. It is for long answers, where the decode time dominates.
// Routes whose decode speed is not known yet come first, cheapest first, so
// that each gets measured; routes of equal speed go to the Perf order.
const Throughput Strategy = 4

func init() {
	register(Throughput, strategyDef{
		name:     "throughput",
		ttft:     BucketTTFT,
		order:    byDecodeSpeed,
		explores: true,
	})
}

// byDecodeSpeed orders by decode time per token, unknown speeds first.
func byDecodeSpeed(req *Request, a, b *score) int {
	if a.Decodes != b.Decodes {
		if !a.Decodes {
			return -1
		}
		return 1
	}
	if !a.Decodes {
		return byLatency(req, a, b)
	}
	switch {
	case a.PerToken < b.PerToken:
		return -1
	case a.PerToken > b.PerToken:
		return 1
	}
	return byLatency(req, a, b)
}
