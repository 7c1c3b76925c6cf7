package selector_test

import (
	"fmt"
	"time"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/selector"
)

func ExampleSelector() {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// At provision time: validate the config, build the Selector, and look
	// up each route's stats once (a real caller keeps one Store for the
	// process, so that a reload keeps them, and releases the routes of the
	// config it unloads).
	cfg := selector.Config{ExplorationShare: -1} // no exploration, for a stable output
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	sel := selector.New(cfg)
	store := selector.NewMemoryStore()
	openai := store.Route("openai/gpt-4o")
	azure := store.Route("azure/gpt-4o")
	cands := []selector.Candidate{
		{Stats: openai, Price: billing.Pricing{Input: 2.5, Output: 10, Known: true}},
		{Stats: azure, Price: billing.Pricing{Input: 2.5, Output: 10, Known: true}},
	}

	// Per request: estimate the prompt size from the body's top-level
	// members (the router feeds them as its validating pass meets them),
	// and rank.
	var prompt selector.PromptEstimator
	prompt.Member([]byte("messages"), []byte(`[{"role":"user","content":"Hello!"}]`))
	req := selector.Request{Strategy: selector.Perf, PromptTokens: prompt.Tokens(), Stream: true}
	order := make([]int, len(cands))
	sel.Rank(req, cands, order, now)
	fmt.Println(order) // nothing measured yet: config order

	// Try the routes in order, asking Admit first, and report each attempt.
	bucket := selector.BucketOf(req.PromptTokens)
	sel.ObserveSuccess(openai, bucket, selector.Sample{Stream: true, FirstToken: 900 * time.Millisecond, Total: 3 * time.Second, CompletionTokens: 120}, now)
	sel.ObserveSuccess(azure, bucket, selector.Sample{Stream: true, FirstToken: 400 * time.Millisecond, Total: 2 * time.Second, CompletionTokens: 120}, now)
	sel.Rank(req, cands, order, now)
	fmt.Println(order)

	// A quota failure opens azure's breaker for an hour: it ranks last and
	// is not admitted.
	sel.ObserveFailure(azure, selector.Failure{Kind: selector.FailureQuota}, now)
	sel.Rank(req, cands, order, now)
	fmt.Println(order, sel.Admit(azure, now), sel.Snapshot(azure, now).Breaker)
	// Output:
	// [0 1]
	// [1 0]
	// [0 1] false open
}
