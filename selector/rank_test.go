package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// Prompt sizes landing in bucket 0 and bucket 4.
const (
	smallPrompt = 100
	largePrompt = 50_000
)

func TestRankPerfPerBucket(t *testing.T) {
	cands := []Candidate{
		{Stats: route(map[int]float64{0: 100, 4: 2000})}, // fast on small prompts
		{Stats: route(map[int]float64{0: 300, 4: 800})},  // fast on large prompts
	}
	assert.Equal(t, []int{0, 1}, rank(noExplore, Request{Strategy: Perf, PromptTokens: smallPrompt, Stream: true}, cands, t0))
	assert.Equal(t, []int{1, 0}, rank(noExplore, Request{Strategy: Perf, PromptTokens: largePrompt, Stream: true}, cands, t0))
}

// decoding returns stats with a TTFT of ttft in bucket 0 and a decode speed
// of tokensPerSec, learned from one stream of 101 tokens.
func decoding(ttft time.Duration, tokensPerSec float64) Route {
	r := NewRoute()
	decode := time.Duration(100 / tokensPerSec * float64(time.Second))
	noExplore.ObserveSuccess(r, 0, Sample{Stream: true, FirstToken: ttft, Total: ttft + decode, CompletionTokens: 101}, t0)
	return r
}

func TestRankPerfNonStreamingAddsDecodeTime(t *testing.T) {
	quickStart := decoding(200*time.Millisecond, 20) // 50ms a token
	quickDecode := decoding(800*time.Millisecond, 100)
	cands := []Candidate{{Stats: quickStart}, {Stats: quickDecode}}

	// A stream is judged by its first token.
	req := Request{Strategy: Perf, PromptTokens: smallPrompt, Stream: true}
	assert.Equal(t, []int{0, 1}, rank(noExplore, req, cands, t0))

	// A client that waits for the whole answer of the model's mean 101
	// tokens: 200 + 101*50 = 5250ms against 800 + 101*10 = 1810ms.
	req.Stream = false
	assert.Equal(t, []int{1, 0}, rank(noExplore, req, cands, t0))

	// A short max_tokens caps the expected decode: 200 + 5*50 = 450ms
	// against 800 + 5*10 = 850ms.
	req.MaxTokens = 5
	assert.Equal(t, []int{0, 1}, rank(noExplore, req, cands, t0))

	// The same holds for perf-avg.
	req = Request{Strategy: PerfAvg, PromptTokens: smallPrompt}
	assert.Equal(t, []int{1, 0}, rank(noExplore, req, cands, t0))
	req.Stream = true
	assert.Equal(t, []int{0, 1}, rank(noExplore, req, cands, t0))
}

func TestRankPerfNoDecodeSpeedUsesTTFTOnly(t *testing.T) {
	// A route that only served non-streaming requests has its whole
	// response time as TTFT, so nothing is added to it.
	r := NewRoute()
	noExplore.ObserveSuccess(r, 0, Sample{Total: 900 * time.Millisecond, CompletionTokens: 50}, t0)
	cands := []Candidate{{Stats: decoding(200*time.Millisecond, 100)}, {Stats: r}}
	// 200 + 75*10 = 950ms (the pooled mean is (101+50)/2) against 900ms.
	assert.Equal(t, []int{1, 0}, rank(noExplore, Request{PromptTokens: smallPrompt}, cands, t0))
}

func TestRankPerfBorrows(t *testing.T) {
	req := Request{Strategy: Perf, PromptTokens: 2000, Stream: true} // bucket 2
	assert.Equal(t, 2, BucketOf(req.PromptTokens))

	// Neighbour buckets: 1 and 3 average 150 for the second route.
	cands := []Candidate{
		{Stats: route(map[int]float64{0: 100, 5: 100})}, // no neighbour: average 100
		{Stats: route(map[int]float64{1: 50, 3: 250})},  // neighbours: 150
		{Stats: route(map[int]float64{3: 90, 0: 10})},   // upper neighbour: 90
	}
	assert.Equal(t, []int{2, 0, 1}, rank(noExplore, req, cands, t0))
}

