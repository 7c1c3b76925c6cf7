package llmrouter

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// Defaults of the hedge block.
const (
	DefaultHedgeQuantile = 0.9
	DefaultHedgeBudget   = 0.05
)

// HedgeConfig turns on hedged requests: when a chat request's first
// vendor has not produced its first token by the time it usually has (a
// quantile of its predicted time to first token for this prompt size), the
// router starts the same request on the next healthy vendor, keeps the
// answer that starts first and cancels the other at once. The client is
// billed for the winner only; what the loser consumed is absorbed.
//
// Hedged attempts always stream from the vendor, since cancelling a stream
// is what stops a vendor's generation: a client that asked for one JSON
// answer gets the winner's stream assembled into it.
//
// Never hedged: requests that pin a vendor or allow no fallback, `price`
// routing, requests sent to explore a vendor, and requests whose
// max_cost_usd leaves no room for a second attempt.
type HedgeConfig struct {
	// The quantile of the first vendor's predicted time to first token
	// after which the hedge starts, from 0.5 to 0.999. Default: 0.9 (p90).
	Quantile float64 `json:"quantile,omitempty"`

	// Bounds on the hedge delay. Default: none (the first-byte timeout
	// still applies).
	Min caddy.Duration `json:"min,omitempty"`
	Max caddy.Duration `json:"max,omitempty"`

	// Extra attempts a request may start. Default and only value: 1.
	MaxExtra int `json:"max_extra,omitempty"`

	// The largest share of a model's requests, over a sliding minute, that
	// may be hedged, from 0 to 1. Default: 0.05.
	Budget *float64 `json:"budget,omitempty"`
}

// hedger is HedgeConfig provisioned, with each model's budget window.
type hedger struct {
	quantile float64
	min, max time.Duration
	budget   float64
	windows  map[string]*hedgeWindow // by model; read-only after provisioning
}

// newHedger checks cfg and returns nil when hedging is off.
func newHedger(cfg *HedgeConfig, table *routeTable) (*hedger, error) {
	if cfg == nil {
		return nil, nil
	}
	h := &hedger{quantile: cfg.Quantile, min: time.Duration(cfg.Min), max: time.Duration(cfg.Max),
		budget: DefaultHedgeBudget, windows: make(map[string]*hedgeWindow, len(table.models))}
	if h.quantile == 0 {
		h.quantile = DefaultHedgeQuantile
	}
	if h.quantile < 0.5 || h.quantile > 0.999 || math.IsNaN(h.quantile) {
		return nil, fmt.Errorf("after: want a quantile from p50 to p99.9, got %g", h.quantile)
	}
	if h.min < 0 || h.max < 0 || (h.max > 0 && h.max < h.min) {
		return nil, fmt.Errorf("min and max: want 0 <= min <= max, got %s and %s", h.min, h.max)
	}
	if cfg.MaxExtra != 0 && cfg.MaxExtra != 1 {
		return nil, fmt.Errorf("max: only 1 extra attempt is supported, got %d", cfg.MaxExtra)
	}
	if cfg.Budget != nil {
		h.budget = *cfg.Budget
	}
	if h.budget < 0 || h.budget > 1 || math.IsNaN(h.budget) {
		return nil, fmt.Errorf("budget: want a share from 0 to 1, got %g", h.budget)
	}
	for _, model := range table.models {
		h.windows[model] = new(hedgeWindow)
	}
	return h, nil
}

// hedgeWindow counts a model's requests and hedges over a sliding minute:
// the current minute's counts plus the previous minute's, weighted by how
// much of it the window still covers.
type hedgeWindow struct {
	mu                  sync.Mutex
	start               time.Time // of the current minute
	requests, hedges    float64   // in the current minute
	prevReqs, prevHedge float64   // in the previous one
}

const hedgeWindowSize = time.Minute

// roll moves the window to now. The caller holds mu.
func (w *hedgeWindow) roll(now time.Time) {
	switch elapsed := now.Sub(w.start); {
	case elapsed < hedgeWindowSize:
	case elapsed < 2*hedgeWindowSize:
		w.prevReqs, w.prevHedge = w.requests, w.hedges
		w.requests, w.hedges = 0, 0
		w.start = w.start.Add(hedgeWindowSize)
	default:
		w.prevReqs, w.prevHedge, w.requests, w.hedges = 0, 0, 0, 0
		w.start = now
	}
}

