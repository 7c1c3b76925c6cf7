package selector

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestConcurrentObserveAndRank is meant for -race: observers and rankers hit
// the same RouteStats at once.
func TestConcurrentObserveAndRank(t *testing.T) {
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
				s := st.Route(keys[(w+r)%len(keys)])
				switch r % 4 {
				case 0, 1:
					s.ObserveLatency(r%NumBuckets, time.Duration(50+w*10+r%7)*time.Millisecond, now)
				case 2:
					s.ObserveCompletion(100+r, now)
				case 3:
					if r%40 == 3 {
						s.ObserveFailure(now)
					}
					_ = s.Snapshot(now)
				}
			}
		})
		wg.Go(func() {
			order := make([]int, len(cands))
			for r := range rounds {
				now := t0.Add(time.Duration(r) * time.Millisecond)
				req := Request{Strategy: Strategy(r % 3), PromptTokens: r * 37}
				Rank(req, cands, order, now)
				assert.ElementsMatch(t, []int{0, 1, 2, 3}, order)
			}
		})
	}
	wg.Wait()
}
