package selector

import "time"

// pickExploration returns the position in order of the route Rank should
// move to the front (see Rank), or -1 for none. order is sorted, so the
// healthy routes lead it and the half-open ones follow them.
func (s *Selector) pickExploration(req *Request, st *strategyDef, cands []Candidate, scores []score, order []int, now time.Time) int {
	healthy := 0
	for healthy < len(order) && scores[order[healthy]].tier <= tierFailing {
		healthy++
	}
	for p := healthy; p < len(order); p++ {
		sc := &scores[order[p]]
		if sc.tier != tierHalfOpen {
			break
		}
		if sc.ProbeFree {
			return p
		}
	}

	share := s.cfg.ExplorationShare
	if req.Pinned || !st.explores || share < 0 || healthy < 2 || !scores[order[0]].Measured {
		// An unmeasured route first is being explored already.
		return -1
	}
	// Only clean routes are explored: one that failed since its last
	// success has told us enough for now, and the breaker decides when it
	// gets traffic again.
	clean := 0
	for clean < healthy && scores[order[clean]].tier == tierClean {
		clean++
	}
	if clean < 2 {
		return -1
	}
	for p := 1; p < clean; p++ {
		i := order[p]
		// A route without any sample counts as stale: under Price it may
		// never rank first on its own.
		if now.Sub(scores[i].LastSample) > s.cfg.StaleAfter && cands[i].Stats != nil &&
			cands[i].Stats.ClaimStaleExploration(now, s.cfg.StaleAfter) {
			return p
		}
	}
	if share > 0 {
		// One draw decides both whether to explore and whom: given u <
		// share, u/share is uniform in [0, 1).
		if u := s.rand(); u < share {
			return 1 + min(int(u/share*float64(clean-1)), clean-2)
		}
	}
	return -1
}
