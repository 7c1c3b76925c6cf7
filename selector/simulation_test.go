package selector

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The routing-quality simulation: a Selector with the default config routes
// a deterministic stream of requests among simulated vendors whose latency
// curves are known, and is compared with an oracle that knows them.

// simVendor is a simulated vendor: its time to first token grows linearly
// with the prompt, times a log-normal noise factor of mean 1; its decode
// time per token is fixed, times a uniform noise factor of mean 1.
type simVendor struct {
	name        string
	ttftBase    float64 // ms
	ttftPerTok  float64 // ms per prompt token
	ttftNoise   float64 // sigma of the log-normal TTFT factor
	decodePer   float64 // ms per completion token
	decodeNoise float64 // the decode factor is uniform in 1 +- this
	failFrom    int     // requests [failFrom, failTo) fail
	failTo      int
}

// The simulated run.
const (
	simRequests    = 30_000
	simWarmUp      = 3_000
	simStep        = 100 * time.Millisecond // virtual time between requests
	simFailFrom    = 12_000
	simFailTo      = 12_300 // a 30s outage
	simFailureCost = 300.0  // ms a failed attempt costs (a 503 after a while)
	simFailing     = 1      // the index of the vendor that fails
	// simMeanCompletion is the mean of the completion sizes, uniform in
	// [50, 550]; the oracle expects it.
	simMeanCompletion = 300
)

var simVendors = []simVendor{
	// A: quick to start on small prompts, slow on large ones.
	{name: "A", ttftBase: 100, ttftPerTok: 0.1, ttftNoise: 0.1, decodePer: 12.5, decodeNoise: 0.1},
	// B: the opposite; it also fails for a while mid-run.
	{name: "B", ttftBase: 500, ttftPerTok: 0.0025, ttftNoise: 0.1, decodePer: 20, decodeNoise: 0.1,
		failFrom: simFailFrom, failTo: simFailTo},
	// C: erratic first tokens, but the fastest decoder: the best for a
	// client that waits for the whole answer.
	{name: "C", ttftBase: 600, ttftPerTok: 0.03, ttftNoise: 0.7, decodePer: 10, decodeNoise: 0.3},
}

// expected returns the vendor's true expected latency for a request: the
// time to first token for a stream, the whole response otherwise.
func (v *simVendor) expected(prompt int, stream bool) float64 {
	ms := v.ttftBase + v.ttftPerTok*float64(prompt)
	if !stream {
		ms += simMeanCompletion * v.decodePer
	}
	return ms
}

func (v *simVendor) failing(req int) bool { return req >= v.failFrom && req < v.failTo }

// simDraw is what one request would meet at one vendor, in ms.
type simDraw struct {
	ttft, total float64
}

// latency is what the client waits for: the first token of a stream, the
// whole response otherwise.
func (d simDraw) latency(stream bool) float64 {
	if stream {
		return d.ttft
	}
	return d.total
}

// simResult holds the figures of a run, counted after the warm-up unless
// said otherwise.
type simResult struct {
	measured, toBest       int
	latency, oracleLatency float64 // sums, ms
	explored               int     // over the whole run
	bucketN, bucketBest    [NumBuckets]int
	// The outage of the failing vendor.
	failedBeforeLeave  int  // attempts on it before the selector left it
	requestsToLeave    int  // requests from the outage start until it was left
	left               bool // it was left during the outage
	openedDuring       bool // its breaker opened during the outage
	failedDuringOutage int  // every failed attempt on it, probes included
	outageN, outageHit int  // requests during the outage, and those to the best
	requestsToReturn   int  // requests from its recovery until it served again
	returned           bool
	final              [3]Snapshot // the vendors' stats at the end
}

