package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// route returns stats with one latency sample of ms[b] milliseconds in each
// bucket b present in ms, observed at t0.
func route(ms map[int]float64) *RouteStats {
	s := new(RouteStats)
	for b, v := range ms {
		s.ObserveLatency(b, time.Duration(v*float64(time.Millisecond)), t0)
	}
	return s
}

// rank returns the order Rank gives at now.
func rank(req Request, cands []Candidate, now time.Time) []int {
	order := make([]int, len(cands))
	Rank(req, cands, order, now)
	return order
}

// priced returns a known price per 1M tokens.
func priced(input, output float64) Pricing {
	return Pricing{Input: input, Output: output, Known: true}
}

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
	assert.Equal(t, []int{0, 1}, rank(Request{Strategy: Perf, PromptTokens: smallPrompt}, cands, t0))
	assert.Equal(t, []int{1, 0}, rank(Request{Strategy: Perf, PromptTokens: largePrompt}, cands, t0))
}

func TestRankPerfBorrowsNeighbourBucket(t *testing.T) {
	cands := []Candidate{
		{Stats: route(map[int]float64{0: 100})},
		// Slower on tiny prompts but fast in bucket 3, which is nearer to
		// bucket 2 than bucket 0 is.
		{Stats: route(map[int]float64{0: 200, 3: 50})},
	}
	req := Request{Strategy: Perf, PromptTokens: 2000} // bucket 2: no samples
	assert.Equal(t, 2, BucketOf(req.PromptTokens))
	assert.Equal(t, []int{1, 0}, rank(req, cands, t0))
}

func TestRankUnmeasuredFirst(t *testing.T) {
	cands := []Candidate{
		{Stats: route(map[int]float64{0: 100})},
		{Stats: nil},             // no stats: unmeasured
		{Stats: new(RouteStats)}, // no samples: unmeasured
		{Stats: route(map[int]float64{0: 900})},
	}
	for _, s := range []Strategy{Perf, PerfAvg} {
		assert.Equal(t, []int{1, 2, 0, 3}, rank(Request{Strategy: s, PromptTokens: smallPrompt}, cands, t0), s.String())
	}

	// Among unmeasured routes the cheaper goes first, unpriced last.
	cands[1].Price = priced(5, 5)
	cands[2].Price = priced(1, 1)
	cands = append(cands, Candidate{Price: priced(3, 3)}, Candidate{})
	assert.Equal(t, []int{2, 4, 1, 5, 0, 3}, rank(Request{Strategy: Perf}, cands, t0))
}

func TestRankPerfAvg(t *testing.T) {
	cands := []Candidate{
		{Stats: route(map[int]float64{0: 100, 5: 1000})}, // average 550
		{Stats: route(map[int]float64{0: 300, 5: 500})},  // average 400
	}
	assert.Equal(t, []int{0, 1}, rank(Request{Strategy: Perf, PromptTokens: smallPrompt}, cands, t0))
	assert.Equal(t, []int{1, 0}, rank(Request{Strategy: PerfAvg, PromptTokens: smallPrompt}, cands, t0))
}

func TestRankUnknownStrategyIsPerf(t *testing.T) {
	cands := []Candidate{
		{Stats: route(map[int]float64{0: 300})},
		{Stats: route(map[int]float64{0: 100})},
	}
	assert.Equal(t, []int{1, 0}, rank(Request{Strategy: Strategy(42)}, cands, t0))
}

func TestRankRecoveredRouteWinsAgain(t *testing.T) {
	a := route(map[int]float64{0: 2000})
	b := route(map[int]float64{0: 500})
	cands := []Candidate{{Stats: a}, {Stats: b}}
	assert.Equal(t, []int{1, 0}, rank(Request{}, cands, t0))

	later := t0.Add(10 * HalfLife)
	for i := range 3 {
		a.ObserveLatency(0, 100*time.Millisecond, later.Add(time.Duration(i)*time.Second))
	}
	assert.Equal(t, []int{0, 1}, rank(Request{}, cands, later))
}

func TestRankPriceCheapest(t *testing.T) {
	cands := []Candidate{
		{Price: priced(5, 15)},
		{Price: priced(0.15, 0.6)},
		{Price: priced(2.5, 10)},
	}
	assert.Equal(t, []int{1, 2, 0}, rank(Request{Strategy: Price, PromptTokens: 1000}, cands, t0))
}

func TestRankPriceMaxTokens(t *testing.T) {
	cands := []Candidate{
		{Price: priced(1, 10)}, // cheap prompt, dear completion
		{Price: priced(3, 2)},  // the opposite
	}
	req := Request{Strategy: Price, PromptTokens: 1000}

	req.MaxTokens = 10 // 1000+100 vs 3000+20
	assert.Equal(t, []int{0, 1}, rank(req, cands, t0))
	req.MaxTokens = 4000 // 1000+40000 vs 3000+8000
	assert.Equal(t, []int{1, 0}, rank(req, cands, t0))
	req.MaxTokens = 0 // default 256: 1000+2560 vs 3000+512
	assert.Equal(t, []int{1, 0}, rank(req, cands, t0))
}

func TestRankPriceUsesObservedCompletion(t *testing.T) {
	a, b := new(RouteStats), new(RouteStats)
	a.ObserveCompletion(10, t0)
	b.ObserveCompletion(10, t0)
	cands := []Candidate{
		{Stats: a, Price: priced(1, 10)},
		{Stats: b, Price: priced(3, 2)},
	}
	// Short completions make the cheap prompt win: 1000+100 vs 3000+20.
	assert.Equal(t, []int{0, 1}, rank(Request{Strategy: Price, PromptTokens: 1000}, cands, t0))
}