func TestRankUnmeasuredFirst(t *testing.T) {
	cands := []Candidate{
		{Stats: route(map[int]float64{0: 100})},
		{Stats: nil},        // no stats: unmeasured
		{Stats: NewRoute()}, // no samples: unmeasured
		{Stats: route(map[int]float64{0: 900})},
	}
	for _, s := range []Strategy{Perf, PerfAvg} {
		assert.Equal(t, []int{1, 2, 0, 3}, rank(noExplore, Request{Strategy: s, PromptTokens: smallPrompt}, cands, t0), s.String())
	}

	// Among unmeasured routes the cheaper goes first, unpriced last.
	cands[1].Price = priced(5, 5)
	cands[2].Price = priced(1, 1)
	cands = append(cands, Candidate{Price: priced(3, 3)}, Candidate{})
	assert.Equal(t, []int{2, 4, 1, 5, 0, 3}, rank(noExplore, Request{Strategy: Perf}, cands, t0))
}

func TestRankPerfAvg(t *testing.T) {
	cands := []Candidate{
		{Stats: route(map[int]float64{0: 100, 5: 1000})}, // average 550
		{Stats: route(map[int]float64{0: 300, 5: 500})},  // average 400
	}
	req := Request{PromptTokens: smallPrompt, Stream: true}
	assert.Equal(t, []int{0, 1}, rank(noExplore, req, cands, t0))
	req.Strategy = PerfAvg
	assert.Equal(t, []int{1, 0}, rank(noExplore, req, cands, t0))
}

func TestRankUnknownStrategyIsPerf(t *testing.T) {
	cands := []Candidate{
		{Stats: route(map[int]float64{0: 300})},
		{Stats: route(map[int]float64{0: 100})},
	}
	assert.Equal(t, []int{1, 0}, rank(noExplore, Request{Strategy: Strategy(42)}, cands, t0))
}

func TestRankPriceCheapest(t *testing.T) {
	cands := []Candidate{
		{Price: priced(5, 15)},
		{Price: priced(0.15, 0.6)},
		{Price: priced(2.5, 10)},
	}
	assert.Equal(t, []int{1, 2, 0}, rank(noExplore, Request{Strategy: Price, PromptTokens: 1000}, cands, t0))
}

func TestRankPriceMaxTokens(t *testing.T) {
	cands := []Candidate{
		{Price: priced(1, 10)}, // cheap prompt, dear completion
		{Price: priced(3, 2)},  // the opposite
	}
	req := Request{Strategy: Price, PromptTokens: 1000}

	req.MaxTokens = 10 // 1000+100 vs 3000+20
	assert.Equal(t, []int{0, 1}, rank(noExplore, req, cands, t0))
	req.MaxTokens = 4000 // 1000+40000 vs 3000+8000
	assert.Equal(t, []int{1, 0}, rank(noExplore, req, cands, t0))
	req.MaxTokens = 0 // default 256: 1000+2560 vs 3000+512
	assert.Equal(t, []int{1, 0}, rank(noExplore, req, cands, t0))
}

func TestRankPriceUsesRunningMean(t *testing.T) {
	a, b := NewRoute(), NewRoute()
	cands := []Candidate{
		{Stats: a, Price: priced(1, 10)},
		{Stats: b, Price: priced(3, 2)},
	}
	req := Request{Strategy: Price, PromptTokens: 1000}

	// Short completions make the cheap prompt win: 1000+100 vs 3000+20.
	// The mean is the model's, pooled over its routes: one route's
	// history prices the other too.
	noExplore.ObserveSuccess(a, 0, Sample{Total: time.Second, CompletionTokens: 10}, t0)
	assert.Equal(t, []int{0, 1}, rank(noExplore, req, cands, t0))

	// Long ones the cheap completion: mean (10+1990)/2 = 1000 tokens:
	// 1000+10000 vs 3000+2000.
	noExplore.ObserveSuccess(b, 0, Sample{Total: time.Second, CompletionTokens: 1990}, t0)
	assert.Equal(t, []int{1, 0}, rank(noExplore, req, cands, t0))

	// max_tokens wins over the mean: it bounds the bill.
	req.MaxTokens = 10
	assert.Equal(t, []int{0, 1}, rank(noExplore, req, cands, t0))
}

