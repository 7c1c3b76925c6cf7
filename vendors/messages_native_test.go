package vendors

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// A Messages body with what a translation would lose: cache_control, a
// thinking block and its signature, a beta feature's field.
const messagesTestBody = `{"model":"claude","max_tokens":64,"stream":true,` +
	`"system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],` +
	`"thinking":{"type":"enabled","budget_tokens":1024},` +
	`"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"` + claudeTestSignature + `"},{"type":"text","text":"Hello"}]},{"role":"user","content":"Again"}],` +
	`"context_management":{"edits":[]}}`

func messagesClientRequest(t *testing.T, body string) *http.Request {
	t.Helper()
	in := httptest.NewRequest(http.MethodPost, "http://router.example/v1/messages?beta=true", strings.NewReader(body))
	in.Header.Set("X-Api-Key", "client-key")
	in.Header.Set("Anthropic-Version", "2023-06-01")
	in.Header.Set("Anthropic-Beta", "context-management-2025-06-27, interleaved-thinking-2025-05-14")
	return in
}

// Only the model changes; everything Claude-specific reaches the vendor.
func assertMessagesBodyKept(t *testing.T, got []byte) {
	t.Helper()
	assert.Equal(t, "ephemeral", gjson.GetBytes(got, "system.0.cache_control.type").String())
	assert.Equal(t, claudeTestSignature, gjson.GetBytes(got, "messages.1.content.0.signature").String())
	assert.EqualValues(t, 1024, gjson.GetBytes(got, "thinking.budget_tokens").Int())
	assert.True(t, gjson.GetBytes(got, "context_management").Exists())
}

func TestMessagesTranslator_RequestAnthropic(t *testing.T) {
	v := newTestVendor(t, "anthropic")
	out := messagesClientRequest(t, messagesTestBody)
	require.NoError(t, v.Prepare(out, Attempt{Endpoint: Messages, Model: "claude-sonnet-4-5", Body: []byte(messagesTestBody), Stream: true}))
	assert.Equal(t, "https://api.anthropic.com/v1/messages", out.URL.String(), "the client's query is dropped")
	assert.Equal(t, testKey, out.Header.Get("X-Api-Key"))
	assert.Equal(t, "2023-06-01", out.Header.Get("Anthropic-Version"))
	assert.Equal(t, "context-management-2025-06-27, interleaved-thinking-2025-05-14", out.Header.Get("Anthropic-Beta"))
	got := awsReadBody(t, out)
	assert.Equal(t, "claude-sonnet-4-5", gjson.GetBytes(got, "model").String())
	assert.True(t, gjson.GetBytes(got, "stream").Bool())
	assertMessagesBodyKept(t, got)

	// No anthropic-version from the client: the one there is.
	out = messagesClientRequest(t, messagesTestBody)
	out.Header.Del("Anthropic-Version")
	const count = `{"model":"claude","messages":[{"role":"user","content":"Hi"}]}`
	require.NoError(t, v.Prepare(out, Attempt{Endpoint: CountTokens, Model: "claude-sonnet-4-5", Body: []byte(count)}))
	assert.Equal(t, "https://api.anthropic.com/v1/messages/count_tokens", out.URL.String())
	assert.Equal(t, anthropicVersion, out.Header.Get("Anthropic-Version"))
	assert.JSONEq(t, `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}]}`, string(awsReadBody(t, out)))
}

