package llmrouter

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-llm/llmrouter/internal/ledger"
	"github.com/caddy-llm/llmrouter/selector"
)

func init() {
	caddy.RegisterModule(adminStats{})
}

// adminStats serves `GET /llm_router/stats` on Caddy's admin endpoint: what
// every running llm_router handler has learned about its routes. Caddy loads
// every admin.api module by itself; there is nothing to configure.
type adminStats struct{}

// CaddyModule returns the Caddy module information.
func (adminStats) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.llm_router",
		New: func() caddy.Module { return new(adminStats) },
	}
}

// Routes returns the admin routes.
func (adminStats) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: "/llm_router/stats", Handler: caddy.AdminHandlerFunc(serveStats)},
		{Pattern: "/llm_router/usage", Handler: caddy.AdminHandlerFunc(serveUsage)},
		{Pattern: "/llm_router/", Handler: caddy.AdminHandlerFunc(serveDashboardAdmin)},
	}
}

// liveRouters are the provisioned handlers, for the admin API. A handler
// joins in Provision and leaves in Cleanup; during a reload old and new
// handlers overlap, and routes they share appear once.
var liveRouters = &routerSet{set: make(map[*LLMRouter]struct{})}

type routerSet struct {
	mu  sync.Mutex
	set map[*LLMRouter]struct{}
}

func (s *routerSet) add(h *LLMRouter) {
	s.mu.Lock()
	s.set[h] = struct{}{}
	s.mu.Unlock()
}

func (s *routerSet) remove(h *LLMRouter) {
	s.mu.Lock()
	delete(s.set, h)
	s.mu.Unlock()
}

func (s *routerSet) list() []*LLMRouter {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*LLMRouter, 0, len(s.set))
	for h := range s.set {
		out = append(out, h)
	}
	return out
}

// routeStats is one route in the admin API's answer.
type routeStats struct {
	Vendor               string        `json:"vendor"`
	Kind                 string        `json:"kind"`
	Model                string        `json:"model"`
	VendorModel          string        `json:"vendor_model"`
	Price                *priceInfo    `json:"price"`
	Breaker              string        `json:"breaker"`
	BreakerCause         string        `json:"breaker_cause,omitempty"` // why it is not closed: auth, not_found, connection, rate_limit, quota, server
	OpenUntil            *time.Time    `json:"open_until,omitempty"`
	Successes            int64         `json:"successes"`
	Failures             int64         `json:"failures"`
	ConsecutiveFailures  int           `json:"consecutive_failures"`
	DecodeTokensPerSec   float64       `json:"decode_tokens_per_sec"`
	MeanCompletionTokens float64       `json:"mean_completion_tokens"`
	LastSample           *time.Time    `json:"last_sample,omitempty"`
	Buckets              []bucketStats `json:"buckets"`
}

type bucketStats struct {
	// MaxPromptTokens is the bucket's upper bound; 0 for the last, unbounded one.
	MaxPromptTokens int     `json:"max_prompt_tokens"`
	TTFTMillis      float64 `json:"ttft_ms"`
	Samples         int     `json:"samples"`
}

// serveStats answers `GET /llm_router/stats`: every route's learned state,
// every client's spend, the limits, how each model's vendors rank now, and
// the latest notable decisions.
//
// Query parameters (both optional) describe the request the rankings are
// for: prompt_tokens (default DefaultRankPromptTokens) and stream (default
// true; a non-streaming client also waits for the decode).
func serveStats(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errMethodGet}
	}
	rq, err := parseRankQuery(r.URL.Query())
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
	}
	now := time.Now()
	seen := make(map[selector.Route]bool)
	out := struct {
		Routes  []routeStats         `json:"routes"`
		Clients []ledger.ClientSpend `json:"clients"`
		Limits  []clientLimits       `json:"limits,omitempty"`
		// Now is the server's clock, for the time left of open breakers.
		Now time.Time `json:"now"`
		// Models ranks each model's vendors for every strategy, for a
		// request as RankedFor describes it.
		RankedFor rankQuery      `json:"ranked_for"`
		Models    []modelRanking `json:"models"`
		// Decisions are the latest requests that failed over or broke
		// off, newest first.
		Decisions []decision `json:"decisions"`
	}{Routes: []routeStats{}, Clients: []ledger.ClientSpend{}, Now: now.UTC(), RankedFor: rq}
	for _, l := range liveLedgers() {
		clients, err := l.Clients(r.Context())
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: fmt.Errorf("reading the ledger: %v", err)}
		}
		out.Clients = append(out.Clients, clients...)
	}
	out.Limits = describeLimits()
	routers := liveRouters.list()
	out.Models = describeRankings(routers, rq, now)
	out.Decisions = recentDecisions.list()
	for _, h := range routers {
		for _, rt := range h.table.routes {
			if seen[rt.stats] {
				continue
			}
			seen[rt.stats] = true
			out.Routes = append(out.Routes, describeRoute(h.selector, rt, now))
		}
	}
	sort.Slice(out.Routes, func(i, j int) bool {
		a, b := out.Routes[i], out.Routes[j]
		if a.Model != b.Model {
			return a.Model < b.Model
		}
		return a.Vendor < b.Vendor
	})
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(out)
}

// liveLedgers returns the ledgers of the provisioned handlers, each once.
func liveLedgers() []ledger.Ledger {
	var out []ledger.Ledger
	for _, h := range liveRouters.list() {
		if h.ledger != nil && !slices.Contains(out, h.ledger) {
			out = append(out, h.ledger)
		}
	}
	return out
}

func describeRoute(sel *selector.Selector, rt *route, now time.Time) routeStats {
	snap := sel.Snapshot(rt.stats, now)
	rs := routeStats{
		Vendor:               rt.vendor.ID(),
		Kind:                 rt.vendor.Kind(),
		Model:                rt.model,
		VendorModel:          rt.vendorModel,
		Breaker:              snap.Breaker.String(),
		Successes:            snap.Successes,
		Failures:             snap.Failures,
		ConsecutiveFailures:  snap.ConsecutiveFailures,
		DecodeTokensPerSec:   snap.DecodeTokensPerSec,
		MeanCompletionTokens: snap.MeanCompletionTokens,
		Buckets:              make([]bucketStats, 0, selector.NumBuckets),
	}
	if rt.price.Known {
		rs.Price = &priceInfo{Input: rt.price.Input, Output: rt.price.Output, CachedInput: rt.price.CachedInput}
	}
	if snap.Breaker != selector.Closed {
		rs.BreakerCause = snap.Cause.String()
	}
	if !snap.OpenUntil.IsZero() && snap.OpenUntil.After(now) {
		rs.OpenUntil = &snap.OpenUntil
	}
	if !snap.LastSample.IsZero() {
		rs.LastSample = &snap.LastSample
	}
	for i, b := range snap.Buckets {
		rs.Buckets = append(rs.Buckets, bucketStats{MaxPromptTokens: selector.BucketLimit(i), TTFTMillis: b.TTFTMillis, Samples: b.Samples})
	}
	return rs
}

var errMethodGet = errors.New("method not allowed: use GET")

// Interface guard
var _ caddy.AdminRouter = (*adminStats)(nil)