func TestRankPriceUnknownLast(t *testing.T) {
	cands := []Candidate{
		{Stats: route(map[int]float64{0: 10})}, // fastest, but no price
		{Price: priced(10, 30), Stats: route(map[int]float64{0: 500})},
		{Price: priced(1, 2), Stats: route(map[int]float64{0: 500})},
		{}, // unpriced too; unmeasured, so first of the two under Perf
	}
	assert.Equal(t, []int{2, 1, 3, 0}, rank(noExplore, Request{Strategy: Price, PromptTokens: 1000}, cands, t0))
}

func TestRankPriceTiesGoToPerf(t *testing.T) {
	p := priced(0.1+0.2, 1) // float noise against 0.3 must still tie
	cands := []Candidate{
		{Price: p, Stats: route(map[int]float64{0: 300})},
		{Price: priced(0.3, 1), Stats: route(map[int]float64{0: 100})},
		{Price: p, Stats: route(map[int]float64{0: 300})}, // same as 0: index decides
		{Price: p},                            // unmeasured: tried first
		{Price: priced(0.31, 1)},              // dearer: after all the above
		{Stats: route(map[int]float64{0: 1})}, // unpriced: last
	}
	assert.Equal(t, []int{3, 1, 0, 2, 4, 5}, rank(noExplore, Request{Strategy: Price, PromptTokens: 1000}, cands, t0))

	// Perf includes decode time for a non-streaming request, so it can turn
	// a price tie around.
	same := priced(1, 1)
	cands = []Candidate{
		{Price: same, Stats: decoding(200*time.Millisecond, 20)},
		{Price: same, Stats: decoding(800*time.Millisecond, 100)},
	}
	assert.Equal(t, []int{0, 1}, rank(noExplore, Request{Strategy: Price, Stream: true}, cands, t0))
	assert.Equal(t, []int{1, 0}, rank(noExplore, Request{Strategy: Price}, cands, t0))
}

func TestRankTiesKeepConfigOrder(t *testing.T) {
	cands := make([]Candidate, 7)
	for _, s := range []Strategy{Perf, PerfAvg, Price} {
		assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6}, rank(noExplore, Request{Strategy: s}, cands, t0), s.String())
	}
	same := route(map[int]float64{0: 100})
	cands = []Candidate{{Stats: same}, {Stats: route(map[int]float64{0: 100})}, {Stats: same}}
	assert.Equal(t, []int{0, 1, 2}, rank(noExplore, Request{}, cands, t0))
}

