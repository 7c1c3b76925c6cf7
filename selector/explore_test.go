package selector

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// threeMeasured returns routes measured at t0 with TTFTs 100, 200, 300 and
// 400ms, so that the unexplored order is 0, 1, 2, 3.
func threeMeasured() []Candidate {
	return []Candidate{
		{Stats: route(map[int]float64{0: 100})},
		{Stats: route(map[int]float64{0: 200})},
		{Stats: route(map[int]float64{0: 300})},
		{Stats: route(map[int]float64{0: 400})},
	}
}

func TestExploreShare(t *testing.T) {
	cases := []struct {
		u        float64
		want     []int
		explored bool
	}{
		{0.5, []int{0, 1, 2, 3}, false},   // not below the share
		{0.1, []int{0, 1, 2, 3}, false},   // exactly the share: not below
		{0, []int{1, 0, 2, 3}, true},      // the first third of the share: runner-up
		{0.04, []int{2, 0, 1, 3}, true},   // second third
		{0.0999, []int{3, 0, 1, 2}, true}, // last third
	}
	for _, c := range cases {
		s := New(Config{ExplorationShare: 0.1, Rand: fixedRand(c.u)})
		order := make([]int, 4)
		explored := s.Rank(Request{Stream: true}, threeMeasured(), order, t0)
		assert.Equal(t, c.explored, explored, "u=%v", c.u)
		assert.Equal(t, c.want, order, "u=%v", c.u)
	}
}

func TestExploreShareIsAboutRight(t *testing.T) {
	// With the real random source, about the configured share explores.
	s := New(Config{ExplorationShare: 0.2})
	cands := threeMeasured()
	order := make([]int, len(cands))
	explored := 0
	const n = 20000
	for range n {
		if s.Rank(Request{Stream: true}, cands, order, t0) {
			explored++
		}
	}
	assert.InDelta(t, 0.2, float64(explored)/n, 0.02)
}

func TestExploreNeverWhenPinned(t *testing.T) {
	s := New(Config{ExplorationShare: 1, Rand: fixedRand(0)})
	cands := threeMeasured()
	for i := range cands {
		cands[i].Stats.(*memoryRoute).stats.lastSample = time.Time{} // stale too
	}
	order := make([]int, len(cands))
	assert.False(t, s.Rank(Request{Pinned: true}, cands, order, t0))
	assert.Equal(t, []int{0, 1, 2, 3}, order)
}

func TestExploreDisabled(t *testing.T) {
	s := New(Config{ExplorationShare: -1, Rand: fixedRand(0)})
	cands := threeMeasured()
	order := make([]int, len(cands))
	later := t0.Add(DefaultStaleAfter * 10) // everything is stale
	assert.False(t, s.Rank(Request{}, cands, order, later), "stale exploration is off too")
}

func TestExploreOnlyHealthyRoutes(t *testing.T) {
	s := New(Config{ExplorationShare: 1, Rand: fixedRand(0.999)})
	cands := threeMeasured()
	// Route 3 open, route 2 half-open with its probe in flight: only 0 and
	// 1 are healthy, so exploration can only pick 1.
	s.ObserveFailure(cands[3].Stats, Failure{Kind: FailureQuota}, t0)
	s.ObserveFailure(cands[2].Stats, Failure{Kind: FailureAuth}, t0.Add(-time.Minute))
	assert.True(t, s.Admit(cands[2].Stats, t0))
	order := make([]int, len(cands))
	assert.True(t, s.Rank(Request{Stream: true}, cands, order, t0))
	assert.Equal(t, []int{1, 0, 2, 3}, order)

	// With one healthy route left, nothing to explore.
	s.ObserveFailure(cands[1].Stats, Failure{Kind: FailureAuth}, t0)
	assert.False(t, s.Rank(Request{Stream: true}, cands, order, t0))
	assert.Equal(t, []int{0, 2, 1, 3}, order)
}

// A route that failed moments ago (below the threshold) is demoted and not
// explored; once a base cooldown has passed it ranks, and is explored, like
// any clean route again, which is how it gets the traffic that either clears
// its failures or opens its breaker.
func TestExploreSkipsRecentlyFailedRoutes(t *testing.T) {
	s := New(Config{ExplorationShare: 1, Rand: fixedRand(0)})
	cands := threeMeasured()[:2]
	s.ObserveFailure(cands[0].Stats, Failure{}, t0)
	order := make([]int, 2)
	assert.False(t, s.Rank(Request{Stream: true}, cands, order, t0))
	assert.Equal(t, []int{1, 0}, order, "the failed route ranks after the clean one")

	later := t0.Add(DefaultCooldownBase)
	assert.True(t, s.Rank(Request{Stream: true}, cands, order, later))
	assert.Equal(t, []int{1, 0}, order, "back in the clean tier: best is 0, exploration moves 1 up front")
}

