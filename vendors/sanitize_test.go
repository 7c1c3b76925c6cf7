package vendors

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// prepared runs Prepare for kind and returns the body sent.
func prepared(t *testing.T, kind, model, body string, stream bool) []byte {
	t.Helper()
	return preparedAttempt(t, kind, Attempt{Endpoint: ChatCompletions, Model: model, Body: []byte(body), Stream: stream})
}

// preparedAttempt runs Prepare for kind on a and returns the body sent.
func preparedAttempt(t *testing.T, kind string, a Attempt) []byte {
	t.Helper()
	v, err := New(Config{ID: "v", Kind: kind, BaseURL: "https://example.com/v1", APIKey: "k"})
	require.NoError(t, err)
	out := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	require.NoError(t, v.Prepare(out, a))
	got, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	return got
}

// A request with tool-call history written for OpenAI (ids call_…, toolu_…)
// replays on Mistral with consistent 9-character ids, Mistral's parameter
// names, and none of the fields Mistral rejects.
func TestSanitizeMistral(t *testing.T) {
	const body = `{"model":"gpt-4o","seed":7,"max_completion_tokens":300,"user":"u1","store":true,` +
		`"logit_bias":{"1":2},"safe_prompt":true,"temperature":0.3,"stream_options":{"include_usage":true},` +
		`"messages":[{"role":"user","content":"weather?"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_abc123XYZ","type":"function","function":{"name":"get","arguments":"{}"}},` +
		`{"id":"toolu_01A09q90qw90lq917835lq9","type":"function","function":{"name":"get2","arguments":"{}"}}]},` +
		`{"role":"tool","tool_call_id":"call_abc123XYZ","content":"sunny"},` +
		`{"role":"tool","tool_call_id":"toolu_01A09q90qw90lq917835lq9","content":"windy"},` +
		`{"role":"assistant","content":"ok","tool_calls":[{"id":"Ab3dE6gH9","type":"function","function":{"name":"x","arguments":"{}"}}]}]}`
	got := prepared(t, "mistral", "mistral-large-latest", body, true)

	assert.Equal(t, int64(7), gjson.GetBytes(got, "random_seed").Int())
	assert.Equal(t, int64(300), gjson.GetBytes(got, "max_tokens").Int())
	for _, f := range []string{"seed", "max_completion_tokens", "user", "store", "logit_bias", "stream_options"} {
		assert.False(t, gjson.GetBytes(got, f).Exists(), f)
	}
	assert.True(t, gjson.GetBytes(got, "safe_prompt").Bool(), "Mistral's own fields pass")
	assert.Equal(t, 0.3, gjson.GetBytes(got, "temperature").Float())

	id1 := gjson.GetBytes(got, "messages.1.tool_calls.0.id").String()
	id2 := gjson.GetBytes(got, "messages.1.tool_calls.1.id").String()
	assert.True(t, isMistralToolID(id1), id1)
	assert.True(t, isMistralToolID(id2), id2)
	assert.NotEqual(t, id1, id2)
	assert.Equal(t, id1, gjson.GetBytes(got, "messages.2.tool_call_id").String(), "the tool result follows its call")
	assert.Equal(t, id2, gjson.GetBytes(got, "messages.3.tool_call_id").String())
	assert.Equal(t, "Ab3dE6gH9", gjson.GetBytes(got, "messages.4.tool_calls.0.id").String(), "valid ids are kept")
	assert.Equal(t, mistralToolID("call_abc123XYZ"), id1, "deterministic across attempts")
}

