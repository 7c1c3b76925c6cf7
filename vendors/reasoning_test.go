package vendors

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestParseReasoningEffort(t *testing.T) {
	for _, ok := range []string{"", "none", "minimal", "low", "medium", "high", "xhigh"} {
		got, err := parseReasoningEffort(ok)
		require.NoError(t, err, ok)
		assert.Equal(t, ok, got)
	}
	_, err := parseReasoningEffort("extreme")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `reasoning_effort "extreme" is not one of none, minimal, low`)

	_, err = parseChatRequest([]byte(`{"messages":[],"reasoning_effort":"HIGH"}`))
	require.Error(t, err, "a bad effort is the client's error, not silently dropped")
}

func TestClaudeThinking(t *testing.T) {
	user := `[{"role":"user","content":"x"}]`
	cases := []struct {
		name     string
		body     string
		max      int // what the request would send without thinking
		budget   int // 0: no thinking
		wantMax  int
		whyNoOne string
	}{
		{name: "no effort", body: `{"messages":` + user + `}`, max: 4096, wantMax: 4096},
		{name: "none", body: `{"messages":` + user + `,"reasoning_effort":"none"}`, max: 4096, wantMax: 4096},
		{name: "minimal", body: `{"messages":` + user + `,"reasoning_effort":"minimal"}`, max: 4096, wantMax: 4096},
		{name: "low, no client bound: budget on top", body: `{"messages":` + user + `,"reasoning_effort":"low"}`,
			max: 4096, budget: 1024, wantMax: 5120},
		{name: "high, no client bound", body: `{"messages":` + user + `,"reasoning_effort":"high"}`,
			max: 4096, budget: 24576, wantMax: 28672},
		{name: "client bound kept, budget within half of it",
			body: `{"messages":` + user + `,"reasoning_effort":"high","max_completion_tokens":10000}`,
			max:  10000, budget: 5000, wantMax: 10000},
		{name: "client bound too small for the smallest budget",
			body: `{"messages":` + user + `,"reasoning_effort":"medium","max_tokens":2000}`,
			max:  2000, wantMax: 2000},
		{name: "forced tool", body: `{"messages":` + user + `,"reasoning_effort":"high","tool_choice":"required"}`,
			max: 4096, wantMax: 4096},
		{name: "tool loop: results answer the assistant's calls",
			body: `{"reasoning_effort":"high","messages":[{"role":"user","content":"x"},
				{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"c1","content":"42"}]}`,
			max: 4096, wantMax: 4096},
		{name: "prefill", body: `{"reasoning_effort":"high","messages":[{"role":"user","content":"x"},{"role":"assistant","content":"Sure"}]}`,
			max: 4096, wantMax: 4096},
		{name: "a new user turn after a tool loop thinks again",
			body: `{"reasoning_effort":"low","messages":[{"role":"user","content":"x"},
				{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"c1","content":"42"},{"role":"assistant","content":"42"},{"role":"user","content":"why"}]}`,
			max: 4096, budget: 1024, wantMax: 5120},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := parseChatRequest([]byte(c.body))
			require.NoError(t, err)
			thinking, maxTokens := claudeThinking(&r, c.max)
			assert.Equal(t, c.wantMax, maxTokens)
			if c.budget == 0 {
				assert.Nil(t, thinking)
				return
			}
			require.NotNil(t, thinking)
			assert.Equal(t, anthropicThinking{Type: "enabled", BudgetTokens: c.budget}, *thinking)
			assert.Less(t, thinking.BudgetTokens, maxTokens, "Anthropic requires budget_tokens < max_tokens")
		})
	}
}

func TestAnthropicBodyThinking(t *testing.T) {
	r, err := parseChatRequest([]byte(`{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"medium",
		"temperature":0.2,"top_p":0.5}`))
	require.NoError(t, err)
	body, err := anthropicMessagesBody(r, "claude-sonnet-4-5", 4096, false)
	require.NoError(t, err)
	got := gjson.ParseBytes(body)
	assert.Equal(t, `{"type":"enabled","budget_tokens":8192}`, got.Get("thinking").Raw)
	assert.Equal(t, int64(4096+8192), got.Get("max_tokens").Int())
	assert.False(t, got.Get("temperature").Exists(), "thinking takes no temperature")
	assert.False(t, got.Get("top_p").Exists())
	assert.False(t, got.Get("reasoning_effort").Exists(), "Anthropic rejects unknown fields")

	r, err = parseChatRequest([]byte(`{"messages":[{"role":"user","content":"x"}],"temperature":0.2}`))
	require.NoError(t, err)
	body, err = anthropicMessagesBody(r, "claude-sonnet-4-5", 4096, false)
	require.NoError(t, err)
	assert.False(t, gjson.GetBytes(body, "thinking").Exists())
	assert.Equal(t, 0.2, gjson.GetBytes(body, "temperature").Float())
}

func TestBedrockBodyThinking(t *testing.T) {
	r, err := parseChatRequest([]byte(`{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"low","temperature":0.3}`))
	require.NoError(t, err)
	body, err := bedrockConverseBody(r, "us.anthropic.claude-sonnet-4-20250514-v1:0", 1000)
	require.NoError(t, err)
	got := gjson.ParseBytes(body)
	assert.Equal(t, `{"thinking":{"type":"enabled","budget_tokens":1024}}`, got.Get("additionalModelRequestFields").Raw)
	assert.Equal(t, `{"maxTokens":2024}`, got.Get("inferenceConfig").Raw)

	// Other families have no common reasoning setting: nothing is added.
	body, err = bedrockConverseBody(r, "amazon.nova-pro-v1:0", 1000)
	require.NoError(t, err)
	assert.False(t, gjson.GetBytes(body, "additionalModelRequestFields").Exists())
	assert.Equal(t, 0.3, gjson.GetBytes(body, "inferenceConfig.temperature").Float())
}

func TestGeminiThinking(t *testing.T) {
	cases := []struct{ model, effort, want string }{
		{"gemini-2.5-flash", "", ``},
		{"gemini-2.5-flash", "low", `{"thinkingBudget":1024,"includeThoughts":true}`},
		{"gemini-2.5-flash", "medium", `{"thinkingBudget":8192,"includeThoughts":true}`},
		{"gemini-2.5-flash", "high", `{"thinkingBudget":24576,"includeThoughts":true}`},
		{"gemini-2.5-flash", "none", `{"thinkingBudget":0}`},
		{"gemini-2.5-pro", "minimal", `{"thinkingBudget":128,"includeThoughts":true}`},
		{"publishers/google/models/gemini-2.5-flash-lite", "low", `{"thinkingBudget":1024,"includeThoughts":true}`},
		{"gemini-3-pro-preview", "low", `{"thinkingLevel":"low","includeThoughts":true}`},
		{"gemini-3-pro-preview", "medium", `{"thinkingLevel":"high","includeThoughts":true}`},
		{"gemini-3-flash", "minimal", `{"thinkingLevel":"low","includeThoughts":true}`},
	}
	for _, c := range cases {
		r, err := parseChatRequest([]byte(`{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"` + c.effort + `"}`))
		require.NoError(t, err)
		body, err := geminiBody(r, geminiExtras{Model: c.model})
		require.NoError(t, err)
		assert.Equal(t, c.want, gjson.GetBytes(body, "generationConfig.thinkingConfig").Raw, "%s %s", c.model, c.effort)
	}
}
