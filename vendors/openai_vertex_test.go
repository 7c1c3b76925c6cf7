package vendors

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

func TestVertexPrepareGemini(t *testing.T) {
	in, err := os.ReadFile("testdata/google/requests/tools.openai.json")
	require.NoError(t, err)
	want, err := os.ReadFile("testdata/google/requests/tools.gemini.json")
	require.NoError(t, err)

	cases := []struct {
		name    string
		cfg     Config
		model   string
		stream  bool
		wantURL string
		dial    string
	}{
		{"regional", Config{Region: "us-central1"}, "gemini-2.5-flash", false,
			"https://us-central1-aiplatform.googleapis.com/v1/projects/proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent",
			"us-central1-aiplatform.googleapis.com:443"},
		{"regional stream", Config{Region: "europe-west4", Project: "my-project-123"}, "gemini-2.5-pro", true,
			"https://europe-west4-aiplatform.googleapis.com/v1/projects/my-project-123/locations/europe-west4/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
			"europe-west4-aiplatform.googleapis.com:443"},
		{"global", Config{Region: "global"}, "gemini-3-pro-preview", false,
			"https://aiplatform.googleapis.com/v1/projects/proj/locations/global/publishers/google/models/gemini-3-pro-preview:generateContent",
			"aiplatform.googleapis.com:443"},
		{"base_url overrides the host", Config{Region: "us-east5", BaseURL: "http://127.0.0.1:8123/vertex/"}, "gemini-2.5-flash", true,
			"http://127.0.0.1:8123/vertex/v1/projects/proj/locations/us-east5/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
			"127.0.0.1:8123"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := startVertexTokenServer(t, nil)
			v := newVertexTestVendor(t, ts, c.cfg)
			assert.Equal(t, c.dial, v.Dial())
			assert.True(t, v.Native())
			for range 2 {
				out := vertexPrepareTest(t, v, Attempt{Endpoint: ChatCompletions, Model: c.model, Body: in, Stream: c.stream})
				assert.Equal(t, c.wantURL, out.URL.String())
				assert.Equal(t, []string{"Bearer tok"}, out.Header.Values("Authorization"))
				assert.Empty(t, out.Header.Values("X-Goog-Api-Key"))
				assert.Empty(t, out.Header.Get("Accept-Encoding"))
				assert.Equal(t, "application/json", out.Header.Get("Content-Type"))
				got, err := io.ReadAll(out.Body)
				require.NoError(t, err)
				assert.JSONEq(t, string(want), string(got))
			}
			assert.Equal(t, int64(1), ts.requests.Load(), "one token for both requests")
		})
	}
}

// Vertex Gemini answers are translated like the Gemini API's.
func TestVertexTranslate(t *testing.T) {
	ts := startVertexTokenServer(t, nil)
	v := newVertexTestVendor(t, ts, Config{})
	in, err := os.ReadFile("testdata/google/streams/text.sse")
	require.NoError(t, err)
	resp := &http.Response{Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(in))}
	v.TranslateResponse(resp, Attempt{Endpoint: ChatCompletions, Model: "gemini-x", Stream: true})
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	want, err := os.ReadFile("testdata/google/streams/text.openai.txt")
	require.NoError(t, err)
	assert.Equal(t, string(want), geminiNormalize(string(got)))

	body := []byte(`{"error":{"code":404,"message":"Publisher Model ` + "`projects/proj/locations/us-central1/publishers/google/models/gemini-9`" + ` was not found or your project does not have access to it.","status":"NOT_FOUND"}}`)
	tr := v.TranslateError(404, body)
	assert.Equal(t, "NOT_FOUND", gjson.GetBytes(tr, "error.type").String())
	assert.Contains(t, gjson.GetBytes(tr, "error.message").String(), "was not found")
	assert.Equal(t, Verdict{true, "not_found"}, v.Classify(404, body))
	assert.Equal(t, Verdict{true, "rate_limited"}, v.Classify(429, []byte(`{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}`)))
}