// The completion cap reaches each kind under a name its API knows: DeepSeek
// documents max_tokens only, so max_completion_tokens (the client's or the
// router's) goes as max_tokens; a generic OpenAI-compatible server gets the
// router's own cap as max_tokens, the client's as the client wrote it;
// OpenAI and the others keep max_completion_tokens, which OpenAI's
// reasoning models require.
func TestSanitizeCompletionCap(t *testing.T) {
	const body = `{"model":"m","messages":[],"max_completion_tokens":4096}`
	for _, tc := range []struct {
		kind  string
		added bool
		want  string // the field that carries the cap
	}{
		{"deepseek", false, "max_tokens"},
		{"deepseek", true, "max_tokens"},
		{"mistral", true, "max_tokens"},
		{"openai_compatible", true, "max_tokens"},
		{"openai_compatible", false, "max_completion_tokens"},
		{"openai", true, "max_completion_tokens"},
		{"volcengine", true, "max_completion_tokens"},
		{"x", true, "max_completion_tokens"},
	} {
		got := preparedAttempt(t, tc.kind, Attempt{Endpoint: ChatCompletions, Model: "m", Body: []byte(body),
			TokenCapAdded: tc.added})
		other := map[string]string{"max_tokens": "max_completion_tokens", "max_completion_tokens": "max_tokens"}[tc.want]
		assert.Equal(t, int64(4096), gjson.GetBytes(got, tc.want).Int(), "%s (router's cap: %v): %s", tc.kind, tc.added, got)
		assert.False(t, gjson.GetBytes(got, other).Exists(), "%s (router's cap: %v): %s", tc.kind, tc.added, got)
	}
	// A client that gave both keeps its max_tokens on DeepSeek.
	got := prepared(t, "deepseek", "m", `{"model":"m","messages":[],"max_tokens":10,"max_completion_tokens":20}`, false)
	assert.Equal(t, int64(10), gjson.GetBytes(got, "max_tokens").Int())
	assert.False(t, gjson.GetBytes(got, "max_completion_tokens").Exists())
}

func TestSanitizeXReasoningModels(t *testing.T) {
	const body = `{"model":"m","presence_penalty":0.5,"frequency_penalty":0.2,"stop":["\n"],"user":"u","messages":[]}`
	got := prepared(t, "x", "grok-4-0709", body, false)
	for _, f := range []string{"presence_penalty", "frequency_penalty", "stop", "user"} {
		assert.False(t, gjson.GetBytes(got, f).Exists(), f)
	}
	got = prepared(t, "x", "grok-4-fast-non-reasoning", body, false)
	assert.True(t, gjson.GetBytes(got, "presence_penalty").Exists(), "non-reasoning models keep penalties")
	assert.False(t, gjson.GetBytes(got, "user").Exists())

	for model, want := range map[string]bool{"grok-3-mini": true, "grok-4": true, "grok-code-fast-1": true,
		"grok-3": false, "grok-4-1-fast-non-reasoning": false, "grok-4-1-fast-reasoning": true} {
		assert.Equal(t, want, xReasoningModel(model), model)
	}
}

func TestSanitizeOpenAIOnlyFields(t *testing.T) {
	const body = `{"model":"m","user":"u","metadata":{"a":"b"},"store":true,"service_tier":"flex","top_k":5,"messages":[]}`
	for _, kind := range []string{"deepseek", "volcengine"} {
		got := prepared(t, kind, "m", body, false)
		for _, f := range openAIOnlyFields {
			assert.False(t, gjson.GetBytes(got, f).Exists(), kind+" "+f)
		}
		assert.Equal(t, int64(5), gjson.GetBytes(got, "top_k").Int(), "vendor-specific fields pass through")
	}
	for _, kind := range []string{"openai", "openai_compatible"} {
		got := prepared(t, kind, "m", body, false)
		for _, f := range openAIOnlyFields {
			assert.True(t, gjson.GetBytes(got, f).Exists(), kind+" "+f)
		}
	}
}

// A Gemini tool call id (long: it carries a thought signature) replays on
// OpenAI shortened, consistently for the call and its result.
func TestSanitizeOpenAILongToolIDs(t *testing.T) {
	long := "call_0123456789abcdef01234567__thought__" + strings.Repeat("c2lnbmF0dXJl", 20)
	body := `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"` + long + `","type":"function","function":{"name":"f","arguments":"{}"}},` +
		`{"id":"call_short","type":"function","function":{"name":"g","arguments":"{}"}}]},` +
		`{"role":"tool","tool_call_id":"` + long + `","content":"x"},{"role":"tool","tool_call_id":"call_short","content":"y"}]}`
	for _, kind := range []string{"openai", "azure"} {
		v, err := New(Config{ID: "v", Kind: kind, BaseURL: "https://example.com/openai/v1", APIKey: "k"})
		require.NoError(t, err)
		out := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
		require.NoError(t, v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: "m", Body: []byte(body)}))
		got, _ := io.ReadAll(out.Body)
		id := gjson.GetBytes(got, "messages.0.tool_calls.0.id").String()
		assert.LessOrEqual(t, len(id), maxOpenAIToolID, kind)
		assert.Equal(t, id, gjson.GetBytes(got, "messages.1.tool_call_id").String(), kind)
		assert.Equal(t, "call_short", gjson.GetBytes(got, "messages.0.tool_calls.1.id").String(), kind)
		assert.Equal(t, "call_short", gjson.GetBytes(got, "messages.2.tool_call_id").String(), kind)
	}
}
