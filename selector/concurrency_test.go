package selector

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestConcurrentUse is meant for -race: rankers, admitters, observers and
// snapshots hit the same Route at once, through one Selector.
func TestConcurrentUse(t *testing.T) {
	s := New(Config{ExplorationShare: 0.3, FailureThreshold: 2, CooldownBase: time.Millisecond})
	st := NewMemoryStore()
	keys := []string{"openai", "azure", "mistral", "groq"}
	cands := make([]Candidate, len(keys))
	for i, k := range keys {
		cands[i] = Candidate{Stats: st.Route(k), Price: priced(float64(i+1), 2)}
	}

	const workers, rounds = 4, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				now := t0.Add(time.Duration(r) * time.Millisecond)
				route := st.Route(keys[(w+r)%len(keys)])
				switch r % 4 {
				case 0, 1:
					s.ObserveSuccess(route, r%NumBuckets, Sample{
						Stream:           r%2 == 0,
						FirstToken:       time.Duration(50+w*10+r%7) * time.Millisecond,
						Total:            time.Duration(500+r%50) * time.Millisecond,
						CompletionTokens: 100 + r,
					}, now)
				case 2:
					s.ObserveFailure(route, Failure{Kind: FailureKind(r % 5)}, now)
				case 3:
					_ = s.Snapshot(route, now)
				}
			}
		})
		wg.Go(func() {
			order := make([]int, len(cands))
			for r := range rounds {
				now := t0.Add(time.Duration(r) * time.Millisecond)
				req := Request{Strategy: Strategy(r % 3), PromptTokens: r * 37, Stream: r%3 == 0}
				s.Rank(req, cands, order, now)
				assert.ElementsMatch(t, []int{0, 1, 2, 3}, order)
				for _, i := range order {
					if s.Admit(cands[i].Stats, now) {
						break
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestConcurrentProbeAdmitsOne: of many requests racing to try a half-open
// route, exactly one is let through.
func TestConcurrentProbeAdmitsOne(t *testing.T) {
	s := New(Config{})
	r := NewRoute()
	s.ObserveFailure(r, Failure{Kind: FailureAuth}, t0)
	after := t0.Add(DefaultCooldownBase)
	var admitted atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if s.Admit(r, after) {
				admitted.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), admitted.Load())
}

// BenchmarkRankObserveParallel ranks 10 routes and reports an outcome for
// the first, from every goroutine at once, on the same routes: the
// contention of a busy model. Run it with -cpu 1,2,... to see the scaling.
func BenchmarkRankObserveParallel(b *testing.B) {
	s := New(Config{})
	cands := benchCandidates(10)
	sm := Sample{Stream: true, FirstToken: 300 * time.Millisecond, Total: 2 * time.Second, CompletionTokens: 120}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		order := make([]int, len(cands))
		n := 0
		for pb.Next() {
			n++
			req := Request{Strategy: Strategy(n % 3), PromptTokens: 3000, Stream: n%2 == 0}
			s.Rank(req, cands, order, t0)
			r := cands[order[0]].Stats
			if s.Admit(r, t0) {
				if n%50 == 0 {
					s.ObserveFailure(r, Failure{}, t0)
				} else {
					s.ObserveSuccess(r, 2, sm, t0)
				}
			}
		}
	})
}
