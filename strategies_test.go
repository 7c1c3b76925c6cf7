package llmrouter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/selector"
)

// The configuration references list every strategy the selector has, so
// that a new strategy cannot go undocumented.
func TestDocsListEveryStrategy(t *testing.T) {
	want := selector.StrategyNames()
	sort.Strings(want)
	line := regexp.MustCompile(`(?m)^(?://)?\s+routing\s+([a-z|-]+)`)
	for _, file := range []string{"README.md", "caddyfile.go"} {
		text, err := os.ReadFile(file)
		require.NoError(t, err)
		m := line.FindSubmatch(text)
		require.NotNil(t, m, "%s: no routing line", file)
		got := strings.Split(string(m[1]), "|")
		sort.Strings(got)
		assert.Equal(t, want, got, "%s: %s", file, m[0])
	}
}

// The messages that offer the strategies list them from the registry. With
// today's three they read, byte for byte, as they did before the registry:
// `routing: unknown strategy "fastest" (want perf, perf-avg or price)` and
// `invalid routing "fastest": use "perf", "perf-avg" or "price"` (the selector
// tests pin the list's format).
func TestStrategyErrorMessages(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	err := (&LLMRouter{Routing: "fastest"}).Provision(ctx)
	require.EqualError(t, err, `routing: unknown strategy "fastest" (want `+selector.StrategyChoices(false)+`)`)

	h := fuzzRouter(t)
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	_, err = h.inspect(req, opChat, []byte(`{"model":"gpt-4o","routing":"fastest","messages":[]}`), time.Now())
	var ce *clientError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, `invalid routing "fastest": use `+selector.StrategyChoices(true), ce.message)
	assert.Equal(t, codeInvalidRouting, ce.code)
}