func TestRankPriceUnknownLast(t *testing.T) {
	cands := []Candidate{
		{Stats: route(map[int]float64{0: 10})}, // fastest, but no price
		{Price: priced(10, 30), Stats: route(map[int]float64{0: 500})},
		{Price: priced(1, 2), Stats: route(map[int]float64{0: 500})},
		{}, // unpriced too; unmeasured, so first of the two under Perf
	}
	assert.Equal(t, []int{2, 1, 3, 0}, rank(Request{Strategy: Price, PromptTokens: 1000}, cands, t0))
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
	assert.Equal(t, []int{3, 1, 0, 2, 4, 5}, rank(Request{Strategy: Price, PromptTokens: 1000}, cands, t0))
}

func TestRankTiesKeepConfigOrder(t *testing.T) {
	cands := make([]Candidate, 7)
	for _, s := range []Strategy{Perf, PerfAvg, Price} {
		assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6}, rank(Request{Strategy: s}, cands, t0), s.String())
	}
	same := route(map[int]float64{0: 100})
	cands = []Candidate{{Stats: same}, {Stats: route(map[int]float64{0: 100})}, {Stats: same}}
	assert.Equal(t, []int{0, 1, 2}, rank(Request{}, cands, t0))
}

func TestRankUnhealthyLast(t *testing.T) {
	fast := route(map[int]float64{0: 50})
	cands := []Candidate{
		{Stats: route(map[int]float64{0: 300}), Price: priced(1, 1)},
		{Stats: fast, Price: priced(0.1, 0.1)}, // fastest and cheapest
		{Stats: route(map[int]float64{0: 200}), Price: priced(2, 2)},
	}
	fast.ObserveFailure(t0)
	during := t0.Add(CooldownBase / 2)
	for _, s := range []Strategy{Perf, PerfAvg, Price} {
		order := rank(Request{Strategy: s}, cands, during)
		assert.Equal(t, 1, order[2], "%s: unhealthy route still returned, last", s)
	}
	assert.Equal(t, []int{1, 2, 0}, rank(Request{}, cands, t0.Add(CooldownBase)), "back first after the cooldown")

	// A second failure doubles the cooldown.
	t1 := t0.Add(CooldownBase)
	fast.ObserveFailure(t1)
	assert.Equal(t, 1, rank(Request{}, cands, t1.Add(2*CooldownBase-time.Nanosecond))[2])
	assert.Equal(t, 1, rank(Request{}, cands, t1.Add(2*CooldownBase))[0])
}

func TestRankUnhealthyByCooldownEnd(t *testing.T) {
	a, b, c := route(map[int]float64{0: 10}), route(map[int]float64{0: 20}), route(map[int]float64{0: 30})
	a.ObserveFailure(t0)
	a.ObserveFailure(t0) // back at t0+10s
	b.ObserveFailure(t0) // back at t0+5s
	cands := []Candidate{{Stats: a}, {Stats: b}, {Stats: c}}
	assert.Equal(t, []int{2, 1, 0}, rank(Request{}, cands, t0))
	// Same cooldown end: the strategy decides.
	b.ObserveFailure(t0) // now also back at t0+10s
	assert.Equal(t, []int{2, 0, 1}, rank(Request{}, cands, t0))
}

func TestRankManyCandidates(t *testing.T) {
	const n = 40 // more than fit on the stack
	cands := make([]Candidate, n)
	for i := range cands {
		cands[i].Stats = route(map[int]float64{0: float64(n - i)})
	}
	order := rank(Request{}, cands, t0)
	for i, idx := range order {
		assert.Equal(t, n-1-i, idx)
	}
}

func TestRankEdgeCases(t *testing.T) {
	assert.NotPanics(t, func() { Rank(Request{}, nil, nil, t0) })
	assert.Equal(t, []int{0}, rank(Request{PromptTokens: -3}, []Candidate{{}}, t0))
	assert.Panics(t, func() { Rank(Request{}, make([]Candidate, 2), make([]int, 1), t0) })
}

func TestRankDoesNotAllocate(t *testing.T) {
	for _, n := range []int{10, stackCandidates} {
		cands := benchCandidates(n)
		order := make([]int, n)
		for _, s := range []Strategy{Perf, PerfAvg, Price} {
			req := Request{Strategy: s, PromptTokens: 3000}
			allocs := testing.AllocsPerRun(100, func() { Rank(req, cands, order, t0) })
			assert.Zero(t, allocs, "%d candidates, %s", n, s)
		}
	}
}

// benchCandidates returns n routes with varied latencies, prices, one
// unmeasured, one unpriced and one unhealthy, so that every comparison path
// is taken.
func benchCandidates(n int) []Candidate {
	cands := make([]Candidate, n)
	for i := range cands {
		s := new(RouteStats)
		for b := range NumBuckets {
			if (i+b)%3 != 0 {
				s.ObserveLatency(b, time.Duration(100+(i*37+b*53)%400)*time.Millisecond, t0)
			}
		}
		s.ObserveCompletion(200+i, t0)
		cands[i] = Candidate{Stats: s, Price: priced(float64(1+i%4), float64(2+i%3))}
	}
	cands[0].Stats = nil
	cands[1].Price = Pricing{}
	cands[2].Stats.ObserveFailure(t0)
	return cands
}

func BenchmarkRank10(b *testing.B) {
	cands := benchCandidates(10)
	order := make([]int, len(cands))
	for _, s := range []Strategy{Perf, PerfAvg, Price} {
		b.Run(s.String(), func(b *testing.B) {
			b.ReportAllocs()
			req := Request{Strategy: s, PromptTokens: 3000}
			for b.Loop() {
				Rank(req, cands, order, t0)
			}
		})
	}
}
