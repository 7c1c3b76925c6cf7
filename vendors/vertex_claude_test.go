package vendors

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

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
