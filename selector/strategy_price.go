package selector

// Price prefers the route with the lowest expected cost: prompt tokens at
// the input price plus expected completion tokens (MaxTokens, else the
// running mean, else DefaultExpectedCompletionTokens) at the output price.
// Costs within a relative 1e-9 tie and go to the Perf order; unpriced routes
// come last. Its requests are never explored.
const Price Strategy = 2

func init() {
	register(Price, strategyDef{
		name: "price",
		// Ties go to the Perf order, which reads this bucket.
		ttft:  BucketTTFT,
		order: byCost,
		// Price requests are not explored: their clients chose cost over
		// speed, and exploring would spend their money on a pricier vendor
		// to measure latency that Price barely uses. Perf traffic keeps the
		// stats fresh.
		explores: false,
	})
}

// byCost orders by expected cost, routes without a price last; costs within
// a relative costTolerance tie and go to the Perf order.
func byCost(req *Request, a, b *score) int {
	if c := comparePrice(a, b); c != 0 {
		return c
	}
	return byLatency(req, a, b)
}
