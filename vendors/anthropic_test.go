package vendors

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

const anthropicTestKey = "sk-ant-test-0123456789"

// anthropicTestVendor returns an anthropic vendor from c (kind, id and key
// filled in when empty).
func anthropicTestVendor(t testing.TB, c Config) *Vendor {
	t.Helper()
	c.Kind = "anthropic"
	if c.ID == "" {
		c.ID = "claude"
	}
	if c.APIKey == "" {
		c.APIKey = anthropicTestKey
	}
	v, err := New(c)
	require.NoError(t, err)
	return v
}

// anthropicTestRequest is a client request as the router hands it to
// Prepare, with what Prepare must replace or drop.
func anthropicTestRequest(body []byte) *http.Request {
	in := httptest.NewRequest(http.MethodPost, "http://router.example/v1/chat/completions?client=1", bytes.NewReader(body))
	in.Header.Set("Authorization", "Bearer client-key")
	in.Header.Set("X-Api-Key", "client-key")
	in.Header.Set("Content-Type", "text/plain")
	in.Header.Set("Content-Length", "999")
	in.Header.Set("Accept-Encoding", "gzip")
	in.Header.Set("X-Client-Header", "kept")
	out := in.Clone(context.Background())
	out.RequestURI = ""
	return out
}

// anthropicTestPrepare prepares body and returns the request and the body sent.
func anthropicTestPrepare(t *testing.T, v *Vendor, body string, stream bool) (*http.Request, []byte, error) {
	t.Helper()
	in := []byte(body)
	out := anthropicTestRequest(in)
	err := v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: "claude-sonnet-4-5", Body: in, Stream: stream})
	assert.Equal(t, body, string(in), "the client's body is never modified")
	if err != nil {
		return out, nil, err
	}
	sent, rerr := io.ReadAll(out.Body)
	require.NoError(t, rerr)
	assert.EqualValues(t, len(sent), out.ContentLength)
	again, rerr := out.GetBody()
	require.NoError(t, rerr)
	replay, _ := io.ReadAll(again)
	assert.Equal(t, sent, replay)
	return out, sent, nil
}

func TestAnthropicKind(t *testing.T) {
	assert.True(t, IsKind("anthropic"))
	v := anthropicTestVendor(t, Config{})
	assert.Equal(t, "anthropic", v.Kind())
	assert.Equal(t, "https://api.anthropic.com", v.BaseURL().String())
	assert.Equal(t, "api.anthropic.com:443", v.Dial())
	assert.True(t, v.Native())
	assert.True(t, v.Supports(ChatCompletions))
	assert.False(t, v.Supports(Completions))
	assert.False(t, v.Supports(Embeddings))

	_, err := New(Config{Kind: "anthropic"})
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "api_key", ce.Field)
}

// TestAnthropicToolChoice checks every tool_choice / parallel_tool_calls
// combination (with tools present).
func TestAnthropicToolChoice(t *testing.T) {
	cases := []struct{ choice, parallel, want string }{
		{"", "", ""},
		{`"auto"`, "", `{"type":"auto"}`},
		{`"required"`, "", `{"type":"any"}`},
		{`"none"`, "", `{"type":"none"}`},
		{`{"type":"function","function":{"name":"f"}}`, "", `{"type":"tool","name":"f"}`},
		{"", "false", `{"type":"auto","disable_parallel_tool_use":true}`},
		{"", "true", ""},
		{`"auto"`, "true", `{"type":"auto"}`},
		{`"required"`, "false", `{"type":"any","disable_parallel_tool_use":true}`},
		{`"none"`, "false", `{"type":"none"}`},
		{`{"type":"function","function":{"name":"f"}}`, "false", `{"type":"tool","name":"f","disable_parallel_tool_use":true}`},
	}
	v := anthropicTestVendor(t, Config{})
	for _, c := range cases {
		t.Run(c.choice+" "+c.parallel, func(t *testing.T) {
			in := `{"messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"f"}}]`
			if c.choice != "" {
				in += `,"tool_choice":` + c.choice
			}
			if c.parallel != "" {
				in += `,"parallel_tool_calls":` + c.parallel
			}
			_, body, err := anthropicTestPrepare(t, v, in+"}", false)
			require.NoError(t, err)
			got := gjson.GetBytes(body, "tool_choice")
			if c.want == "" {
				assert.False(t, got.Exists(), got.Raw)
				return
			}
			assert.JSONEq(t, c.want, got.Raw)
		})
	}
	_, _, err := anthropicTestPrepare(t, v, `{"messages":[],"tool_choice":"sometimes"}`, false)
	assert.ErrorContains(t, err, `tool_choice "sometimes"`)
}

