package meter

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

const chatCompletion = `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"Hello \"there\"\nHow can I help?","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],` +
	`"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},` +
	`"service_tier":"default","system_fingerprint":"fp_1"}`

func TestInspectJSON(t *testing.T) {
	tests := map[string]struct {
		body string
		want Result
	}{
		"completion": {chatCompletion, Result{
			Usage: billing.Usage{PromptTokens: 19, CompletionTokens: 10}, FinishReason: "stop", HasContent: true}},
		"tool calls only": {`{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":7}}`,
			Result{Usage: billing.Usage{PromptTokens: 5, CompletionTokens: 7}, FinishReason: "tool_calls", HasContent: true}},
		"empty content": {`{"choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":0,"total_tokens":5}}`,
			Result{Usage: billing.Usage{PromptTokens: 5}, FinishReason: "stop"}},
		"deepseek padded": {"\n\n\n \r\n" + `{"choices":[{"message":{"content":"4","reasoning_content":"2+2"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"prompt_cache_hit_tokens":8}}`,
			Result{Usage: billing.Usage{PromptTokens: 9, CachedTokens: 8, CompletionTokens: 3}, FinishReason: "stop", HasContent: true}},
		"legacy": {`{"object":"text_completion","choices":[{"text":"Once","index":0,"finish_reason":"length"}],"usage":{"prompt_tokens":2,"completion_tokens":1}}`,
			Result{Usage: billing.Usage{PromptTokens: 2, CompletionTokens: 1}, FinishReason: "length", HasContent: true}},
		"embeddings": {`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}`,
			Result{Usage: billing.Usage{PromptTokens: 8}, HasContent: true}},
		"no embeddings": {`{"object":"list","data":[],"usage":{"prompt_tokens":8,"total_tokens":8}}`,
			Result{Usage: billing.Usage{PromptTokens: 8}}},
		"no usage": {`{"choices":[{"message":{"content":"twelve chars"},"finish_reason":"stop"},{"message":{"content":"more"}}]}`,
			Result{Usage: billing.Usage{PromptTokens: 100, CompletionTokens: 4, Estimated: true}, FinishReason: "stop", HasContent: true}},
		"error body": {`{"error":{"message":"Overloaded","type":"server_error","param":null,"code":"overloaded"}}`,
			Result{Usage: billing.Usage{PromptTokens: 100, Estimated: true}, Err: &VendorError{Message: "Overloaded", Type: "server_error", Code: "overloaded"}}},
		"anthropic error": {`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}`,
			Result{Usage: billing.Usage{PromptTokens: 100, Estimated: true}, Err: &VendorError{Message: "Overloaded", Type: "overloaded_error"}}},
	}
	for name, tt := range tests {
		assert.Equal(t, tt.want, InspectJSON([]byte(tt.body), 100), name)
	}
}

func TestInspectJSONInvalid(t *testing.T) {
	for _, body := range []string{"", "   \n", "{", `{"choices":[`, "<html>502 Bad Gateway</html>", `{"a":1}x`, "\x00\xff"} {
		var r Result
		require.NotPanics(t, func() { r = InspectJSON([]byte(body), 3) }, "%q", body)
		require.NotNil(t, r.Err, "%q", body)
		assert.Equal(t, "invalid_response", r.Err.Type)
		assert.False(t, r.HasContent)
		assert.Equal(t, billing.Usage{PromptTokens: 3, Estimated: true}, r.Usage)
	}
}

func TestInspectJSONDoesNotKeepTheBody(t *testing.T) {
	body := []byte(`{"choices":[{"message":{"content":"x"},"finish_reason":"weird"}],"error":{"message":"m","type":"t","code":"c"}}`)
	r := InspectJSON(body, 0)
	clear(body)
	assert.Equal(t, "weird", r.FinishReason)
	assert.Equal(t, VendorError{Message: "m", Type: "t", Code: "c"}, *r.Err)
}