// simulate runs the simulation with the given seed.
func simulate(seed uint64) simResult {
	world := rand.New(rand.NewPCG(seed, 1))
	explore := rand.New(rand.NewPCG(seed, 2))
	sel := New(Config{Rand: explore.Float64})
	vendors := simVendors
	cands := make([]Candidate, len(vendors))
	for i := range cands {
		cands[i].Stats = NewRoute()
	}

	var res simResult
	order := make([]int, len(vendors))
	draws := make([]simDraw, len(vendors))
	for i := range simRequests {
		now := t0.Add(time.Duration(i) * simStep)
		prompt := int(math.Exp(math.Log(30) + world.Float64()*(math.Log(100_000)-math.Log(30))))
		stream := world.Float64() < 2.0/3
		tokens := 50 + world.IntN(501)
		for v := range vendors {
			vd := &vendors[v]
			ttft := vd.expected(prompt, true) * math.Exp(vd.ttftNoise*world.NormFloat64()-vd.ttftNoise*vd.ttftNoise/2)
			decode := float64(tokens) * vd.decodePer * (1 + vd.decodeNoise*(2*world.Float64()-1))
			draws[v] = simDraw{ttft: ttft, total: ttft + decode}
		}

		// The oracle: the healthy vendor with the lowest true expected
		// latency for this request.
		best := -1
		for v := range vendors {
			if !vendors[v].failing(i) && (best < 0 || vendors[v].expected(prompt, stream) < vendors[best].expected(prompt, stream)) {
				best = v
			}
		}

		// The selector, used as the caller does: rank, try the admitted
		// routes in order, the refused ones only when nothing else is left,
		// and report every attempt when it ends.
		bucket := BucketOf(prompt)
		if sel.Rank(Request{Strategy: Perf, PromptTokens: prompt, Stream: stream}, cands, order, now) {
			res.explored++
		}
		tries, refused := make([]int, 0, len(order)), make([]int, 0, len(order))
		for _, v := range order {
			if sel.Admit(cands[v].Stats, now) {
				tries = append(tries, v)
			} else {
				refused = append(refused, v)
			}
		}
		tries = append(tries, refused...)
		elapsed := 0.0
		for _, v := range tries {
			at := now.Add(ms(elapsed))
			if vendors[v].failing(i) {
				elapsed += simFailureCost
				sel.ObserveFailure(cands[v].Stats, Failure{Kind: FailureServer}, now.Add(ms(elapsed)))
				if v == simFailing {
					res.failedDuringOutage++
				}
				continue
			}
			d := draws[v]
			sm := Sample{Stream: stream, FirstToken: ms(d.ttft), Total: ms(d.total), CompletionTokens: tokens}
			if !stream {
				sm.FirstToken = sm.Total // the body arrives at once
			}
			sel.ObserveSuccess(cands[v].Stats, bucket, sm, at.Add(ms(d.total)))
			elapsed += d.latency(stream)
			if i >= simFailTo && v == simFailing && !res.returned {
				res.returned, res.requestsToReturn = true, i-simFailTo+1
			}
			break
		}

		first := tries[0]
		if i >= simFailFrom && i < simFailTo {
			res.outageN++
			if first == best {
				res.outageHit++
			}
			if sel.Snapshot(cands[simFailing].Stats, now).Breaker != Closed {
				res.openedDuring = true
			}
			// How soon the selector stops sending to the failing vendor the
			// requests that it would serve best.
			fv := &vendors[simFailing]
			if !res.left {
				switch {
				case first == simFailing:
					res.failedBeforeLeave++
				case fv.expected(prompt, stream) <= vendors[best].expected(prompt, stream):
					res.left, res.requestsToLeave = true, i-simFailFrom+1
				}
			}
		}

		if i < simWarmUp {
			continue
		}
		res.measured++
		res.bucketN[bucket]++
		if first == best {
			res.toBest++
			res.bucketBest[bucket]++
		}
		res.latency += elapsed
		res.oracleLatency += draws[best].latency(stream)
	}
	for v := range vendors {
		res.final[v] = sel.Snapshot(cands[v].Stats, t0.Add(simRequests*simStep))
	}
	return res
}