// TestAnthropicMessagesBodyForVertex: model "" leaves "model" out, for the
// kinds that name the model in the URL.
func TestAnthropicMessagesBodyForVertex(t *testing.T) {
	r, err := parseChatRequest([]byte(`{"messages":[{"role":"user","content":"Hi"}],"max_tokens":5}`))
	require.NoError(t, err)
	body, err := anthropicMessagesBody(r, "", 4096, true)
	require.NoError(t, err)
	assert.JSONEq(t, `{"max_tokens":5,"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`, string(body))
	body, err = sjson.SetBytes(body, "anthropic_version", "vertex-2023-10-16")
	require.NoError(t, err)
	assert.Equal(t, "vertex-2023-10-16", gjson.GetBytes(body, "anthropic_version").String())
	assert.NotContains(t, string(body), "\\u003c", "no HTML escaping")

	r, err = parseChatRequest([]byte(`{"messages":[{"role":"user","content":"<b>&</b>"}]}`))
	require.NoError(t, err)
	body, err = anthropicMessagesBody(r, "m", 10, false)
	require.NoError(t, err)
	assert.Contains(t, string(body), `"text":"<b>&</b>"`)
}

// anthropicTestCompletion translates a Messages answer and drops "created".
func anthropicTestCompletion(t *testing.T, body string) string {
	t.Helper()
	out, err := anthropicCompletion("claude-test", []byte(body))
	require.NoError(t, err)
	require.True(t, gjson.ValidBytes(out), string(out))
	require.Equal(t, gjson.Number, gjson.GetBytes(out, "created").Type)
	out, err = sjson.DeleteBytes(out, "created")
	require.NoError(t, err)
	return string(out)
}

func TestAnthropicCompletion(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{
			name: "text with cache usage",
			in: `{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
				"content":[{"type":"text","text":"Hello"},{"type":"text","text":", world"}],
				"stop_reason":"end_turn","stop_sequence":null,
				"usage":{"input_tokens":10,"cache_creation_input_tokens":20,"cache_read_input_tokens":30,"output_tokens":5}}`,
			want: `{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","object":"chat.completion","model":"claude-test",
				"choices":[{"index":0,"message":{"role":"assistant","content":"Hello, world","refusal":null},
					"logprobs":null,"finish_reason":"stop"}],
				"usage":{"prompt_tokens":60,"completion_tokens":5,"total_tokens":65,"prompt_tokens_details":{"cached_tokens":30}}}`,
		},
		{
			name: "text and tool_use",
			in: `{"id":"msg_02","type":"message","role":"assistant","model":"claude-sonnet-4-5",
				"content":[{"type":"text","text":"Let me check."},
					{"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{ "city": "Paris", "days": [1, 2] }},
					{"type":"tool_use","id":"toolu_01B","name":"now","input":{}}],
				"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":100,"output_tokens":40}}`,
			want: `{"id":"msg_02","object":"chat.completion","model":"claude-test",
				"choices":[{"index":0,"message":{"role":"assistant","content":"Let me check.","refusal":null,
					"tool_calls":[
						{"id":"toolu_01A","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"days\":[1,2]}"}},
						{"id":"toolu_01B","type":"function","function":{"name":"now","arguments":"{}"}}]},
					"logprobs":null,"finish_reason":"tool_calls"}],
				"usage":{"prompt_tokens":100,"completion_tokens":40,"total_tokens":140}}`,
		},
		{
			name: "tool_use only has null content",
			in: `{"id":"msg_03","type":"message","role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}}],
				"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":2}}`,
			want: `{"id":"msg_03","object":"chat.completion","model":"claude-test",
				"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,
					"tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
					"logprobs":null,"finish_reason":"tool_calls"}],
				"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`,
		},
		{
			name: "thinking",
			in: `{"id":"msg_04","type":"message","role":"assistant","content":[
					{"type":"thinking","thinking":"Let me think.","signature":"abc"},
					{"type":"redacted_thinking","data":"xyz"},
					{"type":"text","text":"42"}],
				"stop_reason":"max_tokens","usage":{"input_tokens":3,"output_tokens":4}}`,
			want: `{"id":"msg_04","object":"chat.completion","model":"claude-test",
				"choices":[{"index":0,"message":{"role":"assistant","content":"42","reasoning_content":"Let me think.","refusal":null},
					"logprobs":null,"finish_reason":"length"}],
				"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`,
		},
		{
			name: "refusal",
			in:   `{"id":"msg_05","type":"message","role":"assistant","content":[],"stop_reason":"refusal","usage":{"input_tokens":3,"output_tokens":0}}`,
			want: `{"id":"msg_05","object":"chat.completion","model":"claude-test",
				"choices":[{"index":0,"message":{"role":"assistant","content":"","refusal":null},
					"logprobs":null,"finish_reason":"content_filter"}],
				"usage":{"prompt_tokens":3,"completion_tokens":0,"total_tokens":3}}`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.JSONEq(t, c.want, anthropicTestCompletion(t, c.in))
		})
	}
}

