package fakevendor

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const anthropicTestBody = `{"model":"claude-test","max_tokens":100,"messages":[{"role":"user","content":"Hi"}]}`

// anthropicPost sends body to the fake's /v1/messages with the headers the
// real API needs (plus extra, which may remove them with "").
func anthropicPost(t *testing.T, v *AnthropicVendor, path, body string, extra map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, v.URL()+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("X-Api-Key", "sk-ant-test")
	for k, val := range extra {
		if val == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, val)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func anthropicDecodeJSON(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	return m
}

// anthropicEvent is one SSE event of the fake's stream.
type anthropicEvent struct {
	name string
	data map[string]any
}

func anthropicReadSSE(t *testing.T, r io.Reader) []anthropicEvent {
	t.Helper()
	var events []anthropicEvent
	var cur anthropicEvent
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.data != nil {
				events = append(events, cur)
			}
			cur = anthropicEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur.data), line)
		default:
			t.Fatalf("unexpected SSE line %q", line)
		}
	}
	require.NoError(t, sc.Err())
	for _, e := range events {
		assert.Equal(t, e.name, e.data["type"], "the event name is the data's type")
	}
	return events
}

func anthropicNames(events []anthropicEvent) []string {
	names := make([]string, len(events))
	for i, e := range events {
		names[i] = e.name
	}
	return names
}

func TestAnthropicFakeMessage(t *testing.T) {
	v := StartAnthropic(t, AnthropicOptions{Reply: "Hi there friend", InputTokens: 12, OutputTokens: 5,
		CacheReadTokens: 3, CacheCreationTokens: 2, Header: http.Header{"Retry-After": {"7"}}})
	resp := anthropicPost(t, v, "/v1/messages", anthropicTestBody, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, "7", resp.Header.Get("Retry-After"))
	assert.True(t, strings.HasPrefix(resp.Header.Get("Request-Id"), "req_fake"))

	m := anthropicDecodeJSON(t, resp)
	assert.True(t, strings.HasPrefix(m["id"].(string), "msg_fake"))
	delete(m, "id")
	want := map[string]any{
		"type": "message", "role": "assistant", "model": "claude-test",
		"content":     []any{map[string]any{"type": "text", "text": "Hi there friend"}},
		"stop_reason": "end_turn", "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": 12.0, "output_tokens": 5.0,
			"cache_read_input_tokens": 3.0, "cache_creation_input_tokens": 2.0},
	}
	assert.Equal(t, want, m)

	reqs := v.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, http.MethodPost, reqs[0].Method)
	assert.Equal(t, "/v1/messages", reqs[0].Path)
	assert.Equal(t, "2023-06-01", reqs[0].Header.Get("Anthropic-Version"))
	assert.Equal(t, "sk-ant-test", reqs[0].Header.Get("X-Api-Key"))
	assert.JSONEq(t, anthropicTestBody, string(reqs[0].Body))
	assert.Equal(t, 1, v.Count())
	v.Reset()
	assert.Equal(t, 0, v.Count())
}

func TestAnthropicFakeDefaults(t *testing.T) {
	v := StartAnthropic(t, AnthropicOptions{Name: "claude-fake"})
	m := anthropicDecodeJSON(t, anthropicPost(t, v, "/prefix/v1/messages", anthropicTestBody, nil))
	assert.Equal(t, []any{map[string]any{"type": "text", "text": "Hello from claude-fake."}}, m["content"])
	usage := m["usage"].(map[string]any)
	assert.Equal(t, float64(len(anthropicTestBody)/4), usage["input_tokens"])
	assert.Equal(t, 3.0, usage["output_tokens"], "one per word chunk")
}

