package selector

// TTFT prefers the route with the lowest time to first token for this
// prompt's bucket, as Perf does for a stream, but leaves the decode time out
// even for a non-streaming request: it is for clients that show the first
// token as soon as it comes, or that care about the wait before an answer
// starts more than about its length. Unmeasured routes come first, cheapest
// first, as with Perf.
const TTFT Strategy = 3

func init() {
	register(TTFT, strategyDef{
		name:     "ttft",
		ttft:     BucketTTFT,
		order:    byFirstToken,
		explores: true,
	})
}

// byFirstToken orders by the bucket's time to first token alone.
func byFirstToken(_ *Request, a, b *score) int {
	return measuredFirstBy(a, b, a.TTFT, b.TTFT)
}