// TestRankTiers: closed without failures, closed with failures, half-open,
// open by cooldown end, whatever the strategy prefers.
func TestRankTiers(t *testing.T) {
	s := New(Config{ExplorationShare: -1})
	sec := time.Second
	clean := route(map[int]float64{0: 900})
	failing := route(map[int]float64{0: 10})
	halfOpen := route(map[int]float64{0: 10})
	openLong := route(map[int]float64{0: 10})
	openShort := route(map[int]float64{0: 20})

	s.ObserveFailure(failing, Failure{}, t0)                                // 1 < threshold
	s.ObserveFailure(halfOpen, Failure{Kind: FailureAuth}, t0.Add(-10*sec)) // open until t0-5s
	s.Admit(halfOpen, t0)                                                   // its probe is in flight
	s.ObserveFailure(openLong, Failure{RetryAfter: time.Minute}, t0)
	s.ObserveFailure(openShort, Failure{RetryAfter: 30 * sec}, t0)

	cands := []Candidate{
		{Stats: openLong, Price: priced(0.1, 0.1)},
		{Stats: halfOpen, Price: priced(0.1, 0.1)},
		{Stats: openShort, Price: priced(0.1, 0.1)},
		{Stats: failing, Price: priced(0.1, 0.1)},
		{Stats: clean, Price: priced(9, 9)}, // slowest and dearest
	}
	for _, strat := range []Strategy{Perf, PerfAvg, Price} {
		assert.Equal(t, []int{4, 3, 1, 2, 0}, rank(s, Request{Strategy: strat}, cands, t0), strat.String())
	}

	// Same cooldown end: the strategy decides.
	s.ObserveFailure(openShort, Failure{RetryAfter: time.Minute}, t0)
	assert.Equal(t, []int{4, 3, 1, 0, 2}, rank(s, Request{}, cands, t0))
}

func TestRankManyCandidates(t *testing.T) {
	const n = 40 // more than fit on the stack
	cands := make([]Candidate, n)
	for i := range cands {
		cands[i].Stats = route(map[int]float64{0: float64(n - i)})
	}
	order := rank(noExplore, Request{}, cands, t0)
	for i, idx := range order {
		assert.Equal(t, n-1-i, idx)
	}
}

func TestRankEdgeCases(t *testing.T) {
	s := New(Config{})
	assert.NotPanics(t, func() { s.Rank(Request{}, nil, nil, t0) })
	assert.Equal(t, []int{0}, rank(s, Request{PromptTokens: -3}, []Candidate{{}}, t0))
	assert.Panics(t, func() { s.Rank(Request{}, make([]Candidate, 2), make([]int, 1), t0) })
}

func TestRankDoesNotAllocate(t *testing.T) {
	s := New(Config{})
	for _, n := range []int{10, scratchCandidates} {
		cands := benchCandidates(n)
		order := make([]int, n)
		for _, strat := range []Strategy{Perf, PerfAvg, Price} {
			for _, stream := range []bool{false, true} {
				req := Request{Strategy: strat, PromptTokens: 3000, Stream: stream}
				allocs := testing.AllocsPerRun(100, func() { s.Rank(req, cands, order, t0) })
				assert.Zero(t, allocs, "%d candidates, %s", n, strat)
			}
		}
	}
}

// benchCandidates returns n routes with varied latencies, decode speeds and
// prices, one unmeasured, one unpriced, one with a failure and one open, so
// that every comparison path is taken.
func benchCandidates(n int) []Candidate {
	s := New(Config{})
	cands := make([]Candidate, n)
	for i := range cands {
		r := NewRoute()
		for b := range NumBuckets {
			if (i+b)%3 != 0 {
				ttft := time.Duration(100+(i*37+b*53)%400) * time.Millisecond
				s.ObserveSuccess(r, b, Sample{Stream: true, FirstToken: ttft, Total: ttft + time.Duration(200+i*10)*10*time.Millisecond, CompletionTokens: 201}, t0)
			}
		}
		cands[i] = Candidate{Stats: r, Price: priced(float64(1+i%4), float64(2+i%3))}
	}
	cands[0].Stats = nil
	cands[1].Price = billing.Pricing{}
	s.ObserveFailure(cands[2].Stats, Failure{}, t0)
	s.ObserveFailure(cands[3].Stats, Failure{Kind: FailureQuota}, t0)
	return cands
}

func BenchmarkRank10(b *testing.B) {
	cands := benchCandidates(10)
	order := make([]int, len(cands))
	s := New(Config{})
	for _, strat := range []Strategy{Perf, PerfAvg, Price} {
		b.Run(strat.String(), func(b *testing.B) {
			b.ReportAllocs()
			req := Request{Strategy: strat, PromptTokens: 3000}
			for b.Loop() {
				s.Rank(req, cands, order, t0)
			}
		})
	}
}