func TestAnthropicFakeToolCall(t *testing.T) {
	v := StartAnthropic(t, AnthropicOptions{ToolCall: &AnthropicToolCall{ID: "toolu_1", Name: "get_weather",
		Input: `{"city":"Paris","unit":"celsius"}`}})
	m := anthropicDecodeJSON(t, anthropicPost(t, v, "/v1/messages", anthropicTestBody, nil))
	assert.Equal(t, []any{map[string]any{"type": "tool_use", "id": "toolu_1", "name": "get_weather",
		"input": map[string]any{"city": "Paris", "unit": "celsius"}}}, m["content"])
	assert.Equal(t, "tool_use", m["stop_reason"])

	// With a text before it, streamed.
	v.SetOptions(AnthropicOptions{Reply: "Let me check.", ToolCall: &AnthropicToolCall{Name: "get_weather",
		Input: `{"city":"Paris"}`}})
	body := strings.Replace(anthropicTestBody, `"max_tokens"`, `"stream":true,"max_tokens"`, 1)
	resp := anthropicPost(t, v, "/v1/messages", body, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	events := anthropicReadSSE(t, resp.Body)
	assert.Equal(t, []string{"message_start", "content_block_start", "ping",
		"content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop",
		"content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta",
		"content_block_stop", "message_delta", "message_stop"}, anthropicNames(events))
	start := events[7].data
	assert.EqualValues(t, 1, start["index"])
	block := start["content_block"].(map[string]any)
	assert.Equal(t, "tool_use", block["type"])
	assert.Equal(t, "get_weather", block["name"])
	assert.True(t, strings.HasPrefix(block["id"].(string), "toolu_"))
	var args strings.Builder
	for _, e := range events[8:12] {
		d := e.data["delta"].(map[string]any)
		assert.Equal(t, "input_json_delta", d["type"])
		args.WriteString(d["partial_json"].(string))
	}
	assert.Equal(t, `{"city":"Paris"}`, args.String())
	assert.Equal(t, "tool_use", events[13].data["delta"].(map[string]any)["stop_reason"])
}

func TestAnthropicFakeStream(t *testing.T) {
	v := StartAnthropic(t, AnthropicOptions{Reply: "Hello there you", InputTokens: 9, OutputTokens: 4,
		PerToken: 20 * time.Millisecond})
	body := strings.Replace(anthropicTestBody, `"max_tokens"`, `"stream":true,"max_tokens"`, 1)
	start := time.Now()
	resp := anthropicPost(t, v, "/v1/messages", body, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := anthropicReadSSE(t, resp.Body)
	assert.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond, "PerToken paces the deltas")

	assert.Equal(t, []string{"message_start", "content_block_start", "ping", "content_block_delta",
		"content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"},
		anthropicNames(events))
	msg := events[0].data["message"].(map[string]any)
	assert.Equal(t, "claude-test", msg["model"])
	assert.Equal(t, []any{}, msg["content"])
	assert.Nil(t, msg["stop_reason"])
	assert.EqualValues(t, 9, msg["usage"].(map[string]any)["input_tokens"])
	var text strings.Builder
	for _, e := range events[3:6] {
		text.WriteString(e.data["delta"].(map[string]any)["text"].(string))
	}
	assert.Equal(t, "Hello there you", text.String())
	assert.Equal(t, map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": "end_turn", "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": 4.0}}, events[7].data)
}

func TestAnthropicFakeStreamError(t *testing.T) {
	v := StartAnthropic(t, AnthropicOptions{Reply: "one two three", StreamError: "overloaded_error", StreamErrorAfter: 1})
	body := strings.Replace(anthropicTestBody, `"max_tokens"`, `"stream":true,"max_tokens"`, 1)
	resp := anthropicPost(t, v, "/v1/messages", body, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	events := anthropicReadSSE(t, resp.Body)
	assert.Equal(t, []string{"message_start", "content_block_start", "ping", "content_block_delta", "error"},
		anthropicNames(events))
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(AnthropicOverloadedBody), &got))
	assert.Equal(t, got, events[4].data)
}

func TestAnthropicFakeStatus(t *testing.T) {
	cases := []struct {
		status  int
		typ     string
		message string
	}{
		{529, "overloaded_error", "Overloaded"},
		{429, "rate_limit_error", "fake 429"},
		{402, "billing_error", "fake 402"},
		{500, "api_error", "fake 500"},
		{400, "invalid_request_error", "fake 400"},
	}
	for _, c := range cases {
		v := StartAnthropic(t, AnthropicOptions{Status: c.status})
		resp := anthropicPost(t, v, "/v1/messages", anthropicTestBody, nil)
		assert.Equal(t, c.status, resp.StatusCode)
		m := anthropicDecodeJSON(t, resp)
		assert.Equal(t, "error", m["type"])
		assert.Equal(t, map[string]any{"type": c.typ, "message": c.message}, m["error"])
		assert.True(t, strings.HasPrefix(m["request_id"].(string), "req_fake"))
	}

	v := StartAnthropic(t, AnthropicOptions{Status: 429, ErrorType: "rate_limit_error", ErrorMessage: "slow down"})
	m := anthropicDecodeJSON(t, anthropicPost(t, v, "/v1/messages", anthropicTestBody, nil))
	assert.Equal(t, map[string]any{"type": "rate_limit_error", "message": "slow down"}, m["error"])
}

func TestAnthropicFakeRequireKey(t *testing.T) {
	v := StartAnthropic(t, AnthropicOptions{RequireKey: "sk-ant-right", Status: 529})
	for _, c := range []struct {
		key, message string
	}{
		{"", "x-api-key header is required"},
		{"sk-ant-wrong", "invalid x-api-key"},
	} {
		resp := anthropicPost(t, v, "/v1/messages", anthropicTestBody, map[string]string{"X-Api-Key": c.key})
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		m := anthropicDecodeJSON(t, resp)
		assert.Equal(t, map[string]any{"type": "authentication_error", "message": c.message}, m["error"])
	}
	// A bearer token is not Anthropic's auth.
	resp := anthropicPost(t, v, "/v1/messages", anthropicTestBody,
		map[string]string{"X-Api-Key": "", "Authorization": "Bearer sk-ant-right"})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	// The right key gets past auth (to the forced status).
	resp = anthropicPost(t, v, "/v1/messages", anthropicTestBody, map[string]string{"X-Api-Key": "sk-ant-right"})
	assert.Equal(t, 529, resp.StatusCode)
	assert.Equal(t, 4, v.Count(), "every request is recorded")
}

func TestAnthropicFakeValidation(t *testing.T) {
	v := StartAnthropic(t, AnthropicOptions{})
	cases := []struct {
		name, path, body string
		headers          map[string]string
		status           int
		message          string
	}{
		{"no version", "/v1/messages", anthropicTestBody, map[string]string{"Anthropic-Version": ""}, 400, "anthropic-version: header is required"},
		{"wrong path", "/v1/chat/completions", anthropicTestBody, nil, 404, "Not Found"},
		{"not JSON", "/v1/messages", `{"model":`, nil, 400, "There was an issue with your request body: invalid JSON"},
		{"no model", "/v1/messages", `{"max_tokens":1,"messages":[{"role":"user","content":"x"}]}`, nil, 400, "model: Field required"},
		{"no max_tokens", "/v1/messages", `{"model":"m","messages":[{"role":"user","content":"x"}]}`, nil, 400, "max_tokens: Field required"},
		{"no messages", "/v1/messages", `{"model":"m","max_tokens":1,"messages":[]}`, nil, 400, "messages: at least one message is required"},
		{"unknown field", "/v1/messages", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],"stream_options":{}}`, nil, 400, "stream_options: Extra inputs are not permitted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := anthropicPost(t, v, c.path, c.body, c.headers)
			assert.Equal(t, c.status, resp.StatusCode)
			m := anthropicDecodeJSON(t, resp)
			assert.Equal(t, c.message, m["error"].(map[string]any)["message"])
		})
	}

	req, err := http.NewRequest(http.MethodGet, v.URL()+"/v1/messages", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestAnthropicFakeCloseAbortsStream(t *testing.T) {
	v := StartAnthropic(t, AnthropicOptions{Reply: "a b c d e f", PerToken: time.Hour})
	body := strings.Replace(anthropicTestBody, `"max_tokens"`, `"stream":true,"max_tokens"`, 1)
	resp := anthropicPost(t, v, "/v1/messages", body, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	v.Close()
	select {
	case err := <-done:
		assert.Error(t, err, "the stream is cut, not ended cleanly")
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not abort the stream")
	}
	v.Close() // idempotent
}
