package vendors

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/meter"
)

func TestMessagesChatRequest(t *testing.T) {
	body := `{"model":"claude","max_tokens":300,"temperature":0.2,"top_p":0.9,"stop_sequences":["END",""],` +
		`"metadata":{"user_id":"u1"},"thinking":{"type":"enabled","budget_tokens":8000},"top_k":5,` +
		`"system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}},{"type":"text","text":"Be kind."}],` +
		`"tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}},` +
		`{"type":"web_search_20250305","name":"web_search","max_uses":2}],` +
		`"tool_choice":{"type":"any","disable_parallel_tool_use":true},` +
		`"messages":[` +
		`{"role":"user","content":[{"type":"text","text":"Weather in Paris?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}}]},` +
		`{"role":"assistant","content":[{"type":"thinking","thinking":"Use the tool.","signature":"EqQBsig"},{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city": "Paris"}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":[{"type":"text","text":"18C"}]},{"type":"text","text":"And tomorrow?"}]},` +
		`{"role":"assistant","content":"Let me see."},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_02","content":"boom","is_error":true}]}]}`
	got, err := messagesChatRequest([]byte(body), "gpt-5", true, true)
	require.NoError(t, err)
	assert.JSONEq(t, `{"model":"gpt-5","max_tokens":300,"temperature":0.2,"top_p":0.9,"stop":["END"],"user":"u1",`+
		`"reasoning_effort":"medium","stream":true,"stream_options":{"include_usage":true},`+
		`"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],`+
		`"tool_choice":"required","parallel_tool_calls":false,`+
		`"messages":[{"role":"system","content":"Be brief.\nBe kind."},`+
		`{"role":"user","content":[{"type":"text","text":"Weather in Paris?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBOR"}}]},`+
		`{"role":"assistant","content":"Checking.","tool_calls":[{"id":"toolu_01","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},`+
		`{"role":"tool","tool_call_id":"toolu_01","content":"18C"},`+
		`{"role":"user","content":"And tomorrow?"},`+
		`{"role":"assistant","content":"Let me see."},`+
		`{"role":"tool","tool_call_id":"toolu_02","content":"Error: boom"}]}`, string(got))
	assert.NotContains(t, string(got), "EqQBsig", "Claude's thinking signatures stay with Claude")

	// A vendor whose model takes no reasoning effort gets none; tool_choice
	// tool and auto; no tools, no tool_choice.
	got, err = messagesChatRequest([]byte(`{"thinking":{"type":"enabled","budget_tokens":2000},"messages":[{"role":"user","content":"Hi"}],`+
		`"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"f"}}`), "m", false, false)
	require.NoError(t, err)
	assert.False(t, gjson.GetBytes(got, "reasoning_effort").Exists())
	assert.JSONEq(t, `{"type":"function","function":{"name":"f"}}`, gjson.GetBytes(got, "tool_choice").Raw)
	assert.False(t, gjson.GetBytes(got, "stream_options").Exists())
	got, err = messagesChatRequest([]byte(`{"messages":[{"role":"user","content":"Hi"}],"tool_choice":{"type":"auto"}}`), "m", false, true)
	require.NoError(t, err)
	assert.False(t, gjson.GetBytes(got, "tool_choice").Exists())

	for name, bad := range map[string]string{
		"not json":      `{"messages":`,
		"no messages":   `{"model":"x"}`,
		"bad role":      `{"messages":[{"role":"developer","content":"x"}]}`,
		"bad content":   `{"messages":[{"role":"user","content":42}]}`,
		"bad image":     `{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}`,
		"array body":    `[1]`,
		"no image data": `{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64"}}]}]}`,
	} {
		_, err := messagesChatRequest([]byte(bad), "m", false, false)
		assert.Error(t, err, name)
	}
	// A system turn inside the conversation (Claude Code's
	// mid-conversation-system beta) is a system message in place.
	got, err = messagesChatRequest([]byte(`{"messages":[{"role":"user","content":"Hi"},`+
		`{"role":"system","content":[{"type":"text","text":"Now be brief."}]},{"role":"user","content":"Go"},{"role":"system","content":"Last."}]}`), "m", false, false)
	require.NoError(t, err)
	assert.JSONEq(t, `[{"role":"user","content":"Hi"},{"role":"system","content":"Now be brief."},{"role":"user","content":"Go"},{"role":"system","content":"Last."}]`,
		gjson.GetBytes(got, "messages").Raw)
	_, err = messagesChatRequest([]byte(`{"system":"s","messages":[{"role":"system","content":"only"}]}`), "m", false, false)
	assert.Error(t, err, "a system turn alone is no conversation")
	assert.Equal(t, "low", reasoningEffortOf(1024))
	assert.Equal(t, "high", reasoningEffortOf(32000))
}