func TestAnthropicCompletionErrors(t *testing.T) {
	for _, body := range []string{``, `{"id":`, `[]`, `{"type":"completion"}`} {
		_, err := anthropicCompletion("m", []byte(body))
		assert.ErrorIs(t, err, errNativeStream, body)
	}
	_, err := anthropicCompletion("m", []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
	assert.ErrorContains(t, err, "Overloaded")
}

func TestAnthropicFinishReason(t *testing.T) {
	for in, want := range map[string]string{
		"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "": "stop", "something_new": "stop",
		"max_tokens": "length", "model_context_window_exceeded": "length",
		"tool_use": "tool_calls", "refusal": "content_filter",
	} {
		assert.Equal(t, want, anthropicFinishReason(in), in)
	}
}

// The SSE streams below follow the examples of Anthropic's streaming docs.
const anthropicTextStream = `event: message_start
data: {"type": "message_start", "message": {"id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 25, "output_tokens": 1}}}

event: content_block_start
data: {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "! \"Ça va\" ✓\n"}}

event: content_block_stop
data: {"type": "content_block_stop", "index": 0}

event: message_delta
data: {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence":null}, "usage": {"output_tokens": 15}}

event: message_stop
data: {"type": "message_stop"}

`

const anthropicToolStream = `event: message_start
data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5","stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":1024,"output_tokens":2},"content":[],"stop_reason":null}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":", let's check the weather."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \"San Francisco, CA\""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_02","name":"get_time","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"tz\":\"PST\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

`

const anthropicThinkingStream = `event: message_start
data: {"type": "message_start", "message": {"id": "msg_01Think", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 40, "output_tokens": 1}}}

event: content_block_start
data: {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "I need to find the GCD of 1071 and 462 using the Euclidean algorithm.\n\n1071 = 2 × 462 + 147"}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "\n462 = 3 × 147 + 21\n147 = 7 × 21 + 0"}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds..."}}

event: content_block_stop
data: {"type": "content_block_stop", "index": 0}

event: content_block_start
data: {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "The greatest common divisor of 1071 and 462 is **21**."}}

event: content_block_stop
data: {"type": "content_block_stop", "index": 1}

event: message_delta
data: {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 120}}

event: message_stop
data: {"type": "message_stop"}

`

const anthropicErrorStream = `event: message_start
data: {"type":"message_start","message":{"id":"msg_err","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"usage":{"input_tokens":10,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}

event: error
data: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}

event: message_stop
data: {"type":"message_stop"}

`

// anthropicTestChunk is an expected chat.completion.chunk without "created".
func anthropicTestChunk(id, delta, finish string) string {
	f := "null"
	if finish != "" {
		f = `"` + finish + `"`
	}
	return `{"id":"` + id + `","object":"chat.completion.chunk","model":"claude-test",` +
		`"choices":[{"index":0,"delta":` + delta + `,"logprobs":null,"finish_reason":` + f + `}]}`
}

func anthropicTestUsageChunk(id, usage string) string {
	return `{"id":"` + id + `","object":"chat.completion.chunk","model":"claude-test","choices":[],"usage":` + usage + `}`
}

const anthropicTestRole = `{"role":"assistant","content":""}`

var anthropicStreamCases = []struct {
	name, in string
	want     []string
}{
	{"text", anthropicTextStream, []string{
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", anthropicTestRole, ""),
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{"content":"Hello"}`, ""),
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{"content":"! \"Ça va\" ✓\n"}`, ""),
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{}`, "stop"),
		anthropicTestUsageChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{"prompt_tokens":25,"completion_tokens":15,"total_tokens":40}`),
		"[DONE]",
	}},
	{"tool_use", anthropicToolStream, []string{
		anthropicTestChunk("msg_014p7gG3wDgGV9EUtLvnow3U", anthropicTestRole, ""),
		anthropicTestChunk("msg_014p7gG3wDgGV9EUtLvnow3U", `{"content":"Okay"}`, ""),
		anthropicTestChunk("msg_014p7gG3wDgGV9EUtLvnow3U", `{"content":", let's check the weather."}`, ""),
		anthropicTestChunk("msg_014p7gG3wDgGV9EUtLvnow3U", `{"tool_calls":[{"index":0,"id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","type":"function","function":{"name":"get_weather","arguments":""}}]}`, ""),
		anthropicTestChunk("msg_014p7gG3wDgGV9EUtLvnow3U", `{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":"}}]}`, ""),
		anthropicTestChunk("msg_014p7gG3wDgGV9EUtLvnow3U", `{"tool_calls":[{"index":0,"function":{"arguments":" \"San Francisco, CA\""}}]}`, ""),
		anthropicTestChunk("msg_014p7gG3wDgGV9EUtLvnow3U", `{"tool_calls":[{"index":0,"function":{"arguments":"}"}}]}`, ""),
		anthropicTestChunk("msg_014p7gG3wDgGV9EUtLvnow3U", `{"tool_calls":[{"index":1,"id":"toolu_02","type":"function","function":{"name":"get_time","arguments":""}}]}`, ""),
		anthropicTestChunk("msg_014p7gG3wDgGV9EUtLvnow3U", `{"tool_calls":[{"index":1,"function":{"arguments":"{\"tz\":\"PST\"}"}}]}`, ""),
		anthropicTestChunk("msg_014p7gG3wDgGV9EUtLvnow3U", `{}`, "tool_calls"),
		anthropicTestUsageChunk("msg_014p7gG3wDgGV9EUtLvnow3U", `{"prompt_tokens":1496,"completion_tokens":89,"total_tokens":1585,"prompt_tokens_details":{"cached_tokens":1024}}`),
		"[DONE]",
	}},
	{"thinking", anthropicThinkingStream, []string{
		anthropicTestChunk("msg_01Think", anthropicTestRole, ""),
		anthropicTestChunk("msg_01Think", `{"reasoning_content":"I need to find the GCD of 1071 and 462 using the Euclidean algorithm.\n\n1071 = 2 × 462 + 147"}`, ""),
		anthropicTestChunk("msg_01Think", `{"reasoning_content":"\n462 = 3 × 147 + 21\n147 = 7 × 21 + 0"}`, ""),
		anthropicTestChunk("msg_01Think", `{"content":"The greatest common divisor of 1071 and 462 is **21**."}`, ""),
		anthropicTestChunk("msg_01Think", `{}`, "stop"),
		anthropicTestUsageChunk("msg_01Think", `{"prompt_tokens":40,"completion_tokens":120,"total_tokens":160}`),
		"[DONE]",
	}},
	{"error mid-stream", anthropicErrorStream, []string{
		anthropicTestChunk("msg_err", anthropicTestRole, ""),
		anthropicTestChunk("msg_err", `{"content":"Hel"}`, ""),
		`{"error":{"message":"Overloaded","type":"overloaded_error","param":null,"code":"overloaded_error"}}`,
	}},
	{"ends without message_stop", anthropicTextStream[:strings.Index(anthropicTextStream, "event: content_block_stop")], []string{
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", anthropicTestRole, ""),
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{"content":"Hello"}`, ""),
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{"content":"! \"Ça va\" ✓\n"}`, ""),
	}},
	{"ends after message_delta", anthropicTextStream[:strings.Index(anthropicTextStream, "event: message_stop")], []string{
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", anthropicTestRole, ""),
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{"content":"Hello"}`, ""),
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{"content":"! \"Ça va\" ✓\n"}`, ""),
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{}`, "stop"),
	}},
	{"last event without its blank line", strings.TrimSuffix(anthropicTextStream, "\n\n"), []string{
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", anthropicTestRole, ""),
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{"content":"Hello"}`, ""),
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{"content":"! \"Ça va\" ✓\n"}`, ""),
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{}`, "stop"),
		anthropicTestUsageChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{"prompt_tokens":25,"completion_tokens":15,"total_tokens":40}`),
		"[DONE]",
	}},
	{"data split over several lines", strings.NewReplacer(
		`"type": "message_start", `, "\"type\": \"message_start\",\ndata: ",
		`"type": "text_delta", `, "\"type\": \"text_delta\",\ndata:\ndata: ",
	).Replace(anthropicTextStream), []string{
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", anthropicTestRole, ""),
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{"content":"Hello"}`, ""),
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{"content":"! \"Ça va\" ✓\n"}`, ""),
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{}`, "stop"),
		anthropicTestUsageChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{"prompt_tokens":25,"completion_tokens":15,"total_tokens":40}`),
		"[DONE]",
	}},
	{"data only, no space after colon, comments", strings.NewReplacer(
		"event: ping\n", ": keep-alive\n",
		"event: message_start\n", "",
		"event: content_block_delta\n", "",
		"data: ", "data:",
	).Replace(anthropicTextStream), []string{
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", anthropicTestRole, ""),
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{"content":"Hello"}`, ""),
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{"content":"! \"Ça va\" ✓\n"}`, ""),
		anthropicTestChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{}`, "stop"),
		anthropicTestUsageChunk("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", `{"prompt_tokens":25,"completion_tokens":15,"total_tokens":40}`),
		"[DONE]",
	}},
}

