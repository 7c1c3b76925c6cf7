package llmrouter_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// A conversation that another vendor answered in part reaches Claude
// without the thinking Claude did not sign (which it refuses) and with tool
// ids it accepts; Claude's own signed thinking goes through untouched.
func TestMessagesReplayToClaude(t *testing.T) {
	claude := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Reply: "Still sunny", InputTokens: 12, OutputTokens: 3})
	startRouter(t, routerBlock(nil, vendorBlock("anthropic", "anthropic", claude.URL(), "sk-ant", "model msg-replay as claude-sonnet-4-5")))

	signed := fakevendor.ClaudeSignature()
	body := `{"model":"msg-replay","max_tokens":100,"messages":[` +
		`{"role":"user","content":"Weather in Paris?"},` +
		`{"role":"assistant","content":[{"type":"thinking","thinking":"(a bridged vendor's reasoning)","signature":""},` +
		`{"type":"tool_use","id":"call_7__thought__CiQB+x/y=","name":"get_weather","input":{"city":"Paris"}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_7__thought__CiQB+x/y=","content":"sunny"}]},` +
		`{"role":"assistant","content":[{"type":"thinking","thinking":"Claude's own","signature":"` + signed + `"},{"type":"text","text":"Sunny."}]},` +
		`{"role":"user","content":"And now?"}]}`
	for _, path := range []string{"/v1/messages", "/v1/messages/count_tokens"} {
		resp, answer := post(t, path, body, "Anthropic-Version", "2023-06-01")
		require.Equal(t, http.StatusOK, resp.StatusCode, answer)
		assert.Equal(t, "anthropic", resp.Header.Get("X-LLM-Vendor"), path)
		reqs := claude.Requests()
		sent := gjson.ParseBytes(reqs[len(reqs)-1].Body)
		assert.JSONEq(t, `[{"type":"tool_use","id":"call_7__thought__CiQB_x_y_","name":"get_weather","input":{"city":"Paris"}}]`,
			sent.Get("messages.1.content").Raw, path)
		assert.Equal(t, "call_7__thought__CiQB_x_y_", sent.Get("messages.2.content.0.tool_use_id").String())
		assert.Equal(t, signed, sent.Get("messages.3.content.0.signature").String(), "Claude's own thinking stays")
	}
	resp, answer := post(t, "/v1/messages", body)
	require.Equal(t, http.StatusOK, resp.StatusCode, answer)
	assert.Equal(t, "Still sunny", gjson.Get(answer, "content.0.text").String())
}

// claudeClouds starts Claude on a fake Bedrock (SigV4) and a fake Vertex
// AI (a service account), and a router that serves model claude-cloud at
// both: bedrock the cheaper, so that "routing":"price" tries it first.
func claudeClouds(t *testing.T, bo fakevendor.BedrockOptions, co fakevendor.AnthropicOptions) (*fakevendor.BedrockVendor, *fakevendor.GeminiVendor) {
	t.Helper()
	creds := &fakevendor.BedrockCredentials{AccessKeyID: "AKIDCLAUDE", SecretAccessKey: "claude-on-bedrock-secret", Region: "us-east-1"}
	bo.RequireSigV4 = creds
	bedrock := fakevendor.StartBedrock(t, bo)
	tokenURL, _ := fakevendor.StartGoogleTokenServer(t)
	vertex := fakevendor.StartGemini(t, fakevendor.GeminiOptions{RequireKey: fakevendor.VertexFakeToken, Claude: co})
	saFile := filepath.Join(t.TempDir(), "sa.json")
	require.NoError(t, os.WriteFile(saFile, fakevendor.VertexServiceAccountJSON(t, tokenURL), 0o600))
	startRouter(t, routerBlock(nil,
		vendorBlock("bedrock", "aws", bedrock.URL(), "", "region us-east-1", "access_key_id "+creds.AccessKeyID,
			"secret_access_key "+creds.SecretAccessKey, "model claude-cloud as us.anthropic.claude-sonnet-4-20250514-v1:0 input 2 output 10"),
		vendorBlock("vertex", "vertex", vertex.URL(), "", "project fake-project", "region us-east5", "credentials_file "+saFile,
			"model claude-cloud as claude-sonnet-4@20250514 input 3 output 15"),
	))
	return bedrock, vertex
}