func TestSimulationRoutingQuality(t *testing.T) {
	res := simulate(1)
	share := float64(res.toBest) / float64(res.measured)
	ratio := res.latency / res.oracleLatency

	t.Logf("%d requests after a warm-up of %d, %v apart; 2/3 streaming; prompts log-uniform in [30, 100k] tokens",
		res.measured, simWarmUp, simStep)
	t.Logf("share sent to the truly fastest healthy vendor: %.1f%% (explorations and probes: %d, %.1f%%)",
		100*share, res.explored, 100*float64(res.explored)/simRequests)
	for b := range NumBuckets {
		limit := "no limit"
		if l := BucketLimit(b); l > 0 {
			limit = "<= " + strconv.Itoa(l) + " tokens"
		}
		t.Logf("  bucket %d (%s): %5d requests, %.1f%% to the best", b, limit, res.bucketN[b],
			100*float64(res.bucketBest[b])/float64(res.bucketN[b]))
	}
	t.Logf("mean latency: %.0f ms against the oracle's %.0f ms (%+.1f%%)",
		res.latency/float64(res.measured), res.oracleLatency/float64(res.measured), 100*(ratio-1))
	name := simVendors[simFailing].name
	t.Logf("vendor %s failing for requests [%d, %d): %d failed attempt(s) before leaving it, left after %d request(s); "+
		"breaker opened: %v; %d failed attempts in all; share to the best during the outage %.1f%%",
		name, simFailFrom, simFailTo, res.failedBeforeLeave, res.requestsToLeave, res.openedDuring,
		res.failedDuringOutage, 100*float64(res.outageHit)/float64(res.outageN))
	t.Logf("vendor %s served again %d request(s) (%v) after its recovery",
		name, res.requestsToReturn, time.Duration(res.requestsToReturn)*simStep)
	for v, snap := range res.final {
		t.Logf("  %s: %5d successes, %d failures, decode %.0f tok/s (true %.0f), TTFT by bucket %4.0f %4.0f %4.0f %4.0f %4.0f %4.0f ms",
			simVendors[v].name, snap.Successes, snap.Failures, snap.DecodeTokensPerSec, 1000/simVendors[v].decodePer,
			snap.Buckets[0].TTFTMillis, snap.Buckets[1].TTFTMillis, snap.Buckets[2].TTFTMillis,
			snap.Buckets[3].TTFTMillis, snap.Buckets[4].TTFTMillis, snap.Buckets[5].TTFTMillis)
	}

	assert.GreaterOrEqual(t, share, 0.90, "share to the truly fastest vendor")
	assert.LessOrEqual(t, ratio, 1.10, "mean latency against the oracle")
	assert.True(t, res.left, "the selector must leave the failing vendor")
	assert.LessOrEqual(t, res.failedBeforeLeave, DefaultFailureThreshold, "failed attempts before leaving")
	assert.LessOrEqual(t, res.failedDuringOutage, 10, "failed attempts during the outage")
	assert.True(t, res.returned, "the selector must come back to the vendor after its recovery")
	assert.LessOrEqual(t, res.requestsToReturn, 600, "requests until coming back (one minute)")
}

// TestSimulationSeeds checks that the figures of TestSimulationRoutingQuality
// do not hinge on its seed.
func TestSimulationSeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("20 runs")
	}
	worstShare, worstRatio := 1.0, 0.0
	for seed := uint64(2); seed <= 21; seed++ {
		res := simulate(seed)
		share := float64(res.toBest) / float64(res.measured)
		ratio := res.latency / res.oracleLatency
		worstShare, worstRatio = min(worstShare, share), max(worstRatio, ratio)
		assert.GreaterOrEqual(t, share, 0.90, "seed %d: share to the truly fastest vendor", seed)
		assert.LessOrEqual(t, ratio, 1.10, "seed %d: mean latency against the oracle", seed)
		assert.True(t, res.left && res.returned, "seed %d: left and came back", seed)
		assert.LessOrEqual(t, res.failedBeforeLeave, DefaultFailureThreshold, "seed %d", seed)
	}
	t.Logf("20 more seeds: worst share to the best %.1f%%, worst latency against the oracle %+.1f%%",
		100*worstShare, 100*(worstRatio-1))
}