func TestMessagesTranslator_RequestVertex(t *testing.T) {
	ts := startVertexTokenServer(t, nil)
	v := newVertexTestVendor(t, ts, Config{Region: "us-east5"})
	out := messagesClientRequest(t, messagesTestBody)
	require.NoError(t, v.Prepare(out, Attempt{Endpoint: Messages, Model: "claude-sonnet-4@20250514", Body: []byte(messagesTestBody), Stream: true}))
	assert.Equal(t, "https://us-east5-aiplatform.googleapis.com/v1/projects/proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict", out.URL.String())
	assert.Equal(t, "Bearer tok", out.Header.Get("Authorization"))
	assert.Empty(t, out.Header.Get("X-Api-Key"), "the client's key never reaches the vendor")
	assert.NotEmpty(t, out.Header.Get("Anthropic-Beta"))
	got := awsReadBody(t, out)
	assert.False(t, gjson.GetBytes(got, "model").Exists(), "the model is in the URL")
	assert.Equal(t, vertexAnthropicVersion, gjson.GetBytes(got, "anthropic_version").String())
	assert.True(t, gjson.GetBytes(got, "stream").Bool())
	assertMessagesBodyKept(t, got)

	body := strings.Replace(messagesTestBody, `"stream":true,`, ``, 1)
	out = messagesClientRequest(t, body)
	require.NoError(t, v.Prepare(out, Attempt{Endpoint: Messages, Model: "claude-sonnet-4@20250514", Body: []byte(body)}))
	assert.True(t, strings.HasSuffix(out.URL.Path, ":rawPredict"), out.URL.Path)

	// Gemini on Vertex takes Messages through its chat translation.
	tr, err := v.Translator(Attempt{Endpoint: Messages, Model: "gemini-2.5-pro", Body: []byte(body)})
	require.NoError(t, err)
	assert.IsType(t, &bridgeTranslator{}, tr)
}

func TestMessagesTranslator_RequestBedrock(t *testing.T) {
	v := newAWSTestVendor(t, Config{ID: "bedrock", Kind: "aws", APIKey: "bedrock-api-key", Region: "us-east-1"})
	out := messagesClientRequest(t, messagesTestBody)
	out.Header.Set("X-Amz-Security-Token", "smuggled")
	const model = "us.anthropic.claude-sonnet-4-20250514-v1:0"
	require.NoError(t, v.Prepare(out, Attempt{Endpoint: Messages, Model: model, Body: []byte(messagesTestBody), Stream: true}))
	assert.Equal(t, "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/invoke-with-response-stream", out.URL.String())
	assert.Equal(t, "Bearer bedrock-api-key", out.Header.Get("Authorization"))
	assert.Empty(t, out.Header.Get("X-Amz-Security-Token"))
	assert.Empty(t, out.Header.Get("Anthropic-Beta"), "Bedrock reads betas from the body")
	got := awsReadBody(t, out)
	assert.False(t, gjson.GetBytes(got, "model").Exists())
	assert.False(t, gjson.GetBytes(got, "stream").Exists(), "the operation says it")
	assert.Equal(t, bedrockAnthropicVersion, gjson.GetBytes(got, "anthropic_version").String())
	assert.JSONEq(t, `["context-management-2025-06-27","interleaved-thinking-2025-05-14"]`, gjson.GetBytes(got, "anthropic_beta").Raw)
	assertMessagesBodyKept(t, got)

	out = messagesClientRequest(t, messagesTestBody)
	require.NoError(t, v.Prepare(out, Attempt{Endpoint: Messages, Model: model, Body: []byte(messagesTestBody)}))
	assert.True(t, strings.HasSuffix(out.URL.RawPath, "/invoke"), out.URL.RawPath)

	// Bedrock's other models take Messages through Converse.
	tr, err := v.Translator(Attempt{Endpoint: Messages, Model: "amazon.nova-pro-v1:0", Body: []byte(messagesTestBody)})
	require.NoError(t, err)
	assert.IsType(t, &bridgeTranslator{}, tr)
}

// A real Messages stream, with thinking and a tool call.
var messagesTestStream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":20,\"cache_read_input_tokens\":100,\"cache_creation_input_tokens\":0,\"output_tokens\":1}}}\n\n" +
	"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n" +
	"event: ping\ndata: {\"type\":\"ping\"}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Let me think\"}}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQBsig\"}}\n\n" +
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
	"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"get_weather\",\"input\":{}}}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}\n\n" +
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n" +
	"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":42}}\n\n" +
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