func TestMessagesFromChat(t *testing.T) {
	chat := `{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-5","choices":[{"index":0,"message":{"role":"assistant",` +
		`"content":"It is sunny.","reasoning_content":"Think.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},` +
		`{"id":"call_2","type":"function","function":{"name":"f","arguments":"not json"}}]},"finish_reason":"tool_calls"}]}`
	u := billing.Usage{PromptTokens: 100, CachedTokens: 40, CompletionTokens: 12}
	got, err := messagesFromChat([]byte(chat), u, true)
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"msg_chatcmpl-1","type":"message","role":"assistant","model":"gpt-5","stop_reason":"tool_use","stop_sequence":null,`+
		`"usage":{"input_tokens":60,"cache_read_input_tokens":40,"output_tokens":12},"content":[`+
		`{"type":"thinking","thinking":"Think.","signature":""},{"type":"text","text":"It is sunny."},`+
		`{"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}},{"type":"tool_use","id":"call_2","name":"f","input":{}}]}`, string(got))

	got, err = messagesFromChat([]byte(chat), u, false)
	require.NoError(t, err)
	assert.NotContains(t, string(got), "thinking", "thinking only when the client enabled it")

	for finish, want := range map[string]string{"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal", "": "end_turn"} {
		assert.Equal(t, want, messagesStopReason(finish))
	}
}

// chatTestStream is chat chunks as the chat translations write them.
func chatTestStream(deltas ...string) string {
	var b strings.Builder
	for _, d := range deltas {
		b.WriteString(`data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-5","choices":[{"index":0,"delta":` + d + `}]}` + "\n\n")
	}
	return b.String()
}

// messagesEventTypes lists the events' types and checks each is one line
// of JSON whose type is the event's name.
func messagesEventTypes(t *testing.T, sse string) []string {
	t.Helper()
	var types []string
	for _, ev := range strings.Split(strings.TrimSuffix(sse, "\n\n"), "\n\n") {
		name, data, ok := strings.Cut(ev, "\ndata: ")
		require.True(t, ok, ev)
		name = strings.TrimPrefix(name, "event: ")
		require.True(t, gjson.Valid(data), data)
		assert.Equal(t, name, gjson.Get(data, "type").String())
		types = append(types, name)
	}
	return types
}

func TestMessagesEvents(t *testing.T) {
	chat := chatTestStream(`{"role":"assistant","content":""}`, `{"reasoning_content":"Hmm"}`, `{"reasoning_content":" ok"}`,
		`{"content":"Hel"}`, `{"content":"lo"}`, `{"reasoning_content":"late"}`,
		`{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"a","arguments":""}}]}`,
		`{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":"}}]}`,
		`{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}`,
		`{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"b","arguments":"{}"}}]}`) +
		`data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-5","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}` + "\n\n" +
		`data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-5","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}` + "\n\n" +
		"data: [DONE]\n\n"
	for _, step := range []int{len(chat), 1, 7} {
		m := newMessagesEvents("gpt-5", 9, true)
		var out []byte
		for i := 0; i < len(chat); i += step {
			out = m.Feed(out, []byte(chat[i:min(i+step, len(chat))]))
		}
		out = m.Finish(out, billing.Usage{PromptTokens: 10, CompletionTokens: 5}, nil)
		s := string(out)
		assert.Equal(t, []string{"message_start", "ping",
			"content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
			"content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
			"content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
			"content_block_start", "content_block_delta", "content_block_stop",
			"message_delta", "message_stop"}, messagesEventTypes(t, s), "step %d", step)
		assert.Contains(t, s, `"usage":{"input_tokens":9,"cache_read_input_tokens":0,"output_tokens":0}`, "message_start has the input estimate")
		assert.Contains(t, s, `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`)
		assert.Contains(t, s, `{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"lo"}}`)
		assert.NotContains(t, s, "late", "reasoning after text is left out")
		assert.Contains(t, s, `{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"call_1","name":"a","input":{}}}`)
		assert.Contains(t, s, `{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"1}"}}`)
		assert.Contains(t, s, `{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"call_2","name":"b","input":{}}}`)
		assert.Contains(t, s, `"delta":{"stop_reason":"tool_use","stop_sequence":null}`)
		assert.Contains(t, s, `"usage":{"input_tokens":10,"cache_read_input_tokens":0,"output_tokens":5}`)
	}

	// Without thinking enabled, reasoning is left out; a failure ends with
	// the error event.
	m := newMessagesEvents("m", 1, false)
	out := m.Feed(nil, []byte(chatTestStream(`{"reasoning_content":"Hmm"}`, `{"content":"Hi"}`)))
	out = m.Finish(out, billing.Usage{}, &meter.VendorError{Type: "rate_limit_error", Message: "slow down"})
	assert.Equal(t, []string{"message_start", "ping", "content_block_start", "content_block_delta", "content_block_stop", "error"},
		messagesEventTypes(t, string(out)))
	assert.NotContains(t, string(out), "Hmm")
	assert.Contains(t, string(out), `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`)

	m = newMessagesEvents("m", 1, false)
	out = m.Finish(nil, billing.Usage{}, &meter.VendorError{Type: "server_error", Message: "gone"})
	assert.Equal(t, []string{"message_start", "ping", "error"}, messagesEventTypes(t, string(out)))
	assert.Contains(t, string(out), `"api_error"`)
}
