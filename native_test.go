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

// toolHistory is a chat request with tool-call history and tools: what a
// failover must replay correctly on another vendor kind.
const toolHistory = `"messages":[` +
	`{"role":"system","content":"You are terse."},` +
	`{"role":"user","content":"Weather in Paris?"},` +
	`{"role":"assistant","content":null,"tool_calls":[{"id":"call_abc123","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
	`{"role":"tool","tool_call_id":"call_abc123","content":"{\"temp\":18}"},` +
	`{"role":"user","content":"And tomorrow?"}],` +
	`"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]`

// Anthropic's Messages API behind the OpenAI API: text and usage, streaming
// and not, and an OpenAI-shaped error for the client's mistakes.
func TestAnthropicThroughTheRouter(t *testing.T) {
	claude := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Name: "claude", Reply: "Bonjour from Claude",
		InputTokens: 21, OutputTokens: 4, RequireKey: "sk-ant-test"})
	startRouter(t, routerBlock(nil, vendorBlock("anthropic", "anthropic", claude.URL(), "sk-ant-test",
		"model claude-x as claude-sonnet-4-20250514 input 3 output 15")))

	resp, body := post(t, "/v1/chat/completions", `{"model":"claude-x",`+toolHistory+`}`, "Authorization", "Bearer client")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "chat.completion", gjson.Get(body, "object").String())
	assert.Equal(t, "Bonjour from Claude", gjson.Get(body, "choices.0.message.content").String())
	assert.Equal(t, "stop", gjson.Get(body, "choices.0.finish_reason").String())
	assert.Equal(t, int64(21), gjson.Get(body, "usage.prompt_tokens").Int())
	assert.Equal(t, int64(4), gjson.Get(body, "usage.completion_tokens").Int())

	sent := claude.Requests()[0]
	assert.Equal(t, "/v1/messages", sent.Path)
	assert.Equal(t, "sk-ant-test", sent.Header.Get("X-Api-Key"))
	assert.Empty(t, sent.Header.Get("Authorization"))
	assert.Equal(t, "2023-06-01", sent.Header.Get("Anthropic-Version"))
	assert.Equal(t, "You are terse.", gjson.GetBytes(sent.Body, "system").String())
	assert.Equal(t, "tool_use", gjson.GetBytes(sent.Body, "messages.1.content.0.type").String())
	assert.Equal(t, "tool_result", gjson.GetBytes(sent.Body, "messages.2.content.0.type").String())
	assert.True(t, gjson.GetBytes(sent.Body, "max_tokens").Exists(), "max_tokens is required by Anthropic")

	resp, body = post(t, "/v1/chat/completions", `{"model":"claude-x","stream":true,"stream_options":{"include_usage":true},`+toolHistory+`}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "Bonjour from Claude", streamText(t, body))
	assert.True(t, strings.HasSuffix(body, "data: [DONE]\n\n"))
	var usage string
	require.NoError(t, sseEvents(strings.NewReader(body), func(data string) {
		if gjson.Get(data, "usage.completion_tokens").Exists() {
			usage = data
		}
	}))
	assert.Equal(t, int64(21), gjson.Get(usage, "usage.prompt_tokens").Int())
	assert.Equal(t, int64(4), gjson.Get(usage, "usage.completion_tokens").Int())
}

// An Anthropic tool call comes back as OpenAI tool_calls, streamed in
// argument fragments that add up to the JSON input.
func TestAnthropicToolCallStream(t *testing.T) {
	claude := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Name: "claude", Reply: " ",
		ToolCall: &fakevendor.AnthropicToolCall{ID: "toolu_01", Name: "get_weather", Input: `{"city":"Paris","days":2}`}})
	startRouter(t, routerBlock(nil, vendorBlock("anthropic", "anthropic", claude.URL(), "k", "model claude-tools")))

	resp, body := post(t, "/v1/chat/completions", `{"model":"claude-tools","stream":true,`+toolHistory+`}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var id, name, args, finish string
	require.NoError(t, sseEvents(strings.NewReader(body), func(data string) {
		tc := gjson.Get(data, "choices.0.delta.tool_calls.0")
		if tc.Exists() {
			assert.Equal(t, int64(0), tc.Get("index").Int())
			if v := tc.Get("id").String(); v != "" {
				id = v
			}
			if v := tc.Get("function.name").String(); v != "" {
				name = v
			}
			args += tc.Get("function.arguments").String()
		}
		if f := gjson.Get(data, "choices.0.finish_reason").String(); f != "" {
			finish = f
		}
	}))
	assert.Equal(t, "toolu_01", id)
	assert.Equal(t, "get_weather", name)
	assert.JSONEq(t, `{"city":"Paris","days":2}`, args)
	assert.Equal(t, "tool_calls", finish)
}