// runMessagesStream feeds stream to a fresh translator step bytes at a time.
func runMessagesStream(t *testing.T, v *Vendor, a Attempt, stream []byte, step int) streamResult {
	t.Helper()
	tr, err := v.Translator(a)
	require.NoError(t, err)
	defer tr.Release()
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/vnd.amazon.eventstream"}, "Content-Length": {"9"}}}
	tr.ResponseHeaders(resp)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Empty(t, resp.Header.Get("Content-Length"))
	r := streamResult{committedAfter: -1}
	var out strings.Builder
	for fed := 0; fed < len(stream); {
		n := min(step, len(stream)-fed)
		require.NoError(t, tr.Feed(stream[fed:fed+n], fed+n == len(stream)))
		fed += n
		out.Write(tr.Output())
		if r.committedAfter < 0 && tr.Committed() {
			r.committedAfter = fed
		}
	}
	tr.End()
	out.Write(tr.Output())
	r.out, r.done, r.err, r.usage = out.String(), tr.Done(), tr.Err(), tr.Usage()
	return r
}

func TestMessagesTranslator_Feed(t *testing.T) {
	v := newTestVendor(t, "anthropic")
	a := Attempt{Endpoint: Messages, Model: "claude-sonnet-4-5", Stream: true, PromptTokens: 7}
	whole := runMessagesStream(t, v, a, []byte(messagesTestStream), len(messagesTestStream))
	assert.Equal(t, messagesTestStream, whole.out, "the events pass as they are")
	assert.True(t, whole.done)
	assert.Nil(t, whole.err)
	assert.Equal(t, billing.Usage{PromptTokens: 120, CachedTokens: 100, CompletionTokens: 42}, whole.usage)

	bytewise := runMessagesStream(t, v, a, []byte(messagesTestStream), 1)
	assert.Equal(t, whole.out, bytewise.out)
	first := strings.Index(messagesTestStream, "Let me think")
	assert.Greater(t, bytewise.committedAfter, first, "nothing commits before the first content")

	// CRLF and a last event without its blank line read the same.
	crlf := strings.ReplaceAll(strings.TrimSuffix(messagesTestStream, "\n\n"), "\n", "\r\n")
	assert.Equal(t, messagesTestStream, runMessagesStream(t, v, a, []byte(crlf), 5).out)

	// An error event after 200: the vendor's error, passed on, and the end.
	broken := messagesTestStream[:strings.Index(messagesTestStream, "event: content_block_start")] +
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	r := runMessagesStream(t, v, a, []byte(broken), 3)
	require.NotNil(t, r.err)
	assert.Equal(t, "overloaded_error", r.err.Type)
	assert.Equal(t, "Overloaded", r.err.Message)
	assert.False(t, r.done)
	assert.Equal(t, -1, r.committedAfter)
	assert.NotContains(t, r.out, "content_block_start", "nothing after the error")

	// A stream cut after some content: not done, usage at least the content.
	cut := messagesTestStream[:strings.Index(messagesTestStream, "event: content_block_stop")]
	r = runMessagesStream(t, v, a, []byte(cut), 7)
	assert.False(t, r.done)
	assert.Nil(t, r.err)
	assert.Equal(t, 120, r.usage.PromptTokens)
	assert.Equal(t, 3, r.usage.CompletionTokens, "12 bytes of thinking")

	// Without message_start's usage, the prompt is the router's estimate.
	noStart := messagesTestStream[strings.Index(messagesTestStream, "event: content_block_start"):]
	r = runMessagesStream(t, v, a, []byte(noStart), 64)
	assert.Equal(t, billing.Usage{PromptTokens: 7, CompletionTokens: 42, Estimated: true}, r.usage)

	// Framing the translator cannot read is an error.
	tr, err := v.Translator(a)
	require.NoError(t, err)
	assert.Error(t, tr.Feed([]byte("data: {not json\n\n"), false))
}

