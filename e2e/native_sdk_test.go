package e2e

import (
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// weatherTool is the function tool of the native-vendor tests.
var weatherTool = openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
	Name:        "get_weather",
	Description: openai.String("The weather in a city"),
	Parameters: openai.FunctionParameters{
		"type":       "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}},
		"required":   []string{"city"},
	},
})

// streamThrough streams a chat completion with the SDK and returns the
// accumulated completion.
func streamThrough(t *testing.T, model string, params openai.ChatCompletionNewParams, opts ...option.RequestOption) openai.ChatCompletion {
	t.Helper()
	params.Model = model
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	client := sdkClient()
	stream := client.Chat.Completions.NewStreaming(sdkContext(t), params, opts...)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	require.NoError(t, stream.Err())
	require.NoError(t, stream.Close())
	return acc.ChatCompletion
}

// The official SDK streams through the router from native vendors, which the
// router speaks in their own APIs: Anthropic's Messages (SSE) and Bedrock's
// ConverseStream (binary event stream). Text, tool calls and usage arrive
// as if from OpenAI.
func TestSDKStreamsFromNativeVendors(t *testing.T) {
	claude := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Reply: "Sunny in Paris", InputTokens: 40, OutputTokens: 6})
	claudeTools := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Reply: "Let me check.",
		ToolCall:    &fakevendor.AnthropicToolCall{ID: "toolu_9", Name: "get_weather", Input: `{"city":"Paris"}`},
		InputTokens: 50, OutputTokens: 12})
	bedrock := fakevendor.StartBedrock(t, fakevendor.BedrockOptions{Reply: "Sunny in Lyon", InputTokens: 33, OutputTokens: 4,
		RequireBearer: "bedrock-key"})
	gemini := fakevendor.StartGemini(t, fakevendor.GeminiOptions{Reply: "Sunny in Rome",
		FunctionCall: &fakevendor.GeminiFunctionCall{Name: "get_weather", Args: `{"city":"Rome"}`},
		PromptTokens: 28, CandidatesTokens: 7, RequireKey: "AIza-e2e"})
	bedrockTools := fakevendor.StartBedrock(t, fakevendor.BedrockOptions{
		ToolCall: &fakevendor.BedrockToolCall{ID: "tooluse_1", Name: "get_weather", Input: `{"city":"Lyon"}`}, RequireBearer: "bedrock-key"})
	startRouter(t, router(nil,
		"vendor anthropic {\n\t\tbase_url "+claude.URL()+"\n\t\tapi_key sk-ant-e2e\n\t\tmodel claude-text\n\t}\n",
		"vendor anthropic-tools anthropic {\n\t\tbase_url "+claudeTools.URL()+"\n\t\tapi_key sk-ant-e2e\n\t\tmodel claude-tools\n\t}\n",
		"vendor bedrock aws {\n\t\tbase_url "+bedrock.URL()+"\n\t\tregion us-east-1\n\t\tapi_key bedrock-key\n\t\tmodel bedrock-text as anthropic.claude-sonnet-4-20250514-v1:0\n\t}\n",
		"vendor google {\n\t\tbase_url "+gemini.URL()+"\n\t\tapi_key AIza-e2e\n\t\tmodel gemini-text as gemini-2.5-flash\n\t}\n",
		"vendor bedrock-tools aws {\n\t\tbase_url "+bedrockTools.URL()+"\n\t\tregion us-east-1\n\t\tapi_key bedrock-key\n\t\tmodel bedrock-tools as anthropic.claude-sonnet-4-20250514-v1:0\n\t}\n",
	))
	ask := openai.ChatCompletionNewParams{
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Weather?")},
		Tools:    []openai.ChatCompletionToolUnionParam{weatherTool},
	}

	t.Run("anthropic text", func(t *testing.T) {
		c := streamThrough(t, "claude-text", ask)
		require.Len(t, c.Choices, 1)
		assert.Equal(t, "Sunny in Paris", c.Choices[0].Message.Content)
		assert.Equal(t, "stop", c.Choices[0].FinishReason)
		assert.Equal(t, int64(40), c.Usage.PromptTokens)
		assert.Equal(t, int64(6), c.Usage.CompletionTokens)
	})
	t.Run("anthropic tool call", func(t *testing.T) {
		c := streamThrough(t, "claude-tools", ask)
		require.Len(t, c.Choices, 1)
		assert.Equal(t, "Let me check.", c.Choices[0].Message.Content)
		require.Len(t, c.Choices[0].Message.ToolCalls, 1)
		tc := c.Choices[0].Message.ToolCalls[0]
		assert.Equal(t, "toolu_9", tc.ID)
		assert.Equal(t, "get_weather", tc.Function.Name)
		assert.JSONEq(t, `{"city":"Paris"}`, tc.Function.Arguments)
		assert.Equal(t, "tool_calls", c.Choices[0].FinishReason)
		assert.Equal(t, int64(12), c.Usage.CompletionTokens)
	})
	t.Run("bedrock text", func(t *testing.T) {
		c := streamThrough(t, "bedrock-text", ask)
		require.Len(t, c.Choices, 1)
		assert.Equal(t, "Sunny in Lyon", c.Choices[0].Message.Content)
		assert.Equal(t, int64(33), c.Usage.PromptTokens)
		assert.Equal(t, int64(4), c.Usage.CompletionTokens)
	})
	t.Run("gemini text and function call", func(t *testing.T) {
		c := streamThrough(t, "gemini-text", ask)
		require.Len(t, c.Choices, 1)
		assert.Equal(t, "Sunny in Rome", c.Choices[0].Message.Content)
		require.Len(t, c.Choices[0].Message.ToolCalls, 1)
		tc := c.Choices[0].Message.ToolCalls[0]
		assert.Equal(t, "get_weather", tc.Function.Name)
		assert.JSONEq(t, `{"city":"Rome"}`, tc.Function.Arguments)
		assert.NotEmpty(t, tc.ID)
		assert.Equal(t, "tool_calls", c.Choices[0].FinishReason)
		assert.Equal(t, int64(28), c.Usage.PromptTokens)
		assert.Equal(t, int64(7), c.Usage.CompletionTokens)
	})
	t.Run("bedrock tool call", func(t *testing.T) {
		c := streamThrough(t, "bedrock-tools", ask)
		require.Len(t, c.Choices, 1)
		require.Len(t, c.Choices[0].Message.ToolCalls, 1)
		tc := c.Choices[0].Message.ToolCalls[0]
		assert.Equal(t, "get_weather", tc.Function.Name)
		assert.JSONEq(t, `{"city":"Lyon"}`, tc.Function.Arguments)
		assert.NotEmpty(t, tc.ID)
		assert.Equal(t, "tool_calls", c.Choices[0].FinishReason)
	})
}