// Claude on Bedrock (InvokeModel and its stream) and on Vertex AI
// (rawPredict, streamRawPredict) behind /v1/messages: the client's body
// passes through in each one's dialect, the answers are Anthropic's, the
// usage is the vendor's and lands in the ledger.
func TestMessagesClaudeOnBedrockAndVertex(t *testing.T) {
	bedrock, vertex := claudeClouds(t,
		fakevendor.BedrockOptions{Reply: "Hello from Claude on Bedrock", InputTokens: 31, OutputTokens: 6},
		fakevendor.AnthropicOptions{Reply: "Hello from Claude on Vertex", InputTokens: 41, OutputTokens: 7})

	for _, c := range []struct {
		vendor, reply, path string
		in, out             int64
		stream              bool
	}{
		{"bedrock", "Hello from Claude on Bedrock", "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/invoke", 31, 6, false},
		{"bedrock", "Hello from Claude on Bedrock", "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/invoke-with-response-stream", 31, 6, true},
		{"vertex", "Hello from Claude on Vertex", "/v1/projects/fake-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict", 41, 7, false},
		{"vertex", "Hello from Claude on Vertex", "/v1/projects/fake-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict", 41, 7, true},
	} {
		name := fmt.Sprintf("%s stream=%v", c.vendor, c.stream)
		extra := ""
		if c.stream {
			extra = `"stream":true`
		}
		key := fmt.Sprintf("client-%s-%v-%d", c.vendor, c.stream, time.Now().UnixNano())
		resp, body := post(t, "/v1/messages", messagesBody("claude-cloud", extra), "vendor", c.vendor, "X-Api-Key", key,
			"Anthropic-Version", "2023-06-01", "Anthropic-Beta", "interleaved-thinking-2025-05-14")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", name, body)
		assert.Equal(t, c.vendor, resp.Header.Get("X-LLM-Vendor"), name)
		if c.stream {
			assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"), name)
			types := messagesEventTypes(t, body)
			assert.Equal(t, "message_start", types[0], name)
			assert.Equal(t, []string{"message_delta", "message_stop"}, types[len(types)-2:], name)
			assert.Contains(t, body, `"output_tokens":`+fmt.Sprint(c.out), name)
		} else {
			assert.Equal(t, c.reply, gjson.Get(body, "content.0.text").String(), name)
			assert.Equal(t, c.in, gjson.Get(body, "usage.input_tokens").Int(), name)
		}
		stats := clientStats(t, clientKey(key))
		assert.Equal(t, int64(1), stats.Get("billable_requests").Int(), name)
		assert.Equal(t, c.in, stats.Get("billable_prompt_tokens").Int(), name)
		assert.Equal(t, c.out, stats.Get("billable_completion_tokens").Int(), name)
	}

	sent := bedrock.Requests()
	require.Len(t, sent, 2)
	assert.Equal(t, "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/invoke", sent[0].RawPath)
	assert.Equal(t, "invoke-with-response-stream", sent[1].Operation)
	assert.Equal(t, "bedrock-2023-05-31", gjson.GetBytes(sent[1].Body, "anthropic_version").String())
	assert.JSONEq(t, `["interleaved-thinking-2025-05-14"]`, gjson.GetBytes(sent[1].Body, "anthropic_beta").Raw)
	assert.Equal(t, "ephemeral", gjson.GetBytes(sent[1].Body, "system.0.cache_control.type").String())
	vsent := vertex.Requests()
	require.Len(t, vsent, 2)
	assert.True(t, strings.HasSuffix(vsent[1].Path, ":streamRawPredict"), vsent[1].Path)
	assert.Equal(t, "vertex-2023-10-16", gjson.GetBytes(vsent[1].Body, "anthropic_version").String())
	assert.Equal(t, "interleaved-thinking-2025-05-14", vsent[1].Header.Get("Anthropic-Beta"))
	assert.Equal(t, "Bearer "+fakevendor.VertexFakeToken, vsent[1].Header.Get("Authorization"))

	// count_tokens: each cloud's own count, never metered.
	const count = `{"model":"claude-cloud","messages":[{"role":"user","content":"How many tokens is this?"}]}`
	key := fmt.Sprintf("client-count-%d", time.Now().UnixNano())
	for _, vendor := range []string{"bedrock", "vertex"} {
		resp, body := post(t, "/v1/messages/count_tokens", count, "vendor", vendor, "X-Api-Key", key)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Greater(t, gjson.Get(body, "input_tokens").Int(), int64(1000), "%s counted: %s", vendor, body)
		assert.Equal(t, vendor, resp.Header.Get("X-LLM-Vendor"))
	}
	assert.Equal(t, "/model/anthropic.claude-sonnet-4-20250514-v1%3A0/count-tokens", bedrock.Requests()[2].RawPath,
		"counted on the foundation model")
	assert.True(t, strings.HasSuffix(vertex.Requests()[2].Path, "/publishers/anthropic/models/count-tokens:rawPredict"))
	_, stats := adminGet(t, "/llm_router/stats")
	assert.NotContains(t, stats, clientKey(key), "count_tokens is never metered")

	// A cloud that cannot count: the router's estimate, not its error.
	bedrock.SetOptions(fakevendor.BedrockOptions{RequireSigV4: &fakevendor.BedrockCredentials{AccessKeyID: "AKIDCLAUDE",
		SecretAccessKey: "claude-on-bedrock-secret", Region: "us-east-1"}, Status: 400, ErrorType: "ValidationException",
		ErrorMessage: "The provided model doesn't support counting tokens."})
	resp, body := post(t, "/v1/messages/count_tokens", count, "vendor", "bedrock")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	n := gjson.Get(body, "input_tokens").Int()
	assert.True(t, n > 0 && n < 100, body)
}