// Bedrock's InvokeModelWithResponseStream: each Anthropic event in a chunk
// frame, base64; the client gets the same SSE as from Anthropic.
func TestMessagesTranslator_FeedBedrock(t *testing.T) {
	v := newAWSTestVendor(t, Config{ID: "bedrock", Kind: "aws", APIKey: "k", Region: "us-east-1"})
	var events []bedrockTestEvent
	for _, ev := range strings.Split(strings.TrimSuffix(messagesTestStream, "\n\n"), "\n\n") {
		_, data, _ := strings.Cut(ev, "\ndata: ")
		events = append(events, bedrockEvent("chunk", `{"bytes":"`+base64.StdEncoding.EncodeToString([]byte(data))+`","p":"abc"}`))
	}
	frames := bedrockTestFrames(t, events...)
	a := Attempt{Endpoint: Messages, Model: "anthropic.claude-sonnet-4-20250514-v1:0", Stream: true}
	whole := runMessagesStream(t, v, a, frames, len(frames))
	assert.Equal(t, messagesTestStream, whole.out)
	assert.True(t, whole.done)
	assert.Equal(t, 42, whole.usage.CompletionTokens)
	assert.Equal(t, whole.out, runMessagesStream(t, v, a, frames, 3).out)

	// An exception frame is the vendor's error, in Anthropic's shape.
	frames = bedrockTestFrames(t, events[0],
		bedrockTestEvent{"exception", "throttlingException", `{"message":"Too many tokens, please wait before trying again."}`})
	r := runMessagesStream(t, v, a, frames, len(frames))
	require.NotNil(t, r.err)
	assert.Equal(t, "rate_limit_error", r.err.Type)
	assert.Contains(t, r.out, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Too many tokens, please wait before trying again.\"}}\n\n")

	// Cut inside a frame: an error at the end.
	frames = bedrockTestFrames(t, events...)
	tr, err := v.Translator(a)
	require.NoError(t, err)
	assert.Error(t, tr.Feed(frames[:len(frames)-5], true))
}