// anthropicTestDecode runs stream through a decoder in pieces of next(len)
// bytes (each piece a scratch copy, clobbered after feed so that a decoder
// keeping a reference to it would show) and returns the rendered output.
func anthropicTestDecode(stream string, next func(remaining int) int) (string, error) {
	w := newChunkWriter("claude-test")
	d := newAnthropicStream("claude-test")
	var out []byte
	p := []byte(stream)
	for len(p) > 0 {
		n := next(len(p))
		piece := bytes.Clone(p[:n])
		err := d.feed(piece, w)
		for i := range piece {
			piece[i] = 'X'
		}
		out = append(out, w.take()...)
		if err != nil {
			return string(out), err
		}
		p = p[n:]
	}
	err := d.end(w)
	return string(append(out, w.take()...)), err
}

// anthropicTestEvents splits rendered SSE into its data payloads, checks
// every chunk's "created" and drops it.
func anthropicTestEvents(t *testing.T, out string) []string {
	t.Helper()
	if out == "" {
		return nil
	}
	require.True(t, strings.HasSuffix(out, "\n\n"), "ends with a complete event: %q", out)
	var events []string
	for _, ev := range strings.Split(strings.TrimSuffix(out, "\n\n"), "\n\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		require.True(t, ok, ev)
		require.NotContains(t, data, "\n")
		if data != "[DONE]" {
			require.True(t, gjson.Valid(data), data)
			if gjson.Get(data, "object").String() == "chat.completion.chunk" {
				require.Equal(t, gjson.Number, gjson.Get(data, "created").Type, data)
				data, _ = sjson.Delete(data, "created")
			}
		}
		events = append(events, data)
	}
	return events
}