// request counts one request of the model.
func (w *hedgeWindow) request(now time.Time) {
	w.mu.Lock()
	w.roll(now)
	w.requests++
	w.mu.Unlock()
}

// take reports whether one more hedge stays within share of the window's
// requests, and counts it if so.
func (w *hedgeWindow) take(share float64, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.roll(now)
	weight := 1 - float64(now.Sub(w.start))/float64(hedgeWindowSize)
	requests := w.requests + w.prevReqs*weight
	hedges := w.hedges + w.prevHedge*weight
	if hedges+1 > share*requests {
		return false
	}
	w.hedges++
	return true
}

// hedgePlan is the plan's hedge: when to start it; zero when the request is
// not hedged.
type hedgePlan struct {
	delay  time.Duration
	window *hedgeWindow
}

// planHedge decides whether the request may be hedged, and when.
func (h *LLMRouter) planHedge(p *plan, now time.Time) {
	if h.hedge == nil {
		return
	}
	w := h.hedge.windows[p.model]
	if w == nil {
		return
	}
	w.request(now)
	if !hedgeable(p) {
		return
	}
	delay, ok := h.selector.PredictTTFT(p.ranked[0].stats, p.promptTokens, h.hedge.quantile, now)
	if !ok {
		return // nothing learned yet: no basis to call the first vendor slow
	}
	delay = max(delay, h.hedge.min)
	if h.hedge.max > 0 {
		delay = min(delay, h.hedge.max)
	}
	if delay <= 0 || (p.ttftTimeout > 0 && delay >= p.ttftTimeout) {
		return
	}
	p.hedge = hedgePlan{delay: delay, window: w}
}

// hedgeable reports whether a request may be hedged at all: streamed or
// not (hedgeanswer.go), but only chat completions. A stateful request (the
// Responses API's previous_response_id or store, when the router serves
// it) must not run twice: add it here.
func hedgeable(p *plan) bool {
	return p.endpoint == vendors.ChatCompletions && !p.sreq.Pinned && !p.explored &&
		p.strategy != selector.Price && len(p.ranked) >= 2 && p.maxTries != 1
}

// hedgeRun is what became of a request's hedge.
type hedgeRun struct {
	started bool // a second attempt started
	won     bool // the second attempt's answer reached the client
	decided bool // one of them reached the client
	after   time.Duration

	results chan legResult        // both legs report here
	legs    int                   // legs whose result is not read yet
	cancels [2]context.CancelFunc // each leg's context
	// streamed is the request the legs send when the client asked for a
	// JSON answer (hedgeanswer.go); nil for a streamed request.
	streamed *streamedRequest
}

// legResult is how one leg of a hedged race ended.
type legResult struct {
	leg  int
	rt   *route
	resp *http.Response
	err  error
	o    attemptOutcome
}

// wasStarted reports whether a hedge started; hr may be nil.
func (hr *hedgeRun) wasStarted() bool { return hr != nil && hr.started }

// headerValue is X-LLM-Hedged: whether the hedge won, and after how long
// it started.
func (hr *hedgeRun) headerValue() string {
	verdict := "lost"
	if hr.won {
		verdict = "won"
	}
	return verdict + "; after_ms=" + strconv.FormatInt(hr.after.Milliseconds(), 10)
}

