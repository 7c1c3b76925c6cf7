package fakevendor

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// The Anthropic fake refuses what Claude refuses in a replayed
// conversation: thinking it did not sign, tool ids outside its pattern.
// Its own thinking, replayed, is taken.
func TestClaudeFakeReplayChecks(t *testing.T) {
	v := StartAnthropic(t, AnthropicOptions{Thinking: "Let me think.", Reply: "Done."})
	resp := anthropicPost(t, v, "/v1/messages", anthropicTestBody, nil)
	require.Equal(t, 200, resp.StatusCode)
	msg := anthropicDecodeJSON(t, resp)
	content := msg["content"].([]any)
	require.Len(t, content, 2)
	thinking := content[0].(map[string]any)
	assert.Equal(t, "thinking", thinking["type"])
	assert.Equal(t, "Let me think.", thinking["thinking"])
	sig := thinking["signature"].(string)

	turn := func(block string) string {
		return `{"model":"c","max_tokens":9,"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":[` + block +
			`,{"type":"text","text":"Hello"}]},{"role":"user","content":"Again"}]}`
	}
	for block, want := range map[string]string{
		`{"type":"thinking","thinking":"t","signature":""}`:                      "messages.1.content.0: Invalid `signature` in `thinking` block",
		`{"type":"thinking","thinking":"t"}`:                                     "messages.1.content.0.thinking.signature: Field required",
		`{"type":"thinking","thinking":"t","signature":"fake-signature"}`:        "messages.1.content.0: Invalid `signature` in `thinking` block",
		`{"type":"redacted_thinking","data":"xyz"}`:                              "messages.1.content.0: Invalid `data` in `redacted_thinking` block",
		`{"type":"tool_use","id":"call_1__thought__a+b=","name":"f","input":{}}`: "messages.1.content.0.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'",
		`{"type":"thinking","thinking":"t","signature":"` + sig + `"}`:           "",
	} {
		for _, path := range []string{"/v1/messages", "/v1/messages/count_tokens"} {
			resp := anthropicPost(t, v, path, turn(block), nil)
			body, _ := io.ReadAll(resp.Body)
			if want == "" {
				assert.Equal(t, 200, resp.StatusCode, "%s %s", block, body)
				continue
			}
			assert.Equal(t, 400, resp.StatusCode, block)
			assert.Equal(t, want, gjson.GetBytes(body, "error.message").String(), block)
		}
	}
}

// bedrockInvoke posts an Anthropic body to InvokeModel (or its stream).
func bedrockInvoke(t *testing.T, v *BedrockVendor, model, op, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(v.URL()+"/model/"+strings.ReplaceAll(model, ":", "%3A")+"/"+op, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

const bedrockClaudeBody = `{"anthropic_version":"bedrock-2023-05-31","max_tokens":50,"messages":[{"role":"user","content":"Hi"}]}`

func TestBedrockInvokeClaude(t *testing.T) {
	v := StartBedrock(t, BedrockOptions{Reply: "Hello from Claude on Bedrock", Reasoning: "Hmm.", InputTokens: 11, OutputTokens: 7,
		ToolCall: &BedrockToolCall{ID: "toolu_bdrk_1", Name: "get_weather", Input: `{"city":"Paris"}`}})
	resp := bedrockInvoke(t, v, bedrockModel, "invoke", bedrockClaudeBody)
	require.Equal(t, 200, resp.StatusCode)
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "message", gjson.GetBytes(body, "type").String())
	assert.Equal(t, "thinking", gjson.GetBytes(body, "content.0.type").String())
	assert.Equal(t, "Hello from Claude on Bedrock", gjson.GetBytes(body, "content.1.text").String())
	assert.Equal(t, "toolu_bdrk_1", gjson.GetBytes(body, "content.2.id").String())
	assert.Equal(t, "tool_use", gjson.GetBytes(body, "stop_reason").String())
	assert.EqualValues(t, 11, gjson.GetBytes(body, "usage.input_tokens").Int())
	assert.Equal(t, "invoke", v.Requests()[0].Operation)

	resp = bedrockInvoke(t, v, bedrockModel, "invoke-with-response-stream", bedrockClaudeBody)
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "application/vnd.amazon.eventstream", resp.Header.Get("Content-Type"))
	var types []string
	var last string
	for _, f := range bedrockFrames(t, resp.Body) {
		require.Equal(t, "chunk", f[0])
		ev, err := base64.StdEncoding.DecodeString(gjson.Get(f[1], "bytes").String())
		require.NoError(t, err)
		types = append(types, gjson.GetBytes(ev, "type").String())
		last = string(ev)
	}
	assert.Equal(t, "message_start", types[0])
	assert.Contains(t, types, "ping")
	assert.Equal(t, []string{"message_delta", "message_stop"}, types[len(types)-2:])
	assert.EqualValues(t, 11, gjson.Get(last, "amazon-bedrock-invocationMetrics.inputTokenCount").Int())
	assert.True(t, v.Requests()[1].Stream)

	// A stream exception after the first text delta.
	v.SetOptions(BedrockOptions{Reply: "one two three", StreamException: "throttlingException", ExceptionAfter: 1})
	resp = bedrockInvoke(t, v, bedrockModel, "invoke-with-response-stream", bedrockClaudeBody)
	frames := bedrockFrames(t, resp.Body)
	assert.Equal(t, "throttlingException", frames[len(frames)-1][0])

	// What Bedrock refuses in an Anthropic body.
	v.SetOptions(BedrockOptions{})
	for body, want := range map[string]string{
		`{"max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}`:                                                        "anthropic_version: Field required",
		`{"anthropic_version":"bedrock-2023-05-31","model":"x","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}`:   "extraneous key [model]",
		`{"anthropic_version":"bedrock-2023-05-31","stream":true,"max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}`: "extraneous key [stream]",
		`{"anthropic_version":"vertex-2023-10-16","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}`:                "anthropic_version",
	} {
		resp := bedrockInvoke(t, v, bedrockModel, "invoke", body)
		b, _ := io.ReadAll(resp.Body)
		assert.Equal(t, 400, resp.StatusCode, body)
		assert.True(t, strings.HasPrefix(resp.Header.Get("X-Amzn-Errortype"), "ValidationException:"), body)
		assert.Contains(t, gjson.GetBytes(b, "message").String(), want)
	}
}

