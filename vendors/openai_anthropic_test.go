package vendors

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// TestAnthropicPrepareRequest checks everything but the body: URL, auth and
// version headers, operator and client headers.
func TestAnthropicPrepareRequest(t *testing.T) {
	v := anthropicTestVendor(t, Config{Headers: http.Header{
		"anthropic-beta":    {"prompt-caching-2024-07-31"},
		"Anthropic-Version": {"2099-01-01"}, // the translation is written for 2023-06-01
		"X-Api-Key":         {"operator"},   // the key wins
	}})
	out, body, err := anthropicTestPrepare(t, v, `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`, false)
	require.NoError(t, err)

	assert.Equal(t, http.MethodPost, out.Method)
	assert.Equal(t, "https://api.anthropic.com/v1/messages", out.URL.String())
	assert.Empty(t, out.Host)
	h := out.Header
	assert.Equal(t, []string{anthropicTestKey}, h.Values("X-Api-Key"))
	assert.Equal(t, []string{"2023-06-01"}, h.Values("Anthropic-Version"))
	assert.Equal(t, []string{"prompt-caching-2024-07-31"}, h.Values("Anthropic-Beta"))
	assert.Equal(t, []string{"application/json"}, h.Values("Content-Type"))
	assert.Equal(t, "kept", h.Get("X-Client-Header"))
	for _, name := range []string{"Authorization", "Api-Key", "X-Goog-Api-Key", "Content-Length", "Accept-Encoding"} {
		assert.Empty(t, h.Values(name), name)
	}
	assert.Nil(t, out.TransferEncoding)
	assert.JSONEq(t, `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`, string(body))
}

func TestAnthropicPrepareBaseURL(t *testing.T) {
	for base, want := range map[string]string{
		"https://gw.example.com/anthropic/":      "https://gw.example.com/anthropic/v1/messages",
		"https://api.anthropic.com/v1":           "https://api.anthropic.com/v1/messages",
		"http://127.0.0.1:8080":                  "http://127.0.0.1:8080/v1/messages",
		"https://gw.example.com/a%2Fb/anthropic": "https://gw.example.com/a%2Fb/anthropic/v1/messages",
	} {
		v := anthropicTestVendor(t, Config{BaseURL: base})
		out, _, err := anthropicTestPrepare(t, v, `{"messages":[{"role":"user","content":"Hi"}]}`, false)
		require.NoError(t, err)
		assert.Equal(t, want, out.URL.String(), base)
	}
}

// anthropicGolden is one request translation: an OpenAI body in, the exact
// Anthropic body out (compared as JSON), or an error.
type anthropicGolden struct {
	name    string
	cfg     Config
	stream  bool
	in      string
	want    string
	wantErr string
}

