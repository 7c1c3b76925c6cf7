package selector_test

import (
	"fmt"
	"time"

	"github.com/caddy-llm/llmrouter/selector"
)

func ExampleRank() {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	store := selector.NewMemoryStore() // a real caller uses selector.Shared

	// At provision time: look up each route's stats once.
	openai := store.Route("openai/gpt-4o")
	azure := store.Route("azure/gpt-4o")
	cands := []selector.Candidate{
		{Stats: openai, Price: selector.Pricing{Input: 2.5, Output: 10, Known: true}},
		{Stats: azure, Price: selector.Pricing{Input: 2.5, Output: 10, Known: true}},
	}

	// Per request: estimate the prompt size, rank, then try routes in order.
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"Hello!"}]}`)
	req := selector.Request{Strategy: selector.Perf, PromptTokens: selector.EstimatePromptTokens(body)}
	order := make([]int, len(cands))
	selector.Rank(req, cands, order, now)
	fmt.Println(order) // nothing measured yet: config order

	// After each attempt: report what happened.
	bucket := selector.BucketOf(req.PromptTokens)
	openai.ObserveLatency(bucket, 900*time.Millisecond, now)
	azure.ObserveLatency(bucket, 400*time.Millisecond, now)
	selector.Rank(req, cands, order, now)
	fmt.Println(order)

	// A failure sends a route to the back for its cooldown.
	azure.ObserveFailure(now)
	selector.Rank(req, cands, order, now)
	fmt.Println(order)
	// Output:
	// [0 1]
	// [1 0]
	// [0 1]
}