func TestExploreNotWhenBestUnmeasured(t *testing.T) {
	s := New(Config{ExplorationShare: 1, Rand: fixedRand(0)})
	cands := append([]Candidate{{Stats: NewRoute()}}, threeMeasured()...)
	order := make([]int, len(cands))
	assert.False(t, s.Rank(Request{}, cands, order, t0), "the unmeasured route first is exploring already")
	assert.Equal(t, []int{0, 1, 2, 3, 4}, order)
}

func TestExploreStaleClaimedOnce(t *testing.T) {
	s := New(Config{ExplorationShare: 0.5, Rand: fixedRand(0.9)}) // the share never fires
	cands := threeMeasured()
	fresh := t0.Add(DefaultStaleAfter + time.Second)
	// Routes 0 and 1 are fresh; 2 and 3 have not been measured since t0.
	s.ObserveSuccess(cands[0].Stats, 0, streamed(100*time.Millisecond), fresh)
	s.ObserveSuccess(cands[1].Stats, 0, streamed(200*time.Millisecond), fresh)
	req := Request{Stream: true}
	order := make([]int, len(cands))

	assert.True(t, s.Rank(req, cands, order, fresh))
	assert.Equal(t, []int{2, 0, 1, 3}, order, "the first stale route")
	assert.True(t, s.Rank(req, cands, order, fresh))
	assert.Equal(t, []int{3, 0, 1, 2}, order, "2 is claimed: the next stale route")
	assert.False(t, s.Rank(req, cands, order, fresh.Add(time.Second)), "both claimed")
	assert.Equal(t, []int{0, 1, 2, 3}, order)

	// The claimed exploration of 2 failed to produce a sample: a new claim
	// only once StaleAfter has passed since.
	assert.False(t, s.Rank(req, cands, order, fresh.Add(DefaultStaleAfter-time.Second)))
	assert.True(t, s.Rank(req, cands, order, fresh.Add(DefaultStaleAfter)))
	assert.Equal(t, 2, order[0])
}

func TestExploreNeverUnderPrice(t *testing.T) {
	// A Price client chose cost: no exploration sends it to a pricier
	// vendor, not even to measure one that was never measured.
	s := New(Config{ExplorationShare: 1, Rand: fixedRand(0)})
	cands := []Candidate{
		{Stats: route(map[int]float64{0: 100}), Price: priced(1, 1)},
		{Stats: NewRoute(), Price: priced(2, 2)},
		{Stats: route(map[int]float64{0: 50}), Price: priced(3, 3)},
	}
	order := make([]int, len(cands))
	assert.False(t, s.Rank(Request{Strategy: Price}, cands, order, t0.Add(time.Hour)))
	assert.Equal(t, []int{0, 1, 2}, order)
}

func TestExploreStaleClaimRace(t *testing.T) {
	s := New(Config{ExplorationShare: 0.5, Rand: fixedRand(0.9)})
	cands := threeMeasured()[:2]
	later := t0.Add(DefaultStaleAfter + time.Second)
	s.ObserveSuccess(cands[0].Stats, 0, streamed(100*time.Millisecond), later)

	var explored atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			order := make([]int, len(cands))
			if s.Rank(Request{Stream: true}, cands, order, later) {
				explored.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), explored.Load(), "one request refreshes a stale route, not all")
}

func TestProbeHalfOpenFirst(t *testing.T) {
	s := New(Config{ExplorationShare: -1})
	cands := threeMeasured()
	open := cands[0].Stats // the fastest, failed a while ago
	s.ObserveFailure(open, Failure{Kind: FailureAuth}, t0)
	during := t0.Add(time.Second)
	after := t0.Add(DefaultCooldownBase)
	order := make([]int, len(cands))

	assert.False(t, s.Rank(Request{Stream: true}, cands, order, during))
	assert.Equal(t, []int{1, 2, 3, 0}, order, "open: last")

	// Half-open with no probe in flight: this request is the probe, even
	// when pinned (a probe is no exploration).
	for _, pinned := range []bool{false, true} {
		assert.True(t, s.Rank(Request{Stream: true, Pinned: pinned}, cands, order, after))
		assert.Equal(t, []int{0, 1, 2, 3}, order)
	}

	// Once Admit let the probe through, the others rank it after the
	// closed routes.
	assert.True(t, s.Admit(open, after))
	assert.False(t, s.Rank(Request{Stream: true}, cands, order, after))
	assert.Equal(t, []int{1, 2, 3, 0}, order)

	// The probe succeeds: the route is back in its place.
	s.ObserveSuccess(open, 0, streamed(100*time.Millisecond), after.Add(time.Second))
	assert.False(t, s.Rank(Request{Stream: true}, cands, order, after.Add(time.Second)))
	assert.Equal(t, []int{0, 1, 2, 3}, order)
}

func TestProbeAlreadyFirst(t *testing.T) {
	s := New(Config{})
	r := route(map[int]float64{0: 100})
	s.ObserveFailure(r, Failure{Kind: FailureAuth}, t0)
	order := make([]int, 1)
	assert.False(t, s.Rank(Request{}, []Candidate{{Stats: r}}, order, t0.Add(time.Hour)), "nothing moved")
}
