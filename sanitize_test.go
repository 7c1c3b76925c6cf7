package llmrouter_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// The vendors' sanitizers take what they look for from the router's pass
// over the body (which top-level fields it has, whether a message has tool
// calls) instead of searching it: through the router, a replayed
// conversation still reaches OpenAI with its long tool call ids shortened
// and DeepSeek without OpenAI's own fields, with "routing" removed and the
// completion cap renamed; a body with none of them reaches OpenAI as sent.
func TestSanitizersThroughTheRouter(t *testing.T) {
	openai := fakevendor.Start(t, fakevendor.Options{Name: "openai"})
	deepseek := fakevendor.Start(t, fakevendor.Options{Name: "deepseek"})
	startRouter(t, routerBlock(nil,
		vendorBlock("openai", "openai", openai.URL(), "sk-o", "model replay-model"),
		vendorBlock("deepseek", "deepseek", deepseek.URL(), "sk-d", "model replay-model"),
	))

	long := "call_0123456789abcdef__thought__" + strings.Repeat("c2ln", 30)
	replay := `{"model":"replay-model","routing":"price","store":true,"user":"u1","max_completion_tokens":50,"messages":[` +
		`{"role":"user","content":"weather?"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"` + long + `","type":"function","function":{"name":"get","arguments":"{}"}}]},` +
		`{"role":"tool","tool_call_id":"` + long + `","content":"sunny"}]}`

	resp, answer := post(t, "/v1/chat/completions", replay, "vendor", "openai")
	require.Equal(t, http.StatusOK, resp.StatusCode, answer)
	sent := gjson.ParseBytes(openai.Requests()[0].Body)
	id := sent.Get("messages.1.tool_calls.0.id").String()
	assert.LessOrEqual(t, len(id), 40, "OpenAI's limit")
	assert.Equal(t, id, sent.Get("messages.2.tool_call_id").String(), "the result follows its call")
	assert.True(t, sent.Get("store").Bool(), "OpenAI's own field stays")
	assert.False(t, sent.Get("routing").Exists())

	resp, answer = post(t, "/v1/chat/completions", replay, "vendor", "deepseek")
	require.Equal(t, http.StatusOK, resp.StatusCode, answer)
	sent = gjson.ParseBytes(deepseek.Requests()[0].Body)
	for _, f := range []string{"store", "user", "routing", "max_completion_tokens"} {
		assert.False(t, sent.Get(f).Exists(), f)
	}
	assert.Equal(t, int64(50), sent.Get("max_tokens").Int(), "DeepSeek's name for the cap")
	assert.Equal(t, long, sent.Get("messages.1.tool_calls.0.id").String(), "DeepSeek takes long ids")

	plain := `{"model":"replay-model","messages":[{"role":"user","content":"mentions \"tool_call_id\" in its text"}]}`
	resp, answer = post(t, "/v1/chat/completions", plain, "vendor", "openai")
	require.Equal(t, http.StatusOK, resp.StatusCode, answer)
	assert.Equal(t, plain, string(openai.Requests()[1].Body), "nothing to rewrite: the client's bytes")
}
