package vendors

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

func responsesAttempt(body string, stream bool) Attempt {
	return Attempt{Endpoint: Responses, Model: "mistral-large", Body: []byte(body), Stream: stream,
		ResponseIDs: NewResponseIDs([]byte("test-key"))}
}

func TestResponsesBridge_ChatRequest(t *testing.T) {
	v := newTestVendor(t, "mistral")
	b := newResponsesBridge(v, Attempt{}).(*responsesBridge)
	chat, err := b.ChatRequest(responsesAttempt(`{
		"model":"client-name","instructions":"Be brief.","store":false,
		"input":[
			{"role":"developer","content":"Use metric units."},
			{"type":"message","role":"user","content":[{"type":"input_text","text":"Weather in "},{"type":"input_text","text":"Paris?"},{"type":"input_image","image_url":"https://x/cat.png","detail":"low"}]},
			{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"opaque"},
			{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Checking."}]},
			{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
			{"type":"function_call","call_id":"call_2","namespace":"crm","name":"lookup","arguments":"{}"},
			{"type":"function_call_output","call_id":"call_1","output":"sunny"},
			{"type":"function_call_output","call_id":"call_2","output":[{"type":"input_text","text":"none"}]},
			{"type":"web_search_call","id":"ws_1","status":"completed"}
		],
		"tools":[
			{"type":"function","name":"get_weather","description":"Weather","parameters":{"type":"object"},"strict":true},
			{"type":"web_search"},
			{"type":"namespace","name":"crm","description":"CRM","tools":[{"type":"function","name":"lookup"}]}
		],
		"tool_choice":{"type":"function","name":"lookup"},
		"parallel_tool_calls":false,
		"text":{"format":{"type":"json_schema","name":"w","schema":{"type":"object"},"strict":true}},
		"reasoning":{"effort":"low","summary":"auto"},
		"max_output_tokens":300,"temperature":0.2,"top_p":0.9
	}`, true))
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"model":"mistral-large",
		"messages":[
			{"role":"system","content":"Be brief."},
			{"role":"system","content":"Use metric units."},
			{"role":"user","content":[{"type":"text","text":"Weather in "},{"type":"text","text":"Paris?"},{"type":"image_url","image_url":{"url":"https://x/cat.png","detail":"low"}}]},
			{"role":"assistant","content":"Checking.","tool_calls":[
				{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
				{"id":"call_2","type":"function","function":{"name":"crm__lookup","arguments":"{}"}}]},
			{"role":"tool","tool_call_id":"call_1","content":"sunny"},
			{"role":"tool","tool_call_id":"call_2","content":"none"}
		],
		"tools":[
			{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object"},"strict":true}},
			{"type":"function","function":{"name":"crm__lookup","parameters":{"type":"object","properties":{}}}}
		],
		"tool_choice":{"type":"function","function":{"name":"crm__lookup"}},
		"parallel_tool_calls":false,
		"response_format":{"type":"json_schema","json_schema":{"name":"w","schema":{"type":"object"},"strict":true}},
		"reasoning_effort":"low","max_completion_tokens":300,"temperature":0.2,"top_p":0.9,
		"stream":true,"stream_options":{"include_usage":true}
	}`, string(chat))
	assert.Equal(t, []string{"web_search"}, b.dropped)
	assert.False(t, b.storeIgnored)
	h := http.Header{}
	b.ResponseHeaders(h)
	assert.Equal(t, "web_search", h.Get(HeaderDroppedTools))
	assert.Empty(t, h.Get(HeaderStoreIgnored))

	// A plain string input; store defaults to true, which is not honoured.
	chat, err = b.ChatRequest(responsesAttempt(`{"model":"m","input":"hi"}`, false))
	require.NoError(t, err)
	assert.JSONEq(t, `{"model":"mistral-large","messages":[{"role":"user","content":"hi"}]}`, string(chat))
	assert.True(t, b.storeIgnored)
}

// What chat completions cannot carry is refused, with a message for the
// client.
func TestResponsesBridge_ChatRequestRefusals(t *testing.T) {
	v := newTestVendor(t, "mistral")
	for body, want := range map[string]string{
		`{"input":"x","previous_response_id":"resp_1"}`:                                     "previous_response_id",
		`{"input":"x","conversation":"conv_1"}`:                                             "conversation",
		`{"input":"x","background":true}`:                                                   "background",
		`{"input":[{"type":"item_reference","id":"msg_1"}]}`:                                "item_reference",
		`{"input":"x","tools":[{"type":"web_search"}],"tool_choice":{"type":"web_search"}}`: `built-in tool "web_search"`,
		`{"input":"x","tools":[{"type":"file_search"}],"tool_choice":"required"}`:           "only tools are built-in ones (file_search)",
		`{"input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}]}`:      "image_url",
		`{"input":[{"role":"user","content":[{"type":"input_audio"}]}]}`:                    `"input_audio" is not supported`,
		`{"input":[{"role":"tool","content":"x"}]}`:                                         `unknown message role "tool"`,
		`{"input":7}`:   "input must be",
		`{"input":[]}`:  "nothing to answer",
		`{"input":[1]}`: "must be an object",
		`[1]`:           "JSON object",
		`{"input":"x"`:  "not valid JSON",
	} {
		_, err := newResponsesBridge(v, Attempt{}).ChatRequest(responsesAttempt(body, false))
		if assert.Error(t, err, body) {
			assert.Contains(t, err.Error(), want, body)
		}
	}
}

// chatStreamOf renders chat chunks (the deltas, raw JSON) as a stream.
func chatStreamOf(deltas ...string) string {
	var sb strings.Builder
	for _, d := range deltas {
		sb.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[` + d + "]}\n\n")
	}
	sb.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":9,"total_tokens":29,"completion_tokens_details":{"reasoning_tokens":3}}}` + "\n\n")
	sb.WriteString("data: [DONE]\n\n")
	return sb.String()
}

// A bridged stream: reasoning, text and two tool calls become the Responses
// events in order, numbered, ending with response.completed and the whole
// output; however the chat bytes are cut.
func TestResponsesBridge_Stream(t *testing.T) {
	v := newTestVendor(t, "mistral")
	stream := chatStreamOf(
		`{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}`,
		`{"index":0,"delta":{"reasoning_content":"Think"},"finish_reason":null}`,
		`{"index":0,"delta":{"reasoning_content":"ing."},"finish_reason":null}`,
		`{"index":0,"delta":{"content":"Hel"},"finish_reason":null}`,
		`{"index":0,"delta":{"content":"lo"},"finish_reason":null}`,
		`{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}`,
		`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}`,
		`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}`,
		`{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"crm__lookup","arguments":"{}"}}]},"finish_reason":null}`,
		`{"index":0,"delta":{},"finish_reason":"tool_calls"}`,
	)
	a := responsesAttempt(`{"model":"m","input":"hi","tools":[{"type":"function","name":"get_weather"},{"type":"namespace","name":"crm","tools":[{"type":"function","name":"lookup"}]}]}`, true)
	var first string
	for _, step := range []int{len(stream), 13, 1} {
		tr, err := v.Translator(a)
		require.NoError(t, err)
		out, _ := http.NewRequest(http.MethodPost, "http://router/v1/responses", nil)
		require.NoError(t, tr.Request(out))
		var sb strings.Builder
		committedAt := -1
		for fed := 0; fed < len(stream); fed += step {
			n := min(step, len(stream)-fed)
			require.NoError(t, tr.Feed([]byte(stream[fed:fed+n]), fed+n == len(stream)))
			sb.WriteString(string(tr.Output()))
			if committedAt < 0 && tr.Committed() {
				committedAt = fed + n
			}
		}
		tr.End()
		sb.WriteString(string(tr.Output()))
		assert.True(t, tr.Done())
		assert.Equal(t, billing.Usage{PromptTokens: 20, CompletionTokens: 9}, tr.Usage())
		assert.GreaterOrEqual(t, committedAt, strings.Index(stream, "Think"), "no commit before the first content")
		tr.Release()
		got := normalizeResponses(sb.String())
		if first == "" {
			first = got
		}
		assert.Equal(t, first, got, "step %d", step)
	}

	var types []string
	var last gjson.Result
	for i, ev := range strings.Split(strings.TrimSuffix(first, "\n\n"), "\n\n") {
		lines := strings.SplitN(ev, "\n", 2)
		require.Len(t, lines, 2, ev)
		data := gjson.Parse(strings.TrimPrefix(lines[1], "data: "))
		assert.Equal(t, strings.TrimPrefix(lines[0], "event: "), data.Get("type").String())
		assert.Equal(t, int64(i), data.Get("sequence_number").Int())
		types = append(types, data.Get("type").String())
		last = data
	}
	assert.Equal(t, []string{
		"response.created", "response.in_progress",
		"response.output_item.added", "response.reasoning_summary_part.added",
		"response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
		"response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
		"response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done", "response.output_item.done",
		"response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
		"response.function_call_arguments.done", "response.output_item.done",
		"response.output_item.added", "response.function_call_arguments.delta",
		"response.function_call_arguments.done", "response.output_item.done",
		"response.completed",
	}, types)
	r := last.Get("response")
	assert.Equal(t, "completed", r.Get("status").String())
	assert.Equal(t, "Thinking.", r.Get("output.0.summary.0.text").String())
	assert.Equal(t, "Hello", r.Get("output.1.content.0.text").String())
	assert.Equal(t, `{"city":"Paris"}`, r.Get("output.2.arguments").String())
	assert.Equal(t, "call_a", r.Get("output.2.call_id").String())
	assert.Equal(t, "crm", r.Get("output.3.namespace").String())
	assert.Equal(t, "lookup", r.Get("output.3.name").String())
	assert.Equal(t, int64(29), r.Get("usage.total_tokens").Int())
}

// normalizeResponses masks what differs between two conversions of one
// stream: the random ids, the times.
func normalizeResponses(s string) string {
	s = randomIDs.ReplaceAllString(s, "_ID")
	for _, f := range []string{`"created_at":`, `"completed_at":`} {
		for i := strings.Index(s, f); i >= 0; {
			j := i + len(f)
			k := j
			for k < len(s) && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			s = s[:j] + "0" + s[k:]
			next := strings.Index(s[j:], f)
			if next < 0 {
				break
			}
			i = j + next
		}
	}
	return s
}

// A chat stream cut by its token limit is an incomplete response.
func TestResponsesBridge_StreamIncomplete(t *testing.T) {
	b := newResponsesBridge(newTestVendor(t, "mistral"), responsesAttempt(`{"input":"x"}`, true)).(*responsesBridge)
	_, err := b.ChatRequest(responsesAttempt(`{"input":"x","max_output_tokens":2}`, true))
	require.NoError(t, err)
	s := b.NewStream()
	out := s.Feed(nil, []byte(chatStreamOf(`{"index":0,"delta":{"content":"Hi"},"finish_reason":"length"}`)))
	out = s.Finish(out, StreamEnd{Usage: billing.Usage{PromptTokens: 1, CompletionTokens: 2}})
	assert.Contains(t, string(out), "event: response.incomplete\n")
	assert.Contains(t, string(out), `"incomplete_details":{"reason":"max_output_tokens"}`)
	assert.Contains(t, string(out), `"max_output_tokens":2`)
}

func TestResponsesBridge_Answer(t *testing.T) {
	b := newResponsesBridge(newTestVendor(t, "mistral"), responsesAttempt(`{}`, false)).(*responsesBridge)
	_, err := b.ChatRequest(responsesAttempt(`{"input":"x","instructions":"I","tools":[{"type":"function","name":"f"}]}`, false))
	require.NoError(t, err)
	out, err := b.Answer([]byte(`{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","reasoning_content":"R","content":"Hi","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`),
		billing.Usage{PromptTokens: 5, CachedTokens: 2, CompletionTokens: 7})
	require.NoError(t, err)
	r := gjson.ParseBytes(out)
	assert.Equal(t, b.id, r.Get("id").String())
	assert.Equal(t, "completed", r.Get("status").String())
	assert.Equal(t, "I", r.Get("instructions").String())
	assert.Equal(t, `[{"type":"function","name":"f","strict":null}]`, r.Get("tools").Raw)
	assert.Equal(t, []string{"reasoning", "message", "function_call"},
		[]string{r.Get("output.0.type").String(), r.Get("output.1.type").String(), r.Get("output.2.type").String()})
	assert.Equal(t, `{"input_tokens":5,"input_tokens_details":{"cached_tokens":2,"cache_write_tokens":0},"output_tokens":7,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":12}`,
		r.Get("usage").Raw)

	out, err = b.Answer([]byte(`{"choices":[{"message":{"content":"cut"},"finish_reason":"length"}]}`), billing.Usage{})
	require.NoError(t, err)
	assert.Equal(t, "incomplete", gjson.GetBytes(out, "status").String())
	assert.Equal(t, "max_output_tokens", gjson.GetBytes(out, "incomplete_details.reason").String())

	vendor, _, ok := NewResponseIDs([]byte("test-key")).Open(b.id)
	assert.True(t, ok)
	assert.Equal(t, "mistral-test", vendor)
}

// randomIDs are the ids a bridged response makes up: its own (signed) and
// its items'.
var randomIDs = regexp.MustCompile(`(resp_[A-Za-z0-9_-]{20,}|_[0-9a-f]{24})`)
