package llmrouter_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// messagesBody is an Anthropic Messages request for model.
func messagesBody(model, extra string) string {
	body := `{"model":"` + model + `","max_tokens":200,"system":[{"type":"text","text":"Be terse.","cache_control":{"type":"ephemeral"}}],` +
		`"messages":[{"role":"user","content":"Say hello"}]`
	if extra != "" {
		body += "," + extra
	}
	return body + "}"
}

// messagesEventTypes returns the types of an Anthropic SSE stream's events,
// checking that each event's name is its data's type.
func messagesEventTypes(t *testing.T, sse string) []string {
	t.Helper()
	var types []string
	for _, ev := range strings.Split(strings.TrimSuffix(sse, "\n\n"), "\n\n") {
		name, data, ok := strings.Cut(ev, "\ndata: ")
		require.True(t, ok, ev)
		name = strings.TrimPrefix(name, "event: ")
		assert.Equal(t, name, gjson.Get(data, "type").String(), ev)
		types = append(types, name)
	}
	return types
}

// Claude Code's requests reach an anthropic vendor as they were sent (but
// the model and the key), streamed or not, and their usage is metered.
func TestMessagesPassthrough(t *testing.T) {
	claude := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Name: "claude", Reply: "Hello from Claude",
		InputTokens: 30, OutputTokens: 5, RequireKey: "sk-ant-router"})
	startRouter(t, routerBlock(nil, vendorBlock("anthropic", "anthropic", claude.URL(), "sk-ant-router",
		"model msg-claude as claude-sonnet-4-5 input 3 output 15")))

	resp, body := post(t, "/v1/messages", messagesBody("msg-claude", `"routing":"price"`),
		"X-Api-Key", "client-key", "Anthropic-Version", "2023-06-01", "Anthropic-Beta", "prompt-caching-2024-07-31")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "message", gjson.Get(body, "type").String())
	assert.Equal(t, "Hello from Claude", gjson.Get(body, "content.0.text").String())
	assert.Equal(t, "anthropic", resp.Header.Get("X-LLM-Vendor"))
	sent := claude.Requests()[0]
	assert.Equal(t, "sk-ant-router", sent.Header.Get("X-Api-Key"))
	assert.Equal(t, "prompt-caching-2024-07-31", sent.Header.Get("Anthropic-Beta"))
	assert.Equal(t, "claude-sonnet-4-5", gjson.GetBytes(sent.Body, "model").String())
	assert.Equal(t, "ephemeral", gjson.GetBytes(sent.Body, "system.0.cache_control.type").String())
	assert.False(t, gjson.GetBytes(sent.Body, "routing").Exists(), "the router's own field is cut")

	resp, body = post(t, "/v1/messages", messagesBody("msg-claude", `"stream":true`), "Anthropic-Version", "2023-06-01")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	types := messagesEventTypes(t, body)
	assert.Equal(t, "message_start", types[0])
	assert.Equal(t, "message_stop", types[len(types)-1])
	assert.Contains(t, body, `"text":"Hello"`)

	// The vendor's own error about the request: Anthropic's shape.
	resp, body = post(t, "/v1/messages", `{"model":"msg-claude","messages":[{"role":"user","content":"Hi"}]}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.JSONEq(t, `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}`, body)

	// count_tokens is the vendor's.
	resp, body = post(t, "/v1/messages/count_tokens", `{"model":"msg-claude","messages":[{"role":"user","content":"Hi"}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Greater(t, gjson.Get(body, "input_tokens").Int(), int64(1000), body)
	assert.Equal(t, "anthropic", resp.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, "/v1/messages/count_tokens", claude.Requests()[len(claude.Requests())-1].Path)
}

// Every other vendor takes Messages through its chat completions; a
// failure before the first token moves to the next vendor.
func TestMessagesTranslatedWithFailover(t *testing.T) {
	down := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Status: 529})
	gpt := fakevendor.Start(t, fakevendor.Options{Name: "gpt", Reply: "Hello from GPT"})
	startRouter(t, routerBlock(nil,
		vendorBlock("anthropic", "anthropic", down.URL(), "k", "model msg-mixed as claude-sonnet-4-5 input 1 output 1"),
		vendorBlock("gpt", "openai_compatible", gpt.URL(), "", "model msg-mixed as gpt-x input 5 output 5"),
	))
	resp, body := post(t, "/v1/messages", messagesBody("msg-mixed", `"stream":true,"routing":"price"`), "Anthropic-Version", "2023-06-01")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "gpt", resp.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, "2", resp.Header.Get("X-LLM-Attempts"))
	types := messagesEventTypes(t, body)
	assert.Equal(t, []string{"message_start", "ping", "content_block_start"}, types[:3])
	assert.Equal(t, []string{"content_block_stop", "message_delta", "message_stop"}, types[len(types)-3:])
	assert.NotContains(t, body, "[DONE]")
	chatSent := gpt.Requests()[0]
	assert.Equal(t, "gpt-x", gjson.GetBytes(chatSent.Body, "model").String())
	assert.Equal(t, "Be terse.", gjson.GetBytes(chatSent.Body, "messages.0.content").String())

	resp, body = post(t, "/v1/messages", messagesBody("msg-mixed", ""), "vendor", "gpt")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "message", gjson.Get(body, "type").String())
	assert.Equal(t, "end_turn", gjson.Get(body, "stop_reason").String())
	assert.NotEmpty(t, gjson.Get(body, "content.0.text").String())

	// count_tokens without a vendor that counts: the router's estimate.
	resp, body = post(t, "/v1/messages/count_tokens", `{"model":"msg-mixed","messages":[{"role":"user","content":"Hello there, how are you?"}]}`,
		"vendor", "gpt")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	n := gjson.Get(body, "input_tokens").Int()
	assert.True(t, n > 0 && n < 100, body)
}