// hedged runs the first attempt of a hedged request: the route reverse_proxy
// selected (st.attempts.current) as one leg, and if it has not committed
// after the plan's delay, the next healthy route as a second leg. The first
// leg to commit (or to get a vendor's refusal of the request) is the
// answer and the other is cancelled at once; its result is read when the
// request is settled (collectHedge). A leg that fails leaves the race to
// the other; when both failed, the last error goes to reverse_proxy, which
// fails over as after any attempt.
//
// The legs run in goroutines of their own but only read the request's
// state: everything they did is written into it here, in the request's
// goroutine (requestState.record), so the guarantees of one attempt at a
// time hold: one answer reaches the client, it alone is billed, and
// reverse_proxy sees one RoundTrip.
func (t *attemptTransport) hedged(req *http.Request, st *requestState) (*http.Response, error) {
	hr := &hedgeRun{results: make(chan legResult, 2)}
	st.attempts.hedge = hr
	if !st.plan.stream {
		var err error
		if hr.streamed, err = newStreamedRequest(st.plan.body); err != nil {
			// Not reached: the body was validated. Without a streamed
			// request, the attempt is an ordinary one.
			rt := st.attempts.current
			var o attemptOutcome
			resp, err := t.try(req, st, rt, &o, nil)
			st.record(rt, &o)
			return resp, err
		}
	}
	t.startLeg(req, st, 0, st.attempts.current)
	timer := time.NewTimer(st.plan.hedge.delay)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			if second := t.router.pickHedge(st, time.Now()); second != nil {
				hr.started, hr.after = true, st.plan.hedge.delay
				routerMetrics.hedges.WithLabelValues(st.plan.model, "started").Inc()
				t.startLeg(req, st, 1, second)
			}
		case res := <-hr.results:
			hr.legs--
			if res.resp == nil {
				st.record(res.rt, &res.o)
				if hr.legs == 0 {
					return nil, res.err
				}
				continue // the other leg may still answer
			}
			hr.decided, hr.won = true, res.leg == 1
			if hr.legs > 0 {
				hr.cancels[1-res.leg]() // the loser stops now
			}
			if hr.started {
				result := "lost"
				if hr.won {
					result = "won"
				}
				routerMetrics.hedges.WithLabelValues(st.plan.model, result).Inc()
			}
			if hr.streamed != nil && res.o.answered != nil {
				if err := t.assembleAnswer(&res); err != nil {
					st.record(res.rt, &res.o)
					return nil, err
				}
			}
			st.attempts.current = res.rt
			st.record(res.rt, &res.o)
			return res.resp, nil
		}
	}
}

// startLeg starts one leg of a hedged race on rt.
func (t *attemptTransport) startLeg(req *http.Request, st *requestState, leg int, rt *route) {
	hr := st.attempts.hedge
	ctx, cancel := context.WithCancel(req.Context())
	hr.cancels[leg] = cancel
	hr.legs++
	legReq := req.WithContext(ctx)
	go func() {
		res := legResult{leg: leg, rt: rt}
		res.resp, res.err = t.try(legReq, st, rt, &res.o, hr.streamed)
		hr.results <- res
	}()
}

// pickHedge returns the route of the hedge, or nil when there is none to
// take: the next candidate that is available and healthy, when the
// request has attempts left, the model's hedge budget has room and the
// request's max_cost_usd covers both attempts' worst cases.
func (h *LLMRouter) pickHedge(st *requestState, now time.Time) *route {
	p, a := &st.plan, &st.attempts
	if p.maxTries > 0 && a.tries >= p.maxTries {
		return nil
	}
	first := a.current
	for a.next < len(p.ranked) {
		rt := p.ranked[a.next]
		if !rt.upstream.Available() || rt.vendor == first.vendor {
			a.next++
			continue
		}
		var firstWorst float64
		if p.prefs != nil && p.prefs.maxCost.Set {
			firstWorst, _ = p.worstCost(first, now)
		}
		if !st.withinCost(rt, firstWorst, now) || !p.hedge.window.take(h.hedge.budget, now) {
			return nil
		}
		if !h.selector.Admit(rt.stats, now) {
			a.next++
			a.setAside = append(a.setAside, rt)
			continue
		}
		a.next++
		a.tries++
		return rt
	}
	return nil
}

// collectHedge waits for the losing leg of a hedged race, which was
// cancelled when the other answered, and absorbs what it consumed: the
// usage it metered, or at least its prompt at the input price. It is never
// billed. A leg that failed on its own before it was cancelled is recorded
// like any failed attempt.
func (st *requestState) collectHedge() {
	hr := st.attempts.hedge
	for ; hr.legs > 0; hr.legs-- {
		res := <-hr.results
		used := res.o.used
		switch {
		case res.o.answered != nil:
			used = res.o.answered.abandon()
		case res.o.refusal != nil:
			res.o.refusal.Body.Close()
		}
		if res.o.failed {
			st.attempts.failed = append(st.attempts.failed, res.o.failure)
		}
		if used.PromptTokens == 0 {
			used.PromptTokens = st.plan.promptTokens
		}
		st.result.absorbLoser(res.rt, used)
	}
	for _, cancel := range hr.cancels {
		if cancel != nil {
			cancel()
		}
	}
}

// absorbLoser adds a hedge loser's consumption to what the router absorbs,
// estimated tokens included: a cancelled stream reports no usage, but the
// vendor was sent the prompt.
func (r *result) absorbLoser(rt *route, u billing.Usage) {
	u.Estimated = false
	r.absorb(rt, u)
}
