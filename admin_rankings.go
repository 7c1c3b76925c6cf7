package llmrouter

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-llm/llmrouter/selector"
)

// DefaultRankPromptTokens is the prompt size /llm_router/stats ranks for
// when the query names none: a short chat turn, the first size bucket.
const DefaultRankPromptTokens = 256

// rankQuery is the request the rankings of /llm_router/stats are made for:
// a chat completion of PromptTokens (query `prompt_tokens`), streamed
// unless the query says `stream=false`.
type rankQuery struct {
	PromptTokens int  `json:"prompt_tokens"`
	Stream       bool `json:"stream"`
}

// parseRankQuery reads the rankings' request from the stats query.
func parseRankQuery(v url.Values) (rankQuery, error) {
	q := rankQuery{PromptTokens: DefaultRankPromptTokens, Stream: true}
	if s := v.Get("prompt_tokens"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return q, fmt.Errorf("prompt_tokens: want a number of tokens, 0 or more, got %q", s)
		}
		q.PromptTokens = n
	}
	if s := v.Get("stream"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return q, fmt.Errorf("stream: want true or false, got %q", s)
		}
		q.Stream = b
	}
	return q, nil
}

// modelRanking is how the router ranks one model's vendors right now, for
// each strategy.
type modelRanking struct {
	Model    string            `json:"model"`
	Rankings []strategyRanking `json:"rankings"`
}

// strategyRanking is the order of the vendors for one strategy, best first.
type strategyRanking struct {
	Routing string         `json:"routing"`
	Vendors []rankedVendor `json:"vendors"`
}

// describeRankings ranks every model's vendors of the live handlers for
// each strategy, as a request q would be ranked at now. A model two
// handlers serve with the same vendors appears once.
//
// It ranks as a pinned request does: without exploration, which would be
// a random draw, and a claim on a stale route meant for real traffic. What
// the router does for every request (health tiers, the half-open probe
// first) is there.
func describeRankings(routers []*LLMRouter, q rankQuery, now time.Time) []modelRanking {
	out := []modelRanking{}
	seen := make(map[string]bool)
	for _, h := range routers {
		for _, model := range h.table.models {
			routes := h.table.byModel[model]
			ids := make([]string, len(routes))
			for i, rt := range routes {
				ids[i] = rt.vendor.ID()
			}
			key := model + "\x00" + strings.Join(ids, "\x00")
			if seen[key] {
				continue
			}
			seen[key] = true
			mr := modelRanking{Model: model}
			for _, name := range selector.StrategyNames() {
				s, _ := selector.ParseStrategy(name)
				req := selector.Request{Strategy: s, PromptTokens: q.PromptTokens, Stream: q.Stream, Pinned: true}
				scores := make([]selector.Score, len(routes))
				ranked, _ := h.rank(req, routes, now, make([]*route, 0, len(routes)), scores)
				sr := strategyRanking{Routing: name, Vendors: make([]rankedVendor, len(ranked))}
				for i, rt := range ranked {
					sr.Vendors[i] = rankedFrom(rt.vendor.ID(), scores[i])
				}
				mr.Rankings = append(mr.Rankings, sr)
			}
			out = append(out, mr)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}

// rankedFrom describes a ranked vendor from its score; the selector writes
// -1 for a prediction it cannot make.
func rankedFrom(vendor string, sc selector.Score) rankedVendor {
	rv := rankedVendor{Vendor: vendor, Tier: sc.Tier}
	if sc.PredictedMS >= 0 {
		ms := sc.PredictedMS
		rv.PredictedMS = &ms
	}
	if sc.ExpectedCostUSD >= 0 {
		usd := sc.ExpectedCostUSD
		rv.ExpectedCostUSD = &usd
	}
	return rv
}
