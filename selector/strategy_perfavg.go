package selector

// PerfAvg prefers the route with the lowest latency averaged over all
// prompt-size buckets it has data for: it ranks as Perf does, with the time
// to first token averaged over the route's measured buckets (each counting
// alike) instead of taken from this request's bucket.
const PerfAvg Strategy = 1

func init() {
	register(PerfAvg, strategyDef{
		name:     "perf-avg",
		ttft:     AverageTTFT,
		order:    byLatency,
		explores: true,
	})
}