// Failover before the commit point between the two clouds: an error
// answer, and a stream that fails before its first token.
func TestMessagesClaudeCloudFailover(t *testing.T) {
	bedrock, vertex := claudeClouds(t,
		fakevendor.BedrockOptions{Status: http.StatusTooManyRequests},
		fakevendor.AnthropicOptions{Reply: "Vertex took over", InputTokens: 20, OutputTokens: 3})

	key := fmt.Sprintf("client-failover-%d", time.Now().UnixNano())
	resp, body := post(t, "/v1/messages", messagesBody("claude-cloud", `"routing":"price"`), "X-Api-Key", key)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "vertex", resp.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, "2", resp.Header.Get("X-LLM-Attempts"))
	assert.Equal(t, "Vertex took over", gjson.Get(body, "content.0.text").String())
	assert.Equal(t, 1, bedrock.Count())
	stats := clientStats(t, clientKey(key))
	assert.Equal(t, int64(1), stats.Get("billable_requests").Int(), "only the answer is billed")
	assert.Equal(t, int64(20), stats.Get("billable_prompt_tokens").Int())

	// Vertex overloaded, Bedrock's stream fails before its first token
	// (an exception frame): nothing reached the client, so the router
	// moves on, and the last vendor's error is the client's, in
	// Anthropic's shape.
	bedrock.SetOptions(fakevendor.BedrockOptions{RequireSigV4: &fakevendor.BedrockCredentials{AccessKeyID: "AKIDCLAUDE",
		SecretAccessKey: "claude-on-bedrock-secret", Region: "us-east-1"},
		Reply: "never seen", StreamException: "serviceUnavailableException", ExceptionAfter: 0})
	vertex.SetOptions(fakevendor.GeminiOptions{RequireKey: fakevendor.VertexFakeToken,
		Claude: fakevendor.AnthropicOptions{Status: 529}})
	resp, body = post(t, "/v1/messages", messagesBody("claude-cloud", `"stream":true,"routing":"price"`))
	assert.NotEqual(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "error", gjson.Get(body, "type").String(), body)
	assert.Len(t, gjson.Get(body, "error.attempts").Array(), 2, body)
	assert.NotContains(t, body, "never seen")

	// Bedrock's stream now fails before its first token, Vertex answers.
	vertex.SetOptions(fakevendor.GeminiOptions{RequireKey: fakevendor.VertexFakeToken,
		Claude: fakevendor.AnthropicOptions{Reply: "Vertex streamed it"}})
	resp, body = post(t, "/v1/messages", messagesBody("claude-cloud", `"stream":true,"routing":"price"`))
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "vertex", resp.Header.Get("X-LLM-Vendor"))
	assert.Contains(t, body, `"text":"Vertex"`)
	assert.NotContains(t, body, "never seen")
	types := messagesEventTypes(t, body)
	assert.Equal(t, 1, strings.Count(strings.Join(types, ","), "message_start"), "one stream reaches the client")
}