// Anthropic answers 529 (overloaded); the SDK's request, tool-call history
// included, is served by Claude on Bedrock instead, without the client
// noticing.
func TestSDKFailoverAnthropicToBedrockWithToolHistory(t *testing.T) {
	claude := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Status: 529})
	bedrock := fakevendor.StartBedrock(t, fakevendor.BedrockOptions{Reply: "Tomorrow will be 20C.", RequireBearer: "bedrock-key"})
	startRouter(t, router([]string{"exploration 0"},
		"vendor anthropic {\n\t\tbase_url "+claude.URL()+"\n\t\tapi_key sk-ant-e2e\n\t\tmodel claude-ha input 3 output 15\n\t}\n",
		"vendor bedrock aws {\n\t\tbase_url "+bedrock.URL()+"\n\t\tregion us-east-1\n\t\tapi_key bedrock-key\n\t\tmodel claude-ha as anthropic.claude-sonnet-4-20250514-v1:0 input 3.3 output 16.5\n\t}\n",
	))
	params := openai.ChatCompletionNewParams{
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage("Weather in Paris?"),
			{OfAssistant: &openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{{
				OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: "call_1",
					Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_weather", Arguments: `{"city":"Paris"}`}},
			}}}},
			openai.ToolMessage(`{"temp":18}`, "call_1"),
			openai.UserMessage("And tomorrow?"),
		},
		Tools: []openai.ChatCompletionToolUnionParam{weatherTool},
		Model: "claude-ha",
	}
	client := sdkClient()
	var raw *http.Response
	c, err := client.Chat.Completions.New(sdkContext(t), params, option.WithJSONSet("routing", "price"), option.WithResponseInto(&raw))
	require.NoError(t, err)
	assert.Equal(t, "bedrock", raw.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, "2", raw.Header.Get("X-LLM-Attempts"))
	assert.Equal(t, "Tomorrow will be 20C.", c.Choices[0].Message.Content)
	assert.Equal(t, 1, claude.Count())
	require.Equal(t, 1, bedrock.Count())
}