func anthropicTestAssertEvents(t *testing.T, want []string, out string) {
	t.Helper()
	got := anthropicTestEvents(t, out)
	require.Len(t, got, len(want), out)
	for i := range want {
		if want[i] == "[DONE]" {
			assert.Equal(t, want[i], got[i])
		} else {
			assert.JSONEq(t, want[i], got[i], "event %d", i)
		}
	}
}

func TestAnthropicStream(t *testing.T) {
	whole := func(n int) int { return n }
	oneByte := func(int) int { return 1 }
	seed := uint64(1)
	random := func(n int) int { // deterministic pseudo-random pieces of 1..64 bytes
		seed = seed*6364136223846793005 + 1442695040888963407
		return min(n, int(seed>>58)+1)
	}
	for _, c := range anthropicStreamCases {
		for _, ending := range []struct{ name, nl string }{{"LF", "\n"}, {"CRLF", "\r\n"}, {"CR", "\r"}} {
			in := strings.ReplaceAll(c.in, "\n", ending.nl)
			for _, split := range []struct {
				name string
				next func(int) int
			}{{"whole", whole}, {"1 byte", oneByte}, {"random", random}} {
				t.Run(c.name+"/"+ending.name+"/"+split.name, func(t *testing.T) {
					out, err := anthropicTestDecode(in, split.next)
					require.NoError(t, err)
					anthropicTestAssertEvents(t, c.want, out)
				})
			}
		}
	}
}