// Claude on Vertex: Anthropic's Messages body (no model, Vertex's
// anthropic_version) to :rawPredict / :streamRawPredict, and Anthropic's
// answers translated by the anthropic kind's code.
func TestVertexPrepareClaude(t *testing.T) {
	ts := startVertexTokenServer(t, nil)
	v := newVertexTestVendor(t, ts, Config{Region: "us-east5", DefaultMaxTokens: 1000})
	body := []byte(`{"model":"x","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"temperature":0.5}`)

	out := vertexPrepareTest(t, v, Attempt{Endpoint: ChatCompletions, Model: "claude-sonnet-4@20250514", Body: body})
	assert.Equal(t, "https://us-east5-aiplatform.googleapis.com/v1/projects/proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict", out.URL.String())
	assert.Equal(t, "Bearer tok", out.Header.Get("Authorization"))
	got, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	assert.Equal(t, "vertex-2023-10-16", gjson.GetBytes(got, "anthropic_version").String())
	assert.False(t, gjson.GetBytes(got, "model").Exists(), "the model is in the URL")
	assert.EqualValues(t, 1000, gjson.GetBytes(got, "max_tokens").Int())
	assert.Equal(t, "Be brief.", gjson.GetBytes(got, "system").String())
	assert.Equal(t, "Hi", gjson.GetBytes(got, "messages.0.content.0.text").String())
	assert.False(t, gjson.GetBytes(got, "stream").Bool())

	out = vertexPrepareTest(t, v, Attempt{Endpoint: ChatCompletions, Model: "claude-opus-4-1@20250805", Body: body, Stream: true})
	assert.Equal(t, "https://us-east5-aiplatform.googleapis.com/v1/projects/proj/locations/us-east5/publishers/anthropic/models/claude-opus-4-1@20250805:streamRawPredict", out.URL.String())
	got, err = io.ReadAll(out.Body)
	require.NoError(t, err)
	assert.True(t, gjson.GetBytes(got, "stream").Bool())
	assert.Equal(t, int64(1), ts.requests.Load())

	// The answers are Anthropic's.
	msg := `{"id":"msg_vrtx_01","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[{"type":"text","text":"Hello!"}],"stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":3}}`
	resp := &http.Response{Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(msg))}
	v.TranslateResponse(resp, Attempt{Endpoint: ChatCompletions, Model: "claude-sonnet-4@20250514"})
	got, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "Hello!", gjson.GetBytes(got, "choices.0.message.content").String())
	assert.EqualValues(t, 12, gjson.GetBytes(got, "usage.prompt_tokens").Int())

	stream := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_vrtx_02\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hey\"}}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	resp = &http.Response{Header: http.Header{}, Body: io.NopCloser(strings.NewReader(stream))}
	v.TranslateResponse(resp, Attempt{Endpoint: ChatCompletions, Model: "claude-sonnet-4@20250514", Stream: true})
	got, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(got), `"content":"Hey"`)
	assert.Contains(t, string(got), `"finish_reason":"stop"`)
	assert.True(t, strings.HasSuffix(string(got), "data: [DONE]\n\n"), "%s", got)
}

// Vertex AI picks the translation by publisher: Gemini's or Anthropic's
// answers, read the same way as from their own APIs.
func TestVertexTranslators_Feed(t *testing.T) {
	ts := startVertexTokenServer(t, nil)
	v := newVertexTestVendor(t, ts, Config{})
	checkStream(t, streamCase{
		v: v, a: Attempt{Endpoint: ChatCompletions, Model: "gemini-2.5-pro"},
		stream: []byte(geminiContractStream), firstContent: "Bonjour", wantText: "Bonjour monde",
		wantUsage: billing.Usage{PromptTokens: 6, CompletionTokens: 3},
	})
	checkStream(t, streamCase{
		v: v, a: Attempt{Endpoint: ChatCompletions, Model: "claude-sonnet-4@20250514"},
		stream: []byte(anthropicContractStream), firstContent: "Bonjour", wantText: "Bonjour monde",
		wantUsage: billing.Usage{PromptTokens: 10, CachedTokens: 3, CompletionTokens: 4},
	})
}

func TestVertexTranslators_ErrorBody(t *testing.T) {
	ts := startVertexTokenServer(t, nil)
	v := newVertexTestVendor(t, ts, Config{})
	checkNativeErrorBody(t, v, 400, `{"error":{"code":400,"message":"bad request","status":"INVALID_ARGUMENT"}}`,
		"bad request", "INVALID_ARGUMENT")
}
