package selector

import "sync"

// scratchCandidates is how many candidates Rank can score without
// allocating.
const scratchCandidates = 32

// rankScratch is the working memory of one Rank call: the request and the
// candidates' scores. Routes write their readings through an interface and
// strategies compare scores through function values, and escape analysis
// cannot follow a pointer through either: memory on Rank's stack handed to
// them would be moved to the heap on every call. So the memory lives on the
// heap, in a pool, and is handed from one Rank call to the next.
type rankScratch struct {
	req    Request
	scores [scratchCandidates]score
}

var scratchPool = sync.Pool{New: func() any { return new(rankScratch) }}

// getScratch returns working memory for one Rank call, holding req, and
// scores for n candidates; give it back with putScratch.
func getScratch(req *Request, n int) (*rankScratch, []score) {
	scr := scratchPool.Get().(*rankScratch)
	scr.req = *req
	if n <= len(scr.scores) {
		return scr, scr.scores[:n]
	}
	return scr, make([]score, n)
}

// putScratch gives scr back for the next Rank call.
func putScratch(scr *rankScratch) {
	scratchPool.Put(scr)
}
