package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// anthropicClient is Anthropic's official Go SDK pointed at the router, as
// Claude Code is with ANTHROPIC_BASE_URL. Retries are off so that a failure
// shows as it happened.
func anthropicClient() anthropic.Client {
	return anthropic.NewClient(option.WithBaseURL(routerURL), option.WithAPIKey(clientKey),
		option.WithMaxRetries(0), option.WithRequestTimeout(20*time.Second))
}

// weatherToolParam is the Messages tool of these tests.
var weatherToolParam = anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{
	Properties: map[string]any{"city": map[string]any{"type": "string"}}, Required: []string{"city"}}, "get_weather")

func messagesParams(model string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{Model: model, MaxTokens: 256,
		System:   []anthropic.TextBlockParam{{Text: "Be terse."}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))}}
}

// accumulate streams a message with the SDK and accumulates it; every
// event must decode into the SDK's types.
func accumulate(t *testing.T, ctx context.Context, c anthropic.Client, p anthropic.MessageNewParams) (anthropic.Message, []string) {
	t.Helper()
	stream := c.Messages.NewStreaming(ctx, p)
	var msg anthropic.Message
	var types []string
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		require.NoError(t, msg.Accumulate(ev), "event %s", ev.RawJSON())
	}
	require.NoError(t, stream.Err())
	require.NoError(t, stream.Close())
	return msg, types
}

// Anthropic's SDK against the router, with Claude served natively
// (anthropic) and the same model translated (an OpenAI-compatible vendor,
// Gemini): New, NewStreaming with Accumulate, tools, thinking, CountTokens,
// and failover before the commit point.
func TestAnthropicSDKMessages(t *testing.T) {
	claude := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Reply: "Sunny in Paris", InputTokens: 40, OutputTokens: 6})
	claudeTools := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Reply: "Let me check.",
		ToolCall: &fakevendor.AnthropicToolCall{ID: "toolu_9", Name: "get_weather", Input: `{"city":"Paris"}`}})
	overloaded := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Status: 529})
	gpt := startFake(t, "gpt")
	gemini := fakevendor.StartGemini(t, fakevendor.GeminiOptions{Reply: "Sunny in Rome",
		FunctionCall: &fakevendor.GeminiFunctionCall{Name: "get_weather", Args: `{"city":"Rome"}`}, RequireKey: "AIza-e2e"})
	startRouter(t, router(nil,
		"vendor anthropic {\n\t\tbase_url "+claude.URL()+"\n\t\tapi_key sk-ant-e2e\n\t\tmodel claude-native\n\t}\n",
		"vendor claude-tools anthropic {\n\t\tbase_url "+claudeTools.URL()+"\n\t\tapi_key sk-ant-e2e\n\t\tmodel claude-tools\n\t}\n",
		"vendor busy anthropic {\n\t\tbase_url "+overloaded.URL()+"\n\t\tapi_key sk-ant-e2e\n\t\tmodel claude-failover input 0.1 output 0.1\n\t}\n",
		vendor("gpt", gpt, "claude-translated", "claude-failover input 9 output 9"),
		"vendor google {\n\t\tbase_url "+gemini.URL()+"\n\t\tapi_key AIza-e2e\n\t\tmodel claude-gemini as gemini-2.5-flash\n\t}\n",
	))
	c := anthropicClient()
	ctx := sdkContext(t)

	// Native: whole and streamed.
	msg, err := c.Messages.New(ctx, messagesParams("claude-native"))
	require.NoError(t, err)
	assert.Equal(t, "Sunny in Paris", msg.Content[0].AsText().Text)
	assert.Equal(t, anthropic.StopReasonEndTurn, msg.StopReason)
	assert.EqualValues(t, 40, msg.Usage.InputTokens)
	acc, types := accumulate(t, ctx, c, messagesParams("claude-native"))
	assert.Equal(t, "Sunny in Paris", acc.Content[0].AsText().Text)
	assert.EqualValues(t, 6, acc.Usage.OutputTokens)
	assert.Equal(t, "message_start", types[0])
	assert.Equal(t, "message_stop", types[len(types)-1])

	// Native tools, with thinking enabled (passed to Claude as sent).
	p := messagesParams("claude-tools")
	p.Tools = []anthropic.ToolUnionParam{weatherToolParam}
	p.MaxTokens = 2048
	p.Thinking = anthropic.ThinkingConfigParamOfEnabled(1024)
	acc, _ = accumulate(t, ctx, c, p)
	require.Len(t, acc.Content, 2)
	tool := acc.Content[1].AsToolUse()
	assert.Equal(t, "get_weather", tool.Name)
	assert.JSONEq(t, `{"city":"Paris"}`, string(tool.Input))
	assert.Equal(t, anthropic.StopReasonToolUse, acc.StopReason)
	sent := claudeTools.Requests()[0].Body
	assert.EqualValues(t, 1024, gjson.GetBytes(sent, "thinking.budget_tokens").Int())

	// Translated: an OpenAI-compatible vendor.
	msg, err = c.Messages.New(ctx, messagesParams("claude-translated"))
	require.NoError(t, err)
	assert.Equal(t, "Hello from gpt.", msg.Content[0].AsText().Text)
	acc, types = accumulate(t, ctx, c, messagesParams("claude-translated"))
	assert.Equal(t, "Hello from gpt.", acc.Content[0].AsText().Text)
	assert.Equal(t, []string{"message_start", "content_block_start"}, types[:2], "the SDK hands out no ping")
	assert.Positive(t, acc.Usage.OutputTokens)

	// Translated tools: Gemini's function call as a tool_use block.
	p = messagesParams("claude-gemini")
	p.Tools = []anthropic.ToolUnionParam{weatherToolParam}
	acc, _ = accumulate(t, ctx, c, p)
	var names []string
	for _, b := range acc.Content {
		if b.Type == "tool_use" {
			names = append(names, b.AsToolUse().Name)
			assert.JSONEq(t, `{"city":"Rome"}`, string(b.AsToolUse().Input))
		}
	}
	assert.Equal(t, []string{"get_weather"}, names)
	assert.Equal(t, anthropic.StopReasonToolUse, acc.StopReason)

	// Failover before the commit point: the cheap Claude is overloaded.
	p = messagesParams("claude-failover")
	acc, _ = accumulate(t, ctx, c, p)
	assert.Equal(t, "Hello from gpt.", acc.Content[0].AsText().Text)
	assert.Equal(t, 1, overloaded.Count())

	// CountTokens: Claude's own count, else the router's estimate.
	count, err := c.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: "claude-native",
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))}})
	require.NoError(t, err)
	assert.Greater(t, count.InputTokens, int64(1000), "the fake's count")
	count, err = c.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: "claude-translated",
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello there, how are you today?"))}})
	require.NoError(t, err)
	assert.True(t, count.InputTokens > 0 && count.InputTokens < 100, "the router's estimate: %d", count.InputTokens)

	// Errors are the SDK's: an unknown model is a 404 not_found_error.
	_, err = c.Messages.New(ctx, messagesParams("no-such-model"))
	var apiErr *anthropic.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 404, apiErr.StatusCode)
	assert.Equal(t, "not_found_error", gjson.Get(apiErr.RawJSON(), "error.type").String())
}
