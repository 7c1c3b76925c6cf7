package llmrouter

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// What is never hedged.
func TestHedgeable(t *testing.T) {
	two := []*route{{}, {}}
	ok := plan{stream: true, endpoint: vendors.ChatCompletions, strategy: selector.Perf, ranked: two}
	assert.True(t, hedgeable(&ok))
	for name, change := range map[string]func(p *plan){
		"not streamed":          func(p *plan) { p.stream = false },
		"pinned or no fallback": func(p *plan) { p.sreq.Pinned = true },
		"price routing":         func(p *plan) { p.strategy = selector.Price },
		"an exploration":        func(p *plan) { p.explored = true },
		"one candidate":         func(p *plan) { p.ranked = two[:1] },
		"one attempt allowed":   func(p *plan) { p.maxTries = 1 },
		"not chat":              func(p *plan) { p.endpoint = vendors.Completions },
	} {
		p := ok
		change(&p)
		assert.False(t, hedgeable(&p), name)
	}
}