func TestBedrockCountTokens(t *testing.T) {
	v := StartBedrock(t, BedrockOptions{})
	in := `{"input":{"invokeModel":{"body":"` + base64.StdEncoding.EncodeToString([]byte(bedrockClaudeBody)) + `"}}}`
	resp := bedrockInvoke(t, v, bedrockModel, "count-tokens", in)
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, 200, resp.StatusCode, string(b))
	assert.EqualValues(t, len(bedrockClaudeBody)/4+1000, gjson.GetBytes(b, "inputTokens").Int())

	resp = bedrockInvoke(t, v, "us."+bedrockModel, "count-tokens", in)
	b, _ = io.ReadAll(resp.Body)
	assert.Equal(t, 400, resp.StatusCode)
	assert.Contains(t, string(b), "doesn't support counting tokens")
}

func TestVertexClaude(t *testing.T) {
	v := StartGemini(t, GeminiOptions{RequireKey: VertexFakeToken,
		Claude: AnthropicOptions{Reply: "Hello from Claude on Vertex", InputTokens: 21, OutputTokens: 4}})
	const prefix = "/v1/projects/p/locations/us-east5/publishers/anthropic/models/"
	auth := map[string]string{"Authorization": "Bearer " + VertexFakeToken}
	body := `{"anthropic_version":"vertex-2023-10-16","max_tokens":50,"messages":[{"role":"user","content":"Hi"}]}`
	resp := geminiPost(t, v, prefix+"claude-sonnet-4@20250514:rawPredict", body, auth)
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, 200, resp.StatusCode, string(b))
	assert.Equal(t, "Hello from Claude on Vertex", gjson.GetBytes(b, "content.0.text").String())
	assert.Equal(t, "claude-sonnet-4@20250514", gjson.GetBytes(b, "model").String())

	resp = geminiPost(t, v, prefix+"claude-sonnet-4@20250514:streamRawPredict", strings.Replace(body, `"max_tokens"`, `"stream":true,"max_tokens"`, 1), auth)
	require.Equal(t, 200, resp.StatusCode)
	events := anthropicNames(anthropicReadSSE(t, resp.Body))
	assert.Equal(t, "message_start", events[0])
	assert.Equal(t, "message_stop", events[len(events)-1])

	resp = geminiPost(t, v, prefix+"count-tokens:rawPredict",
		`{"anthropic_version":"vertex-2023-10-16","model":"claude-sonnet-4@20250514","messages":[{"role":"user","content":"Hi"}]}`, auth)
	b, _ = io.ReadAll(resp.Body)
	require.Equal(t, 200, resp.StatusCode, string(b))
	assert.Greater(t, gjson.GetBytes(b, "input_tokens").Int(), int64(1000))

	// The model in the body, a missing version, no token: refused.
	resp = geminiPost(t, v, prefix+"claude-sonnet-4@20250514:rawPredict", strings.Replace(body, `{`, `{"model":"x",`, 1), auth)
	assert.Equal(t, 400, resp.StatusCode)
	resp = geminiPost(t, v, prefix+"claude-sonnet-4@20250514:rawPredict", `{"max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}`, auth)
	b, _ = io.ReadAll(resp.Body)
	assert.Equal(t, "anthropic_version: Field required", gjson.GetBytes(b, "error.message").String())
	assert.Equal(t, 403, geminiPost(t, v, prefix+"claude-sonnet-4@20250514:rawPredict", body, nil).StatusCode)
	// Gemini's methods are not Claude's.
	assert.Equal(t, 404, geminiPost(t, v, prefix+"claude-sonnet-4@20250514:generateContent", body, auth).StatusCode)

	v.SetOptions(GeminiOptions{Claude: AnthropicOptions{Status: 529}})
	resp = geminiPost(t, v, prefix+"claude-sonnet-4@20250514:rawPredict", body, nil)
	b, _ = io.ReadAll(resp.Body)
	assert.Equal(t, 529, resp.StatusCode)
	assert.Equal(t, "overloaded_error", gjson.GetBytes(b, "error.type").String())
}