type anthropicOneByteReader struct{ s string }

func (r *anthropicOneByteReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.s[0]
	r.s = r.s[1:]
	return 1, nil
}

func TestAnthropicStreamMalformed(t *testing.T) {
	cases := map[string]string{
		"data not JSON":      "event: message_start\ndata: {\"type\":\"message_start\",\n\n",
		"huge index":         "data: {\"type\":\"content_block_start\",\"index\":100000000,\"content_block\":{\"type\":\"text\"}}\n\n",
		"negative index":     "data: {\"type\":\"content_block_start\",\"index\":-1,\"content_block\":{\"type\":\"text\"}}\n\n",
		"line without end":   "data: " + strings.Repeat("x", anthropicMaxEvent+1),
		"event too large":    strings.Repeat("data: "+strings.Repeat("x", 1<<20)+"\n", 9),
		"truncated at EOF":   "data: {\"type\":\"message_st",
		"not JSON at EOF":    "data: nope\n",
		"garbage data event": "data: <html>\n\n",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := anthropicTestDecode(in, func(n int) int { return min(n, 4096) })
			assert.ErrorIs(t, err, errNativeStream)
		})
	}
}

func TestAnthropicStreamIgnores(t *testing.T) {
	// Unknown events and deltas, deltas for unknown blocks, server tool
	// blocks, citations, and anything after message_stop.
	in := `data: {"type":"message_start","message":{"id":"msg_x","usage":{"input_tokens":5}}}

data: {"type":"some_new_event","x":1}

data: {"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}

data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"query\":\"x\"}"}}

data: {"type":"content_block_delta","index":7,"delta":{"type":"input_json_delta","partial_json":"{}"}}

data: {"type":"content_block_delta","index":1,"delta":{"type":"citations_delta","citation":{}}}

data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":""}}

data: {"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":3,"input_tokens":6,"cache_read_input_tokens":2}}

data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":4}}

data: {"type":"message_stop"}

data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"late"}}

data: not even JSON

`
	out, err := anthropicTestDecode(in, func(n int) int { return n })
	require.NoError(t, err)
	anthropicTestAssertEvents(t, []string{
		anthropicTestChunk("msg_x", anthropicTestRole, ""),
		anthropicTestChunk("msg_x", `{}`, "length"),
		anthropicTestUsageChunk("msg_x", `{"prompt_tokens":8,"completion_tokens":4,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":2}}`),
		"[DONE]",
	}, out)

	// message_stop without message_delta still finishes.
	out, err = anthropicTestDecode("data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\ndata: {\"type\":\"message_stop\"}\n\n",
		func(n int) int { return n })
	require.NoError(t, err)
	anthropicTestAssertEvents(t, []string{
		anthropicTestChunk("m", anthropicTestRole, ""),
		anthropicTestChunk("m", `{}`, "stop"),
		anthropicTestUsageChunk("m", `{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}`),
		"[DONE]",
	}, out)
}