func TestMessagesTranslator_Answer(t *testing.T) {
	v := newTestVendor(t, "anthropic")
	tr, err := v.Translator(Attempt{Endpoint: Messages, Model: "claude-sonnet-4-5", PromptTokens: 9})
	require.NoError(t, err)
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Encoding": {"gzip"}}}
	tr.ResponseHeaders(resp)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Empty(t, resp.Header.Get("Content-Encoding"))

	msg := `{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hi"}],"stop_reason":"max_tokens","usage":{"input_tokens":12,"cache_creation_input_tokens":3,"output_tokens":5}}`
	out, res, err := tr.Answer([]byte(msg))
	require.NoError(t, err)
	assert.Equal(t, msg, string(out), "passed as it is")
	assert.True(t, res.HasContent)
	assert.Equal(t, "length", res.FinishReason)
	assert.Equal(t, billing.Usage{PromptTokens: 15, CompletionTokens: 5}, res.Usage)
	assert.Nil(t, res.Err)

	_, res, _ = tr.Answer([]byte(`{"type":"message","content":[],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":0}}`))
	assert.False(t, res.HasContent, "an empty answer is no content")
	_, res, _ = tr.Answer([]byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
	require.NotNil(t, res.Err)
	assert.Equal(t, "overloaded_error", res.Err.Type)
	_, res, _ = tr.Answer([]byte(`{"type":"mess`))
	require.NotNil(t, res.Err)
	assert.Equal(t, "invalid_response", res.Err.Type)

	tr, err = v.Translator(Attempt{Endpoint: CountTokens, Model: "claude-sonnet-4-5"})
	require.NoError(t, err)
	out, res, err = tr.Answer([]byte(`{"input_tokens":42}`))
	require.NoError(t, err)
	assert.Equal(t, `{"input_tokens":42}`, string(out))
	assert.True(t, res.HasContent)
	assert.Zero(t, res.Usage, "count_tokens costs nothing")
}

// Every vendor's error reaches a Messages client in Anthropic's shape.
func TestMessagesTranslator_ErrorBody(t *testing.T) {
	ts := startVertexTokenServer(t, nil)
	cases := []struct {
		name   string
		v      *Vendor
		model  string
		status int
		body   string
		want   string
	}{
		{"anthropic", newTestVendor(t, "anthropic"), "claude-sonnet-4-5", 400,
			`{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required ` + testKey + `"},"request_id":"req_1"}`,
			`{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required [redacted]"}}`},
		{"vertex", newVertexTestVendor(t, ts, Config{Region: "us-east5"}), "claude-sonnet-4@20250514", 400,
			`{"error":{"code":400,"message":"Invalid request","status":"INVALID_ARGUMENT"}}`,
			`{"type":"error","error":{"type":"invalid_request_error","message":"Invalid request"}}`},
		{"bedrock", newAWSTestVendor(t, Config{ID: "b", Kind: "aws", APIKey: "k", Region: "us-east-1"}), "anthropic.claude-3-haiku", 400,
			`{"message":"messages: roles must alternate"}`,
			`{"type":"error","error":{"type":"invalid_request_error","message":"messages: roles must alternate"}}`},
		{"bedrock throttled", newAWSTestVendor(t, Config{ID: "b", Kind: "aws", APIKey: "k", Region: "us-east-1"}), "anthropic.claude-3-haiku", 429,
			`{"__type":"ThrottlingException","message":"slow down"}`,
			`{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`},
		{"no message", newTestVendor(t, "anthropic"), "claude", 413, ``,
			`{"type":"error","error":{"type":"request_too_large","message":"Request Entity Too Large"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := c.v.Translator(Attempt{Endpoint: Messages, Model: c.model})
			require.NoError(t, err)
			h := http.Header{}
			assert.JSONEq(t, c.want, string(tr.ErrorBody(h, c.status, []byte(c.body))))
			assert.Equal(t, "application/json", h.Get("Content-Type"))
		})
	}
}

// Through the chat bridge: a Messages request to an OpenAI-compatible
// vendor is a chat request, and its chat stream comes back as Messages
// events, metered by the chat meter.
func TestMessagesBridge(t *testing.T) {
	v := newTestVendor(t, "openai")
	body := `{"model":"claude","max_tokens":100,"stream":true,"thinking":{"type":"enabled","budget_tokens":2048},` +
		`"messages":[{"role":"user","content":"Hi"}]}`
	a := Attempt{Endpoint: Messages, Model: "o3", Body: []byte(body), Stream: true, PromptTokens: 4}
	tr, err := v.Translator(a)
	require.NoError(t, err)
	defer tr.Release()
	out := messagesClientRequest(t, body)
	require.NoError(t, tr.Request(out))
	assert.Equal(t, "https://api.openai.com/v1/chat/completions", out.URL.String())
	got := awsReadBody(t, out)
	assert.Equal(t, "o3", gjson.GetBytes(got, "model").String())
	assert.Equal(t, "low", gjson.GetBytes(got, "reasoning_effort").String(), "thinking, for a model that takes an effort")
	assert.Equal(t, "Hi", gjson.GetBytes(got, "messages.0.content").String())
	assert.True(t, gjson.GetBytes(got, "stream_options.include_usage").Bool())

	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}}
	tr.ResponseHeaders(resp)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	chat := chatTestStream(`{"role":"assistant","content":""}`, `{"content":"Hello"}`) +
		`data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"o3","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n" +
		`data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"o3","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13}}` + "\n\n" +
		"data: [DONE]\n\n"
	var sse strings.Builder
	for i := 0; i < len(chat); i += 9 {
		require.NoError(t, tr.Feed([]byte(chat[i:min(i+9, len(chat))]), i+9 >= len(chat)))
		sse.Write(tr.Output())
	}
	tr.End()
	sse.Write(tr.Output())
	assert.True(t, tr.Committed())
	assert.True(t, tr.Done())
	assert.Equal(t, billing.Usage{PromptTokens: 10, CompletionTokens: 3}, tr.Usage())
	assert.Equal(t, []string{"message_start", "ping", "content_block_start", "content_block_delta", "content_block_stop",
		"message_delta", "message_stop"}, messagesEventTypes(t, sse.String()))
	assert.NotContains(t, sse.String(), "[DONE]")

	// The vendor's OpenAI-shaped error, in Anthropic's shape.
	h := http.Header{}
	assert.JSONEq(t, `{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}`,
		string(tr.ErrorBody(h, 400, []byte(`{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}`))))

	// A model that takes no effort gets none.
	tr2, err := newTestVendor(t, "mistral").Translator(Attempt{Endpoint: Messages, Model: "mistral-large", Body: []byte(body), Stream: true})
	require.NoError(t, err)
	out = messagesClientRequest(t, body)
	require.NoError(t, tr2.Request(out))
	assert.False(t, gjson.GetBytes(awsReadBody(t, out), "reasoning_effort").Exists())
	tr2.Release()
}

// count_tokens at Claude on Vertex AI and Bedrock: their counting
// endpoints, in their shapes; other models have no count (the router
// estimates).
func TestMessagesTranslator_CountTokens(t *testing.T) {
	const count = `{"model":"claude","messages":[{"role":"user","content":"Hi"}]}`
	ts := startVertexTokenServer(t, nil)
	vx := newVertexTestVendor(t, ts, Config{Region: "us-east5"})
	out := messagesClientRequest(t, count)
	require.NoError(t, vx.Prepare(out, Attempt{Endpoint: CountTokens, Model: "claude-sonnet-4@20250514", Body: []byte(count)}))
	assert.Equal(t, "https://us-east5-aiplatform.googleapis.com/v1/projects/proj/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict", out.URL.String())
	assert.JSONEq(t, `{"model":"claude-sonnet-4@20250514","anthropic_version":"vertex-2023-10-16","messages":[{"role":"user","content":"Hi"}]}`, string(awsReadBody(t, out)))
	_, err := vx.Translator(Attempt{Endpoint: CountTokens, Model: "gemini-2.5-pro", Body: []byte(count)})
	assert.Error(t, err)
	assert.False(t, vx.CountTokensFinal())

	aws := newAWSTestVendor(t, Config{ID: "bedrock", Kind: "aws", APIKey: "bedrock-api-key", Region: "us-east-1"})
	out = messagesClientRequest(t, count)
	require.NoError(t, aws.Prepare(out, Attempt{Endpoint: CountTokens, Model: "us.anthropic.claude-sonnet-4-20250514-v1:0", Body: []byte(count)}))
	assert.Equal(t, "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-sonnet-4-20250514-v1%3A0/count-tokens", out.URL.String(),
		"CountTokens takes the foundation model, not the inference profile")
	got := awsReadBody(t, out)
	inner, err := base64.StdEncoding.DecodeString(gjson.GetBytes(got, "input.invokeModel.body").String())
	require.NoError(t, err, string(got))
	assert.JSONEq(t, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{"role":"user","content":"Hi"}],`+
		`"anthropic_beta":["context-management-2025-06-27","interleaved-thinking-2025-05-14"]}`, string(inner))
	tr, err := aws.Translator(Attempt{Endpoint: CountTokens, Model: "anthropic.claude-x", Body: []byte(count)})
	require.NoError(t, err)
	answer, res, err := tr.Answer([]byte(`{"inputTokens":42}`))
	require.NoError(t, err)
	assert.JSONEq(t, `{"input_tokens":42}`, string(answer))
	assert.True(t, res.HasContent)
	_, err = aws.Translator(Attempt{Endpoint: CountTokens, Model: "amazon.nova-pro-v1:0", Body: []byte(count)})
	assert.Error(t, err)
	assert.True(t, newTestVendor(t, "anthropic").CountTokensFinal())

	assert.Equal(t, "anthropic.claude-3", bedrockFoundationModel("global.anthropic.claude-3"))
	assert.Equal(t, "anthropic.claude-3", bedrockFoundationModel("anthropic.claude-3"))
	assert.Equal(t, "arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-3", bedrockFoundationModel("arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-3"))
}