// The router's own errors on the Messages surface are Anthropic's; every
// vendor overloaded is Anthropic's 529.
func TestMessagesErrorsAreAnthropicShaped(t *testing.T) {
	a := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Status: 529})
	b := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Status: 529})
	startRouter(t, routerBlock(nil,
		vendorBlock("a", "anthropic", a.URL(), "k", "model msg-busy"),
		vendorBlock("b", "anthropic", b.URL(), "k", "model msg-busy"),
	))
	resp, body := post(t, "/v1/messages", messagesBody("msg-busy", ""))
	assert.Equal(t, 529, resp.StatusCode, body)
	assert.Equal(t, "error", gjson.Get(body, "type").String())
	assert.Equal(t, "overloaded_error", gjson.Get(body, "error.type").String())
	assert.Len(t, gjson.Get(body, "error.attempts").Array(), 2)

	for _, c := range []struct {
		body, typ string
		status    int
	}{
		{`{"model":"nope","max_tokens":5,"messages":[]}`, "not_found_error", 404},
		{`{"max_tokens":5}`, "invalid_request_error", 400},
		{`{"model":`, "invalid_request_error", 400},
		{messagesBody("msg-busy", `"routing":"fastest"`), "invalid_request_error", 400},
	} {
		resp, body := post(t, "/v1/messages", c.body)
		assert.Equal(t, c.status, resp.StatusCode, body)
		assert.Equal(t, c.typ, gjson.Get(body, "error.type").String(), body)
		assert.Equal(t, "error", gjson.Get(body, "type").String())
	}
	req, _ := http.NewRequest(http.MethodGet, routerURL+"/v1/messages", nil)
	r, err := client.Do(req)
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, r.StatusCode)
}

// A path under the prefix that no surface serves is a 404 in the client's
// shape; GET /v1/models answers in Anthropic's shape to Anthropic clients.
func TestUnknownPathsAndAnthropicModels(t *testing.T) {
	gpt := fakevendor.Start(t, fakevendor.Options{Name: "gpt"})
	startRouter(t, routerBlock(nil, vendorBlock("gpt", "openai_compatible", gpt.URL(), "", "model msg-list")))

	resp, body := post(t, "/v1/files", `{}`)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"error":{"message":"Invalid URL (POST /v1/files): the router does not serve this path","type":"invalid_request_error","param":null,"code":"unknown_url"}}`, body)
	resp, body = post(t, "/v1/files", `{}`, "Anthropic-Version", "2023-06-01")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "not_found_error", gjson.Get(body, "error.type").String(), body)

	req, _ := http.NewRequest(http.MethodGet, routerURL+"/v1/models", nil)
	req.Header.Set("Anthropic-Version", "2023-06-01")
	r, err := client.Do(req)
	require.NoError(t, err)
	defer r.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, r.Body)
	assert.Equal(t, http.StatusOK, r.StatusCode)
	assert.Equal(t, "msg-list", gjson.Get(b.String(), "data.0.id").String(), b.String())
	assert.Equal(t, "model", gjson.Get(b.String(), "data.0.type").String())
	assert.False(t, gjson.Get(b.String(), "has_more").Bool())
}
