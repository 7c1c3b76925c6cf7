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

// reasoning_effort reaches each native kind in its own terms (Anthropic's
// thinking, Gemini's thinkingConfig, Claude's thinking on Bedrock), and the
// reasoning the vendor returns comes back as reasoning_content.
func TestReasoningEffortOnNativeKinds(t *testing.T) {
	creds := &fakevendor.BedrockCredentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", Region: "us-east-1"}
	claude := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Reply: "From Claude"})
	gemini := fakevendor.StartGemini(t, fakevendor.GeminiOptions{Reply: "From Gemini", Thought: "Let me think"})
	bedrock := fakevendor.StartBedrock(t, fakevendor.BedrockOptions{Reply: "From Bedrock", Reasoning: "Pondering", RequireSigV4: creds})
	startRouter(t, routerBlock(nil,
		vendorBlock("anthropic", "anthropic", claude.URL(), "sk-ant", "model claude-x as claude-sonnet-4-5"),
		vendorBlock("google", "google", gemini.URL(), "AIza", "model gemini-x as gemini-2.5-flash"),
		vendorBlock("bedrock", "aws", bedrock.URL(), "", "region us-east-1", "access_key_id "+creds.AccessKeyID,
			"secret_access_key "+creds.SecretAccessKey, "model claude-bedrock as us.anthropic.claude-sonnet-4-20250514-v1:0")))

	resp, body := post(t, "/v1/chat/completions",
		`{"model":"claude-x","reasoning_effort":"medium","temperature":0.5,"messages":[{"role":"user","content":"hi"}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	sent := claude.Requests()[0].Body
	assert.JSONEq(t, `{"type":"enabled","budget_tokens":8192}`, gjson.GetBytes(sent, "thinking").Raw)
	assert.Greater(t, gjson.GetBytes(sent, "max_tokens").Int(), int64(8192))
	assert.False(t, gjson.GetBytes(sent, "temperature").Exists())

	resp, body = post(t, "/v1/chat/completions",
		`{"model":"gemini-x","reasoning_effort":"high","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.JSONEq(t, `{"thinkingBudget":24576,"includeThoughts":true}`,
		gjson.GetBytes(gemini.Requests()[0].Body, "generationConfig.thinkingConfig").Raw)
	assert.Equal(t, "From Gemini", streamText(t, body))
	assert.Equal(t, "Let me think", streamReasoning(t, body))

	resp, body = post(t, "/v1/chat/completions",
		`{"model":"claude-bedrock","reasoning_effort":"low","messages":[{"role":"user","content":"hi"}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.JSONEq(t, `{"thinking":{"type":"enabled","budget_tokens":1024}}`,
		gjson.GetBytes(bedrock.Requests()[0].Body, "additionalModelRequestFields").Raw)
	assert.Equal(t, "From Bedrock", gjson.Get(body, "choices.0.message.content").String())
	assert.Equal(t, "Pondering", gjson.Get(body, "choices.0.message.reasoning_content").String())

	// A value no API knows is the client's mistake, said as such.
	resp, body = post(t, "/v1/chat/completions",
		`{"model":"claude-x","reasoning_effort":"maximum","messages":[{"role":"user","content":"hi"}]}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	assert.Contains(t, gjson.Get(body, "error.message").String(), `reasoning_effort "maximum" is not one of`)
	assert.Equal(t, 1, claude.Count(), "never sent")
}

// streamReasoning joins the reasoning_content deltas of a chat stream.
func streamReasoning(t *testing.T, body string) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, sseEvents(strings.NewReader(body), func(data string) {
		b.WriteString(gjson.Get(data, "choices.0.delta.reasoning_content").String())
	}))
	return b.String()
}
