package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
	"github.com/caddy-llm/llmrouter/internal/meter"
)

// The SDK's non-streamed call is hedged when its first vendor stalls: the
// hedge (a native vendor, Anthropic, asked for its stream) wins, and its
// stream reaches the SDK assembled into one chat.completion, tool call and
// usage included, which the SDK decodes and which conforms to the spec.
func TestSDKNonStreamedCallIsHedged(t *testing.T) {
	usual := fakevendor.Start(t, fakevendor.Options{Name: "usual", TTFT: 20 * time.Millisecond, PromptTokens: 40, CompletionTokens: 7})
	claude := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Reply: "Let me check.", TTFT: 150 * time.Millisecond,
		ToolCall:    &fakevendor.AnthropicToolCall{ID: "toolu_9", Name: "get_weather", Input: `{"city":"Paris"}`},
		InputTokens: 50, OutputTokens: 12})
	startRouter(t, router([]string{"exploration 0", "hedge {\n\t\tafter p90 min 100ms max 2s\n\t\tbudget 100%\n\t}"},
		"vendor usual openai_compatible {\n\t\tbase_url "+usual.URL()+"\n\t\tapi_key sk-u\n\t\tmodel hedge-sdk\n\t}\n",
		"vendor claude anthropic {\n\t\tbase_url "+claude.URL()+"\n\t\tapi_key sk-ant-e2e\n\t\tmodel hedge-sdk\n\t}\n",
	))
	client := sdkClient()
	params := openai.ChatCompletionNewParams{Model: "hedge-sdk", Messages: userMessage("Weather in Paris?"),
		Tools: []openai.ChatCompletionToolUnionParam{weatherTool}}

	for range 8 {
		completion, err := client.Chat.Completions.New(sdkContext(t), params)
		require.NoError(t, err)
		require.Len(t, completion.Choices, 1)
	}
	var httpResp *http.Response
	_, err := client.Chat.Completions.New(sdkContext(t), params, option.WithResponseInto(&httpResp))
	require.NoError(t, err)
	require.Equal(t, "usual", httpResp.Header.Get("X-LLM-Vendor"), "the usual vendor ranks first")

	usual.SetOptions(fakevendor.Options{Name: "usual", TTFT: 5 * time.Second})
	start := time.Now()
	completion, err := client.Chat.Completions.New(sdkContext(t), params, option.WithResponseInto(&httpResp))
	require.NoError(t, err, "the SDK decodes the assembled answer")
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, "claude", httpResp.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, "won; after_ms=100", httpResp.Header.Get("X-LLM-Hedged"))
	assert.Equal(t, "application/json", httpResp.Header.Get("Content-Type"))

	require.Len(t, completion.Choices, 1)
	msg := completion.Choices[0].Message
	assert.Equal(t, "Let me check.", msg.Content)
	require.Len(t, msg.ToolCalls, 1)
	assert.Equal(t, "toolu_9", msg.ToolCalls[0].ID)
	assert.Equal(t, "get_weather", msg.ToolCalls[0].Function.Name)
	assert.JSONEq(t, `{"city":"Paris"}`, msg.ToolCalls[0].Function.Arguments)
	assert.Equal(t, "tool_calls", completion.Choices[0].FinishReason)
	assert.Equal(t, "chat.completion", string(completion.Object))
	assert.Equal(t, int64(50), completion.Usage.PromptTokens)
	assert.Equal(t, int64(12), completion.Usage.CompletionTokens)
	assertConforms(t, "CreateChatCompletionResponse", []byte(completion.RawJSON()), "the hedged answer")
}

// Whatever the Assembler makes of a stream is a CreateChatCompletionResponse:
// the router's own chunks of native vendors (the vendors package's goldens)
// and OpenAI's shapes the fakes do not send (several choices, parallel tool
// calls, refusals, logprobs, annotations, reasoning).
func TestConformanceAssembledAnswers(t *testing.T) {
	streams := map[string]string{
		"openai-shapes": `data: {"id":"c","object":"chat.completion.chunk","created":5,"model":"m","service_tier":"default","system_fingerprint":"fp","choices":[{"index":1,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null},{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}

data: {"id":"c","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"content":"Hi","reasoning_content":"hm"},"logprobs":{"content":[{"token":"Hi","logprob":-0.1,"bytes":[72,105],"top_logprobs":[]}],"refusal":null},"finish_reason":null}]}

data: {"id":"c","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":1,"delta":{"refusal":"No."},"finish_reason":"stop"}]}

data: {"id":"c","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":2,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"b","arguments":"{}"}},{"index":0,"id":"call_1","type":"function","function":{"name":"a","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}

data: {"id":"c","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"annotations":[{"type":"url_citation","url_citation":{"url":"https://x","title":"x","start_index":0,"end_index":1}}]},"finish_reason":"stop"}]}

data: {"id":"c","object":"chat.completion.chunk","created":5,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":9,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":2,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}

data: [DONE]

`,
	}
	for _, pattern := range []string{"../vendors/testdata/aws/stream_*.sse", "../vendors/testdata/google/streams/*.openai.txt"} {
		files, err := filepath.Glob(pattern)
		require.NoError(t, err)
		require.NotEmpty(t, files, pattern)
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			streams[filepath.Base(f)] = string(b)
		}
	}
	assembled := 0
	for name, stream := range streams {
		a := meter.NewAssembler(0)
		_, _ = a.Write([]byte(stream))
		answer, err := a.Answer()
		if err != nil {
			continue // a stream that failed (an error event, cut short): no answer
		}
		assembled++
		assertConforms(t, "CreateChatCompletionResponse", answer, name)
	}
	assert.GreaterOrEqual(t, assembled, 7)
}
