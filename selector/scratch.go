package selector

import "sync"

// scratchCandidates is how many candidates Rank can score without
// allocating.
const scratchCandidates = 32

// rankScratch is the working memory of one Rank call: the candidates'
// scores. Routes write their readings through an interface, and escape
// analysis cannot follow a pointer through one: memory on Rank's stack
// handed to it would be moved to the heap on every call. So the memory
// lives on the heap, in a pool, and is handed from one Rank call to the
// next.
type rankScratch struct {
	scores [scratchCandidates]score
}

var scratchPool = sync.Pool{New: func() any { return new(rankScratch) }}

// getScratch returns working memory for one Rank call, and scores for n
// candidates; give it back with putScratch.
func getScratch(n int) (*rankScratch, []score) {
	scr := scratchPool.Get().(*rankScratch)
	if n <= len(scr.scores) {
		return scr, scr.scores[:n]
	}
	return scr, make([]score, n)
}

// putScratch gives scr back for the next Rank call.
func putScratch(scr *rankScratch) {
	scratchPool.Put(scr)
}