var anthropicGoldens = []anthropicGolden{
	{
		name: "system and developer",
		in: `{"model":"gpt-4o","max_tokens":100,"messages":[
			{"role":"system","content":"You are terse."},
			{"role":"developer","content":[{"type":"text","text":"Answer in French."}]},
			{"role":"user","content":"Hi"}]}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":100,"system":"You are terse.\nAnswer in French.",
			"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
	},
	{
		name: "missing max_tokens takes the default",
		in:   `{"messages":[{"role":"user","content":"Hi"}]}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
	},
	{
		name: "configured default max_tokens",
		cfg:  Config{DefaultMaxTokens: 1000},
		in:   `{"messages":[{"role":"user","content":"Hi"}]}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":1000,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
	},
	{
		name: "max_completion_tokens wins over max_tokens",
		in:   `{"max_tokens":80,"max_completion_tokens":50,"messages":[{"role":"user","content":"Hi"}]}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":50,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
	},
	{
		name: "image parts",
		in: `{"messages":[{"role":"user","content":[
			{"type":"text","text":"What is in these?"},
			{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
			{"type":"image_url","image_url":{"url":"https://example.com/cat.jpg","detail":"high"}}]}]}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[
			{"type":"text","text":"What is in these?"},
			{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
			{"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]}]}`,
	},
	{
		name:    "image that is neither a data URL nor http",
		in:      `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://example.com/cat.jpg"}}]}]}`,
		wantErr: "messages[0].content: image_url must be an http(s) URL or a base64 data URL",
	},
	{
		name: "tools and tool_choice",
		in: `{"messages":[{"role":"user","content":"Weather in Paris?"}],
			"tools":[
				{"type":"function","function":{"name":"get_weather","description":"Get the weather","strict":true,
					"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
				{"type":"function","function":{"name":"now"}},
				{"type":"function","function":{"name":"ping","parameters":{"properties":{}}}}],
			"tool_choice":{"type":"function","function":{"name":"get_weather"}},
			"parallel_tool_calls":false}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":4096,
			"messages":[{"role":"user","content":[{"type":"text","text":"Weather in Paris?"}]}],
			"tools":[
				{"name":"get_weather","description":"Get the weather",
					"input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
				{"name":"now","input_schema":{"type":"object"}},
				{"name":"ping","input_schema":{"properties":{},"type":"object"}}],
			"tool_choice":{"type":"tool","name":"get_weather","disable_parallel_tool_use":true}}`,
	},
	{
		name: "tool_choice without tools is dropped",
		in:   `{"messages":[{"role":"user","content":"Hi"}],"tool_choice":"required","parallel_tool_calls":false}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
	},
	{
		name:    "tool parameters that are not a schema object",
		in:      `{"messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":[1]}}]}`,
		wantErr: `tool "f": parameters must be a JSON Schema object`,
	},
	{
		name: "tool-call history with consecutive tool results merged",
		in: `{"messages":[
			{"role":"user","content":"Weather in Paris and Rome?"},
			{"role":"assistant","content":null,"tool_calls":[
				{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
				{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Rome\"}"}}]},
			{"role":"tool","tool_call_id":"call_1","content":"18C sunny"},
			{"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"22C cloudy"}]},
			{"role":"user","content":"Which is warmer?"},
			{"role":"assistant","content":"Rome."},
			{"role":"user","content":"Thanks"}]}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[
			{"role":"user","content":[{"type":"text","text":"Weather in Paris and Rome?"}]},
			{"role":"assistant","content":[
				{"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}},
				{"type":"tool_use","id":"call_2","name":"get_weather","input":{"city":"Rome"}}]},
			{"role":"user","content":[
				{"type":"tool_result","tool_use_id":"call_1","content":"18C sunny"},
				{"type":"tool_result","tool_use_id":"call_2","content":"22C cloudy"},
				{"type":"text","text":"Which is warmer?"}]},
			{"role":"assistant","content":[{"type":"text","text":"Rome."}]},
			{"role":"user","content":[{"type":"text","text":"Thanks"}]}]}`,
	},
	{
		name: "assistant text with a tool call, empty arguments, foreign id, empty and image results",
		in: `{"messages":[
			{"role":"user","content":"What time is it? Show me the clock."},
			{"role":"assistant","content":"Let me check.","tool_calls":[
				{"id":"functions.now:0","type":"function","function":{"name":"now","arguments":""}},
				{"id":"call_cam","type":"function","function":{"name":"camera","arguments":"null"}},
				{"id":"call_log","type":"function","function":{"name":"log","arguments":"{}"}}]},
			{"role":"tool","tool_call_id":"functions.now:0","content":"12:00"},
			{"role":"tool","tool_call_id":"call_cam","content":[{"type":"text","text":"see"},
				{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,AAAA"}}]},
			{"role":"tool","tool_call_id":"call_log","content":""}]}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[
			{"role":"user","content":[{"type":"text","text":"What time is it? Show me the clock."}]},
			{"role":"assistant","content":[
				{"type":"text","text":"Let me check."},
				{"type":"tool_use","id":"functions_now_0","name":"now","input":{}},
				{"type":"tool_use","id":"call_cam","name":"camera","input":{}},
				{"type":"tool_use","id":"call_log","name":"log","input":{}}]},
			{"role":"user","content":[
				{"type":"tool_result","tool_use_id":"functions_now_0","content":"12:00"},
				{"type":"tool_result","tool_use_id":"call_cam","content":[{"type":"text","text":"see"},
					{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"AAAA"}}]},
				{"type":"tool_result","tool_use_id":"call_log"}]}]}`,
	},
	{
		name: "a user message between tool call and result: results first",
		in: `{"messages":[
			{"role":"user","content":"Go"},
			{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},
			{"role":"user","content":"wait"},
			{"role":"tool","tool_call_id":"call_1","content":"done"}]}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[
			{"role":"user","content":[{"type":"text","text":"Go"}]},
			{"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"f","input":{}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"done"},{"type":"text","text":"wait"}]}]}`,
	},
	{
		name: "invalid tool arguments",
		in: `{"messages":[{"role":"user","content":"Go"},
			{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"city\":"}}]}]}`,
		wantErr: "messages[1].tool_calls[0].function.arguments: must be a JSON object",
	},
	{
		name: "arguments that are JSON but not an object",
		in: `{"messages":[{"role":"user","content":"Go"},
			{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"[1,2]"}}]}]}`,
		wantErr: "messages[1].tool_calls[0].function.arguments: must be a JSON object",
	},
	{
		name: "same-role turns merged, blank text dropped, placeholder first user turn",
		in: `{"messages":[
			{"role":"system","content":"S"},
			{"role":"assistant","content":"Hello! How can I help?"},
			{"role":"user","content":"one"},
			{"role":"user","content":[{"type":"text","text":"two"},{"type":"text","text":"  \n"}]},
			{"role":"assistant","content":""},
			{"role":"user","content":"three","name":"bob"}]}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"system":"S","messages":[
			{"role":"user","content":[{"type":"text","text":"..."}]},
			{"role":"assistant","content":[{"type":"text","text":"Hello! How can I help?"}]},
			{"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":"two"},{"type":"text","text":"three"}]}]}`,
	},
	{
		name: "system only gets a placeholder user turn",
		in:   `{"messages":[{"role":"system","content":"Tell a joke."}]}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"system":"Tell a joke.",
			"messages":[{"role":"user","content":[{"type":"text","text":"..."}]}]}`,
	},
	{
		name: "no messages at all is left for Anthropic to reject",
		in:   `{"messages":[]}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[]}`,
	},
	{
		name:    "unknown role",
		in:      `{"messages":[{"role":"function","name":"f","content":"x"}]}`,
		wantErr: `messages[0].role "function" is not supported by this vendor`,
	},
	{
		name: "stop string",
		in:   `{"messages":[{"role":"user","content":"Hi"}],"stop":"END"}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"stop_sequences":["END"],
			"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
	},
	{
		name: "stop array, empty entries dropped",
		in:   `{"messages":[{"role":"user","content":"Hi"}],"stop":["a","","b"]}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"stop_sequences":["a","b"],
			"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
	},
	{
		name: "temperature above 1 is clamped",
		in:   `{"messages":[{"role":"user","content":"Hi"}],"temperature":1.7}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"temperature":1,
			"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
	},
	{
		name: "negative temperature is clamped",
		in:   `{"messages":[{"role":"user","content":"Hi"}],"temperature":-0.5}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"temperature":0,
			"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
	},
	{
		name: "temperature wins over top_p",
		in:   `{"messages":[{"role":"user","content":"Hi"}],"temperature":0.3,"top_p":0.9}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"temperature":0.3,
			"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
	},
	{
		name: "top_p alone",
		in:   `{"messages":[{"role":"user","content":"Hi"}],"top_p":0.9}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"top_p":0.9,
			"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
	},
	{
		name:   "stream, unknown OpenAI fields dropped, reasoning_effort as thinking",
		stream: true,
		in: `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],"stream":true,
			"stream_options":{"include_usage":true},"response_format":{"type":"json_object"},"seed":7,
			"user":"u1","logprobs":false,"frequency_penalty":0.5,"presence_penalty":0.1,"metadata":{"a":"b"},
			"store":false,"n":1,"reasoning_effort":"low","service_tier":"auto","logit_bias":{"1":2}}`,
		want: `{"model":"claude-sonnet-4-5","max_tokens":5120,"stream":true,"thinking":{"type":"enabled","budget_tokens":1024},
			"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
	},
	{
		name:    "n>1",
		in:      `{"messages":[{"role":"user","content":"Hi"}],"n":2}`,
		wantErr: "n>1 is not supported by this vendor",
	},
	{
		name:    "not a chat request",
		in:      `{"messages":"Hi"}`,
		wantErr: "does not match the chat completions schema",
	},
}

func TestAnthropicPrepareGolden(t *testing.T) {
	for _, c := range anthropicGoldens {
		t.Run(c.name, func(t *testing.T) {
			v := anthropicTestVendor(t, c.cfg)
			out, body, err := anthropicTestPrepare(t, v, c.in, c.stream)
			if c.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.wantErr)
				assert.Contains(t, err.Error(), `vendor "claude"`)
				// A failed Prepare leaves the request alone.
				assert.Equal(t, "http://router.example/v1/chat/completions?client=1", out.URL.String())
				assert.Equal(t, "Bearer client-key", out.Header.Get("Authorization"))
				assert.Empty(t, out.Header.Get("Anthropic-Version"))
				return
			}
			require.NoError(t, err)
			assert.JSONEq(t, c.want, string(body))
		})
	}
}

func TestAnthropicTranslateResponseJSON(t *testing.T) {
	v := anthropicTestVendor(t, Config{})
	resp := &http.Response{StatusCode: 200, Header: http.Header{
		"Content-Type": {"application/json"}, "Content-Length": {"999"}, "Request-Id": {"req_1"}},
		Body: io.NopCloser(strings.NewReader(`{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}`))}
	v.TranslateResponse(resp, Attempt{Endpoint: ChatCompletions, Model: "claude-test"})
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Empty(t, resp.Header.Get("Content-Length"))
	assert.EqualValues(t, -1, resp.ContentLength)
	assert.Equal(t, "Hi", gjson.GetBytes(out, "choices.0.message.content").String())
	assert.Equal(t, "msg_1", gjson.GetBytes(out, "id").String())
}

// Through the framework: TranslateResponse over a body that hands out one
// byte per Read.
func TestAnthropicTranslateResponseStream(t *testing.T) {
	v := anthropicTestVendor(t, Config{})
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream; charset=utf-8"}},
		Body: io.NopCloser(&anthropicOneByteReader{s: anthropicToolStream})}
	v.TranslateResponse(resp, Attempt{Endpoint: ChatCompletions, Model: "claude-test", Stream: true})
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	anthropicTestAssertEvents(t, anthropicStreamCases[1].want, string(out))
}

func TestAnthropicTranslateError(t *testing.T) {
	v := anthropicTestVendor(t, Config{})
	cases := []struct {
		status     int
		body, want string
	}{
		{400, `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`,
			`{"error":{"message":"max_tokens: Field required","type":"invalid_request_error","param":null,"code":null}}`},
		{413, `{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}`,
			`{"error":{"message":"Request exceeds the maximum allowed number of bytes.","type":"request_too_large","param":null,"code":null}}`},
		{400, `{"type":"error","error":{"type":"invalid_request_error","message":"bad key ` + anthropicTestKey + `"}}`,
			`{"error":{"message":"bad key [redacted]","type":"invalid_request_error","param":null,"code":null}}`},
		{502, `<html>Bad Gateway</html>`,
			`{"error":{"message":"Bad Gateway","type":"server_error","param":null,"code":null}}`},
		{400, `{"error":{"message":"openai-shaped","type":"invalid_request_error"}}`,
			`{"error":{"message":"openai-shaped","type":"invalid_request_error","param":null,"code":null}}`},
	}
	for _, c := range cases {
		assert.JSONEq(t, c.want, string(v.TranslateError(c.status, []byte(c.body))), c.body)
	}
	typ, msg := anthropicErrorMessage([]byte(`{"type":"error","error":{"type":"not_found_error","message":"model: claude-x"}}`))
	assert.Equal(t, "not_found_error", typ)
	assert.Equal(t, "model: claude-x", msg)
	assert.Equal(t, "model: claude-x", v.ErrorMessage(404, []byte(`{"type":"error","error":{"type":"not_found_error","message":"model: claude-x"}}`)))
}

func TestAnthropicPrepareErrorIsUnsupported(t *testing.T) {
	v := anthropicTestVendor(t, Config{ID: "anthropic-eu"})
	out := anthropicTestRequest([]byte(`{"messages":[{"role":"user","content":"Hi"}],"n":3}`))
	err := v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: "m", Body: []byte(`{"messages":[{"role":"user","content":"Hi"}],"n":3}`)})
	require.Error(t, err)
	assert.Equal(t, `vendor "anthropic-eu": n>1 is not supported by this vendor (it returns a single choice)`, err.Error())
	assert.False(t, errors.Is(err, errNativeStream))
	assert.Equal(t, "client-key", out.Header.Get("X-Api-Key"), "a failed Prepare restores the headers")
}

// anthropicContractStream is a Messages stream: text in two deltas, the
// stop reason, the usage.
const anthropicContractStream = "event: message_start\n" +
	`data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","usage":{"input_tokens":7,"cache_read_input_tokens":3,"output_tokens":1}}}` + "\n\n" +
	"event: content_block_start\n" + `data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}` + "\n\n" +
	"event: ping\ndata: {\"type\": \"ping\"}\n\n" +
	"event: content_block_delta\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Bonjour"}}` + "\n\n" +
	"event: content_block_delta\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" monde"}}` + "\n\n" +
	"event: content_block_stop\n" + `data: {"type":"content_block_stop","index":0}` + "\n\n" +
	"event: message_delta\n" + `data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":4}}` + "\n\n" +
	"event: message_stop\n" + `data: {"type":"message_stop"}` + "\n\n"

func TestAnthropicTranslator_Feed(t *testing.T) {
	checkStream(t, streamCase{
		v: newTestVendor(t, "anthropic"), a: Attempt{Endpoint: ChatCompletions, Model: "claude-sonnet-4-5"},
		stream: []byte(anthropicContractStream), firstContent: "Bonjour", wantText: "Bonjour monde",
		// Cache reads are prompt tokens too.
		wantUsage: billing.Usage{PromptTokens: 10, CachedTokens: 3, CompletionTokens: 4},
	})
}

func TestAnthropicTranslator_Answer(t *testing.T) {
	checkAnswer(t, answerCase{
		v: newTestVendor(t, "anthropic"), a: Attempt{Endpoint: ChatCompletions, Model: "claude-sonnet-4-5"},
		answer: []byte(`{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Salut"}],` +
			`"stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":2}}`),
		wantText: "Salut", wantUsage: billing.Usage{PromptTokens: 5, CompletionTokens: 2},
	})
}

func TestAnthropicTranslator_ErrorBody(t *testing.T) {
	checkNativeErrorBody(t, newTestVendor(t, "anthropic"), 400,
		`{"type":"error","error":{"type":"invalid_request_error","message":"key `+testKey+` cannot do this"}}`,
		"key [redacted] cannot do this", "invalid_request_error")
}