// A client error at a native vendor comes back in OpenAI's error shape.
func TestNativeErrorIsOpenAIShaped(t *testing.T) {
	claude := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Status: http.StatusBadRequest,
		ErrorType: "invalid_request_error", ErrorMessage: "messages: text content blocks must be non-empty"})
	startRouter(t, routerBlock(nil, vendorBlock("anthropic", "anthropic", claude.URL(), "k", "model claude-bad")))
	resp, body := chat(t, "claude-bad", "")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assertOpenAIError(t, body, "invalid_request_error", "")
	assert.Equal(t, "messages: text content blocks must be non-empty", gjson.Get(body, "error.message").String())
}

// A request that a native API cannot express (n > 1 on Anthropic) fails over
// to a vendor that can, and is a 400 when none can.
func TestUnsupportedRequestFailsOverOrIs400(t *testing.T) {
	claude := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{})
	gpt := fakevendor.Start(t, fakevendor.Options{Name: "gpt"})
	startRouter(t, routerBlock(nil,
		vendorBlock("anthropic", "anthropic", claude.URL(), "k", "model multi-model input 0.1", "model claude-only"),
		vendorBlock("gpt", "openai_compatible", gpt.URL(), "", "model multi-model input 1"),
	))
	resp, body := chat(t, "multi-model", `"routing":"price","n":2`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "gpt", resp.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, 0, claude.Count(), "nothing was sent to the vendor that cannot take it")

	resp, body = chat(t, "claude-only", `"n":2`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	assertOpenAIError(t, body, "invalid_request_error", "vendors_failed")
	assert.Contains(t, gjson.Get(body, "error.message").String(), "n>1")
}

// Bedrock's Converse API behind the OpenAI API: SigV4-signed requests, the
// binary event stream turned into OpenAI chunks with text and usage.
func TestBedrockThroughTheRouter(t *testing.T) {
	creds := &fakevendor.BedrockCredentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", Region: "us-east-1"}
	bedrock := fakevendor.StartBedrock(t, fakevendor.BedrockOptions{Reply: "Hello from Bedrock", InputTokens: 30,
		OutputTokens: 5, RequireSigV4: creds})
	startRouter(t, routerBlock(nil, vendorBlock("bedrock", "aws", bedrock.URL(), "",
		"region us-east-1", "access_key_id "+creds.AccessKeyID, "secret_access_key "+creds.SecretAccessKey,
		"model claude-bedrock as us.anthropic.claude-sonnet-4-20250514-v1:0 input 3 output 15")))

	resp, body := post(t, "/v1/chat/completions", `{"model":"claude-bedrock","stream":true,"stream_options":{"include_usage":true},`+toolHistory+`}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "Hello from Bedrock", streamText(t, body))
	assert.Contains(t, body, `"completion_tokens":5`)
	sent := bedrock.Requests()[0]
	assert.Equal(t, "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse-stream", sent.RawPath)
	assert.Contains(t, sent.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
	assert.Equal(t, "toolUse", firstKey(gjson.GetBytes(sent.Body, "messages.1.content.0")))

	resp, body = chat(t, "claude-bedrock", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "Hello from Bedrock", gjson.Get(body, "choices.0.message.content").String())
	assert.Equal(t, int64(30), gjson.Get(body, "usage.prompt_tokens").Int())
}

// firstKey returns the first key of a JSON object.
func firstKey(obj gjson.Result) string {
	var key string
	obj.ForEach(func(k, _ gjson.Result) bool {
		key = k.String()
		return false
	})
	return key
}

// Anthropic overloaded (529): the same request, tool-call history included,
// succeeds on Claude at Bedrock, translated to Converse.
func TestAnthropicOverloadFailsOverToBedrock(t *testing.T) {
	claude := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Status: 529})
	bedrock := fakevendor.StartBedrock(t, fakevendor.BedrockOptions{Reply: "Tomorrow: 20C", RequireBearer: "bedrock-api-key"})
	startRouter(t, routerBlock([]string{"exploration 0"},
		vendorBlock("anthropic", "anthropic", claude.URL(), "sk-ant-key", "model claude-ha as claude-sonnet-4-20250514 input 3 output 15"),
		vendorBlock("bedrock", "aws", bedrock.URL(), "bedrock-api-key", "region us-east-1",
			"model claude-ha as anthropic.claude-sonnet-4-20250514-v1:0 input 3.3 output 16.5"),
	))
	resp, body := post(t, "/v1/chat/completions", `{"model":"claude-ha","routing":"price","stream":true,`+toolHistory+`}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "bedrock", resp.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, "2", resp.Header.Get("X-LLM-Attempts"))
	assert.Equal(t, "Tomorrow: 20C", streamText(t, body))
	assert.Equal(t, 1, claude.Count())

	sent := bedrock.Requests()[0].Body
	assert.Equal(t, "get_weather", gjson.GetBytes(sent, "messages.1.content.0.toolUse.name").String())
	assert.Equal(t, "Paris", gjson.GetBytes(sent, "messages.1.content.0.toolUse.input.city").String())
	callID := gjson.GetBytes(sent, "messages.1.content.0.toolUse.toolUseId").String()
	assert.Equal(t, callID, gjson.GetBytes(sent, "messages.2.content.0.toolResult.toolUseId").String(),
		"the tool result still answers its call")
	assert.Equal(t, "get_weather", gjson.GetBytes(sent, "toolConfig.tools.0.toolSpec.name").String())
}