// TestAnthropicEventDecoder: events handed over one by one, without SSE
// framing (as Bedrock's InvokeModelWithResponseStream carries them).
func TestAnthropicEventDecoder(t *testing.T) {
	d := anthropicEventDecoder()
	w := newChunkWriter("claude-test")
	var out []byte
	for _, line := range strings.Split(anthropicThinkingStream, "\n") {
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			require.NoError(t, d.event([]byte(data), w))
			out = append(out, w.take()...)
		}
	}
	require.NoError(t, d.end(w))
	out = append(out, w.take()...)
	anthropicTestAssertEvents(t, anthropicStreamCases[2].want, string(out))
}

func TestAnthropicClassify(t *testing.T) {
	overloaded := Verdict{true, ReasonOverloaded}
	quota := Verdict{true, ReasonQuota}
	runClassifyCases(t, "anthropic", []classifyCase{
		{"529 overloaded", 529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, overloaded},
		{"529 empty body", 529, ``, overloaded},
		{"overloaded_error as a 500", 500, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, overloaded},
		{"500 api_error", 500, `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`, Verdict{true, ReasonServerError}},
		{"429 rate limit", 429, `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}`, Verdict{true, ReasonRateLimited}},
		{"429 rate limit, null details", 429, `{"type":"error","error":{"details":null,"type":"rate_limit_error","message":"Rate limited"}}`, Verdict{true, ReasonRateLimited}},
		{"429 spend limit", 429, `{"type":"error","error":{"type":"rate_limit_error","message":"You have reached your API usage limits...","details":{"error_code":"enforced_spend_limit_reached"}},"request_id":"req_1"}`, quota},
		{"429 spend limit only in message", 429, `{"type":"error","error":{"type":"rate_limit_error","message":"enforced_spend_limit_reached"}}`, Verdict{true, ReasonRateLimited}},
		{"402 billing", 402, `{"type":"error","error":{"type":"billing_error","message":"billing"}}`, quota},
		{"400 credit balance", 400, `{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}}`, quota},
		{"400 usage limits", 400, `{"type":"error","error":{"type":"invalid_request_error","message":"You have reached your specified API usage limits. You will regain access on 2026-10-01 at 00:00 UTC."}}`, quota},
		{"400 quoting the phrase is still the client's", 400, `{"type":"error","error":{"type":"invalid_request_error","message":"messages.0: Your credit balance is too low"}}`, Verdict{false, ReasonBadRequest}},
		{"400 invalid request", 400, `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}`, Verdict{false, ReasonBadRequest}},
		{"401 auth", 401, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`, Verdict{true, ReasonAuth}},
		{"403 permission", 403, `{"type":"error","error":{"type":"permission_error","message":"no"}}`, Verdict{true, ReasonAuth}},
		{"404 model", 404, `{"type":"error","error":{"type":"not_found_error","message":"model: claude-x"}}`, Verdict{true, ReasonNotFound}},
		{"413 too large", 413, `{"type":"error","error":{"type":"request_too_large","message":"too large"}}`, Verdict{false, ReasonBadRequest}},
	})
	// The rules are Anthropic's alone.
	openai := newTestVendor(t, "openai")
	assert.Equal(t, Verdict{false, ReasonBadRequest}, openai.Classify(400,
		[]byte(`{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}`)))
}
