package llmrouter

import (
	"sync"
	"time"
	"unicode/utf8"
)

// maxDecisions is how many notable decisions the router keeps for the
// dashboard (`decisions` in /llm_router/stats).
const maxDecisions = 100

// maxDecisionMessage bounds a failed attempt's message in a kept decision:
// enough to say what the vendor said, not a vendor's whole error page.
const maxDecisionMessage = 300

// decision is one request that failed over or broke off, as the dashboard
// shows it: what was asked, which vendors were tried and why they failed.
// It holds no prompt or answer text and nothing of the client's request
// but the model and the routing it asked for.
type decision struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id"`
	Client    string    `json:"client,omitempty"` // the ledger's name for it
	Model     string    `json:"model"`
	Routing   string    `json:"routing"`
	Vendor    string    `json:"vendor"` // the vendor that served it; "" if none did
	Outcome   string    `json:"outcome"`
	Attempts  int       `json:"attempts"`
	// Ranked is the order the router tried the candidates in.
	Ranked         []rankedVendor  `json:"ranked"`
	FailedAttempts []attemptRecord `json:"failed_attempts"`
	TTFTMillis     float64         `json:"ttft_ms"`
	DurationMillis float64         `json:"duration_ms"`
}

// rankedVendor is one candidate of a ranking: the vendor and how the
// selector saw it (the tier and predictions are known only when the
// ranking was explained).
type rankedVendor struct {
	Vendor          string   `json:"vendor"`
	Tier            string   `json:"tier,omitempty"`
	PredictedMS     *float64 `json:"predicted_ms,omitempty"`
	ExpectedCostUSD *float64 `json:"expected_cost_usd,omitempty"`
}

// decisionRing keeps the last maxDecisions decisions, process-wide (they
// outlive a reload, as the metrics do). Only notable requests are added,
// which are rare, so a mutex is all it needs.
type decisionRing struct {
	mu   sync.Mutex
	buf  [maxDecisions]decision
	next int // where the next one goes
	n    int // how many are kept
}

var recentDecisions decisionRing

func (r *decisionRing) add(d decision) {
	r.mu.Lock()
	r.buf[r.next] = d
	r.next = (r.next + 1) % len(r.buf)
	r.n = min(r.n+1, len(r.buf))
	r.mu.Unlock()
}

// list returns the kept decisions, newest first.
func (r *decisionRing) list() []decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]decision, 0, r.n)
	for i := 1; i <= r.n; i++ {
		out = append(out, r.buf[(r.next-i+len(r.buf))%len(r.buf)])
	}
	return out
}

// newDecision describes a settled request for the ring.
func newDecision(st *requestState, start time.Time, duration time.Duration, requestID, client, vendor string) decision {
	d := decision{
		Time: start.UTC(), RequestID: requestID, Client: client, Model: st.plan.model,
		Routing: st.plan.strategy.String(), Vendor: vendor, Outcome: st.result.outcome, Attempts: st.attempts.tries,
		Ranked:         make([]rankedVendor, len(st.plan.ranked)),
		FailedAttempts: make([]attemptRecord, len(st.attempts.failed)),
		TTFTMillis:     millis(st.result.ttft),
		DurationMillis: millis(duration),
	}
	for i, rt := range st.plan.ranked {
		d.Ranked[i] = rankedVendor{Vendor: rt.vendor.ID()}
		if i < len(st.plan.scores) {
			d.Ranked[i] = rankedFrom(rt.vendor.ID(), st.plan.scores[i])
		}
	}
	for i, a := range st.attempts.failed {
		a.Message = shorten(a.Message, maxDecisionMessage)
		d.FailedAttempts[i] = a
	}
	return d
}

// shorten cuts s to at most n bytes, at a character boundary, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