// The Gemini API's generateContent behind the OpenAI API: x-goog-api-key
// auth (never the key in the URL), function calls with synthesized ids,
// cumulative usage metered once, thoughts as reasoning tokens.
func TestGeminiThroughTheRouter(t *testing.T) {
	gemini := fakevendor.StartGemini(t, fakevendor.GeminiOptions{Reply: "Looking it up",
		FunctionCall: &fakevendor.GeminiFunctionCall{Name: "get_weather", Args: `{"city":"Rome"}`},
		PromptTokens: 25, CandidatesTokens: 9, ThoughtsTokens: 3, RequireKey: "AIza-test-key"})
	startRouter(t, routerBlock(nil, vendorBlock("google", "google", gemini.URL(), "AIza-test-key",
		"model gemini-x as gemini-2.5-flash input 0.3 output 2.5")))

	resp, body := post(t, "/v1/chat/completions", `{"model":"gemini-x","stream":true,"stream_options":{"include_usage":true},`+toolHistory+`}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "Looking it up", streamText(t, body))
	var name, args, finish string
	var usage gjson.Result
	require.NoError(t, sseEvents(strings.NewReader(body), func(data string) {
		tc := gjson.Get(data, "choices.0.delta.tool_calls.0")
		if v := tc.Get("function.name").String(); v != "" {
			name = v
			assert.True(t, strings.HasPrefix(tc.Get("id").String(), "call_"), "a synthesized id")
		}
		args += tc.Get("function.arguments").String()
		if f := gjson.Get(data, "choices.0.finish_reason").String(); f != "" {
			finish = f
		}
		if u := gjson.Get(data, "usage"); u.IsObject() {
			usage = u
		}
	}))
	assert.Equal(t, "get_weather", name)
	assert.JSONEq(t, `{"city":"Rome"}`, args)
	assert.Equal(t, "tool_calls", finish)
	assert.Equal(t, int64(25), usage.Get("prompt_tokens").Int())
	assert.Equal(t, int64(12), usage.Get("completion_tokens").Int(), "thoughts are billed as output")

	sent := gemini.Requests()[0]
	assert.Equal(t, "/v1beta/models/gemini-2.5-flash:streamGenerateContent", sent.Path)
	assert.Equal(t, "alt=sse", sent.RawQuery)
	assert.Equal(t, "AIza-test-key", sent.Header.Get("X-Goog-Api-Key"))
	assert.NotContains(t, sent.RawQuery, "key=")
	assert.Equal(t, "You are terse.", gjson.GetBytes(sent.Body, "systemInstruction.parts.0.text").String())
	assert.Equal(t, "get_weather", gjson.GetBytes(sent.Body, "contents.2.parts.0.functionResponse.name").String(),
		"the tool result names its function, looked up from the call id")
}

// A Bedrock quota that only its X-Amzn-ErrorType header names (a 400) moves
// the request on instead of handing the client a 400.
func TestBedrockQuotaFromHeaderFailsOver(t *testing.T) {
	creds := &fakevendor.BedrockCredentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", Region: "us-east-1"}
	bedrock := fakevendor.StartBedrock(t, fakevendor.BedrockOptions{Status: http.StatusBadRequest,
		ErrorType: "ServiceQuotaExceededException", ErrorMessage: "The request would exceed your account's service quota.",
		RequireSigV4: creds})
	claude := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Reply: "From Claude"})
	startRouter(t, routerBlock(nil,
		vendorBlock("bedrock", "aws", bedrock.URL(), "", "region us-east-1", "access_key_id "+creds.AccessKeyID,
			"secret_access_key "+creds.SecretAccessKey, "model claude-x as us.anthropic.claude-sonnet-4-20250514-v1:0 input 1 output 1"),
		vendorBlock("anthropic", "anthropic", claude.URL(), "sk-ant", "model claude-x as claude-sonnet-4-5 input 5 output 5")))

	resp, body := post(t, "/v1/chat/completions", `{"model":"claude-x","routing":"price","messages":[{"role":"user","content":"hi"}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "From Claude", gjson.Get(body, "choices.0.message.content").String())
	assert.Equal(t, 1, bedrock.Count(), "the cheaper vendor was tried first")
	assert.Equal(t, "2", resp.Header.Get("X-Llm-Attempts"))
}
