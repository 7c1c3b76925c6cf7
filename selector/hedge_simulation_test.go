package selector

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The hedging simulation: two vendors whose first tokens are heavy-tailed
// (a log-normal body, and now and then a Pareto-distributed stall, as a
// queued or overloaded vendor shows), the first one learned by a Route as
// the router learns it, and requests hedged as llm_router's hedge block
// does: after the p-quantile of the first vendor's predicted time to first
// token (PredictTTFT), bounded below by a minimum, within a budget share of
// the requests over the last window. It compares the latency percentiles
// with and without hedging, and counts what the hedges cost: every hedge
// whose loser is cancelled absorbs the loser's prompt at its input price.
//
// Run it with: go test -run TestHedgeSimulation -v ./selector/

// hedgeSimVendor draws a time to first token in ms: a log-normal of median
// median and log-sd sigma, and with probability stall a stall of at least
// stallMin ms, Pareto with shape alpha (heavy: alpha < 2 has no variance).
type hedgeSimVendor struct {
	median, sigma          float64
	stall, stallMin, alpha float64
}

func (v hedgeSimVendor) draw(rng *rand.Rand) float64 {
	ms := v.median * math.Exp(v.sigma*rng.NormFloat64())
	if rng.Float64() < v.stall {
		ms += v.stallMin / math.Pow(1-rng.Float64(), 1/v.alpha)
	}
	return ms
}

type hedgeSimConfig struct {
	quantile float64
	min      float64 // ms
	budget   float64
}

type hedgeSimResult struct {
	p50, p90, p99, p999 float64
	hedged              float64 // share of requests hedged
	won                 float64 // share of hedges the second vendor won
	extraCost           float64 // absorbed cost over billed cost
}

// Prices of the simulation, USD per million tokens, and the request shape.
const (
	hedgeSimRequests   = 200_000
	hedgeSimPrompt     = 1000
	hedgeSimCompletion = 300
	hedgeSimInput      = 2.5
	hedgeSimOutput     = 10
	hedgeSimWindow     = 1000 // requests the budget counts over
)

func simulateHedging(cfg *hedgeSimConfig, seed uint64) hedgeSimResult {
	rng := rand.New(rand.NewPCG(seed, 7))
	first := hedgeSimVendor{median: 400, sigma: 0.35, stall: 0.03, stallMin: 1500, alpha: 1.5}
	second := hedgeSimVendor{median: 550, sigma: 0.35, stall: 0.03, stallMin: 1500, alpha: 1.5}
	sel := New(Config{HalfLife: 5 * time.Minute})
	route := NewRoute()
	now := t0
	latencies := make([]float64, 0, hedgeSimRequests)
	var hedges, won int
	var recent []bool // whether each of the last requests was hedged
	recentHedges := 0
	billed, absorbed := 0.0, 0.0
	requestCost := (hedgeSimPrompt*hedgeSimInput + hedgeSimCompletion*hedgeSimOutput) / 1e6
	loserCost := hedgeSimPrompt * hedgeSimInput / 1e6
	for i := range hedgeSimRequests {
		now = now.Add(50 * time.Millisecond)
		a := first.draw(rng)
		latency, hedged, aServed := a, false, true
		if cfg != nil {
			delay := math.Inf(1)
			if d, ok := sel.PredictTTFT(route, hedgeSimPrompt, cfg.quantile, now); ok {
				delay = max(float64(d)/float64(time.Millisecond), cfg.min)
			}
			withinBudget := float64(recentHedges+1) <= cfg.budget*float64(min(i+1, hedgeSimWindow))
			if a > delay && withinBudget {
				hedged = true
				hedges++
				b := delay + second.draw(rng)
				if b < a {
					latency, aServed = b, false
					won++
				}
				absorbed += loserCost
			}
		}
		billed += requestCost
		if aServed {
			// The router learns the first vendor's time from the answers
			// it served; a cancelled loser teaches nothing.
			ms := time.Duration(a * float64(time.Millisecond))
			sel.ObserveSuccess(route, BucketOf(hedgeSimPrompt), Sample{Stream: true, FirstToken: ms,
				Total: ms + time.Second, CompletionTokens: hedgeSimCompletion}, now)
		}
		recent = append(recent, hedged)
		if hedged {
			recentHedges++
		}
		if len(recent) > hedgeSimWindow {
			if recent[0] {
				recentHedges--
			}
			recent = recent[1:]
		}
		latencies = append(latencies, latency)
	}
	slices.Sort(latencies)
	q := func(p float64) float64 { return latencies[int(p*float64(len(latencies)-1))] }
	res := hedgeSimResult{p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999),
		hedged: float64(hedges) / hedgeSimRequests, extraCost: absorbed / billed}
	if hedges > 0 {
		res.won = float64(won) / float64(hedges)
	}
	return res
}

func TestHedgeSimulation(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation")
	}
	base := simulateHedging(nil, 1)
	t.Logf("%-28s %7s %7s %7s %7s %7s %7s %9s", "config", "p50", "p90", "p99", "p99.9", "hedged", "won", "extra $")
	row := func(name string, r hedgeSimResult) {
		t.Logf("%-28s %7.0f %7.0f %7.0f %7.0f %6.1f%% %6.1f%% %8.2f%%", name, r.p50, r.p90, r.p99, r.p999,
			100*r.hedged, 100*r.won, 100*r.extraCost)
	}
	row("no hedging", base)
	for _, cfg := range []hedgeSimConfig{
		{quantile: 0.9, min: 300, budget: 0.05},
		{quantile: 0.95, min: 300, budget: 0.05},
		{quantile: 0.9, min: 300, budget: 0.10},
		{quantile: 0.99, min: 300, budget: 0.05},
	} {
		r := simulateHedging(&cfg, 1)
		row(fmt.Sprintf("p%g min %gms budget %g%%", 100*cfg.quantile, cfg.min, 100*cfg.budget), r)
		assert.LessOrEqual(t, r.hedged, cfg.budget+0.001, "the budget holds")
		assert.InDelta(t, base.p50, r.p50, base.p50*0.02, "the median is untouched")
		if cfg.quantile == 0.9 && cfg.budget == 0.05 {
			assert.Less(t, r.p99, 0.6*base.p99, "hedging at p90 cuts p99")
			assert.Less(t, r.p999, 0.6*base.p999, "and p99.9")
			assert.Less(t, r.extraCost, 0.03, "for under 3%% more spend")
		}
	}
}
