package vendors

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// anthropicRichClientBody is what an OpenAI client may send: fields
// Anthropic does not know (the fake rejects them, like the real API) must not
// get through.
const anthropicRichClientBody = `{"model":"gpt-4o","messages":[
	{"role":"system","content":"Be brief."},
	{"role":"user","content":"Weather in Paris?"},
	{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
	{"role":"tool","tool_call_id":"call_1","content":"18C"},
	{"role":"user","content":"And Rome?"}],
	"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
	"tool_choice":"auto","parallel_tool_calls":true,"temperature":0.2,"top_p":1,"stop":["\n\n"],
	"response_format":{"type":"text"},"seed":1,"user":"u","frequency_penalty":0,"logprobs":false,"n":1,
	"stream_options":{"include_usage":true}}`

// anthropicRoundTrip prepares body for the fake, sends it and translates the
// answer as the router does.
func anthropicRoundTrip(t *testing.T, v *Vendor, body string, stream bool) (*http.Response, []byte) {
	t.Helper()
	in := []byte(body)
	out, err := http.NewRequestWithContext(context.Background(), http.MethodPost,
		"http://router.example/v1/chat/completions", bytes.NewReader(in))
	require.NoError(t, err)
	out.Header.Set("Authorization", "Bearer client-key")
	a := Attempt{Endpoint: ChatCompletions, Model: "claude-sonnet-4-5", Body: in, Stream: stream}
	require.NoError(t, v.Prepare(out, a))
	resp, err := http.DefaultClient.Do(out)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	v.TranslateResponse(resp, a)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func TestAnthropicAgainstFake(t *testing.T) {
	fake := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Reply: "Rome is 22C.", RequireKey: "sk-ant-fake",
		InputTokens: 50, OutputTokens: 6, CacheReadTokens: 20, CacheCreationTokens: 5})
	v := anthropicTestVendor(t, Config{BaseURL: fake.URL(), APIKey: "sk-ant-fake",
		Headers: http.Header{"Anthropic-Beta": {"token-efficient-tools-2025-02-19"}}})

	resp, body := anthropicRoundTrip(t, v, anthropicRichClientBody, false)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Equal(t, "chat.completion", gjson.GetBytes(body, "object").String())
	assert.Equal(t, "Rome is 22C.", gjson.GetBytes(body, "choices.0.message.content").String())
	assert.Equal(t, "stop", gjson.GetBytes(body, "choices.0.finish_reason").String())
	assert.JSONEq(t, `{"prompt_tokens":75,"completion_tokens":6,"total_tokens":81,"prompt_tokens_details":{"cached_tokens":20}}`,
		gjson.GetBytes(body, "usage").Raw)

	reqs := fake.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "/v1/messages", r.Path)
	assert.Equal(t, "sk-ant-fake", r.Header.Get("X-Api-Key"))
	assert.Empty(t, r.Header.Get("Authorization"))
	assert.Equal(t, "2023-06-01", r.Header.Get("Anthropic-Version"))
	assert.Equal(t, "token-efficient-tools-2025-02-19", r.Header.Get("Anthropic-Beta"))
	assert.JSONEq(t, `{"model":"claude-sonnet-4-5","max_tokens":4096,"system":"Be brief.","temperature":0.2,
		"stop_sequences":["\n\n"],"tool_choice":{"type":"auto"},
		"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
		"messages":[
			{"role":"user","content":[{"type":"text","text":"Weather in Paris?"}]},
			{"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"18C"},{"type":"text","text":"And Rome?"}]}]}`,
		string(r.Body))
}

func TestAnthropicAgainstFakeStream(t *testing.T) {
	fake := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Reply: "Checking the weather.",
		ToolCall:    &fakevendor.AnthropicToolCall{ID: "toolu_9", Name: "get_weather", Input: `{"city":"Rome","unit":"C"}`},
		InputTokens: 30, OutputTokens: 12})
	v := anthropicTestVendor(t, Config{BaseURL: fake.URL()})

	resp, body := anthropicRoundTrip(t, v, strings.Replace(anthropicRichClientBody, `"n":1`, `"n":1,"stream":true`, 1), true)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, true, gjson.GetBytes(fake.Requests()[0].Body, "stream").Bool())

	events := anthropicTestEvents(t, string(body))
	require.GreaterOrEqual(t, len(events), 4)
	assert.Equal(t, "[DONE]", events[len(events)-1])
	assert.JSONEq(t, `{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42}`,
		gjson.Get(events[len(events)-2], "usage").Raw)

	var content, args strings.Builder
	var finish, toolID, toolName string
	for _, ev := range events[:len(events)-2] {
		d := gjson.Get(ev, "choices.0.delta")
		content.WriteString(d.Get("content").String())
		for _, tc := range d.Get("tool_calls").Array() {
			assert.EqualValues(t, 0, tc.Get("index").Int())
			if id := tc.Get("id").String(); id != "" {
				toolID, toolName = id, tc.Get("function.name").String()
			}
			args.WriteString(tc.Get("function.arguments").String())
		}
		if f := gjson.Get(ev, "choices.0.finish_reason").String(); f != "" {
			finish = f
		}
	}
	assert.Equal(t, "Checking the weather.", content.String())
	assert.Equal(t, "toolu_9", toolID)
	assert.Equal(t, "get_weather", toolName)
	assert.Equal(t, `{"city":"Rome","unit":"C"}`, args.String())
	assert.Equal(t, "tool_calls", finish)
}

func TestAnthropicAgainstFakeErrors(t *testing.T) {
	fake := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Status: 529})
	v := anthropicTestVendor(t, Config{BaseURL: fake.URL()})
	resp, body := anthropicRoundTrip(t, v, `{"messages":[{"role":"user","content":"Hi"}]}`, false)
	assert.Equal(t, 529, resp.StatusCode)
	assert.Equal(t, Verdict{true, ReasonOverloaded}, v.Classify(resp.StatusCode, body))
	assert.Equal(t, "Overloaded", v.ErrorMessage(resp.StatusCode, body))

	// A request the vendor rejects reaches the client in OpenAI's shape.
	fake.SetOptions(fakevendor.AnthropicOptions{Status: 400, ErrorMessage: "messages.0.content: bad"})
	resp, body = anthropicRoundTrip(t, v, `{"messages":[{"role":"user","content":"Hi"}]}`, false)
	require.Equal(t, 400, resp.StatusCode)
	assert.Equal(t, Verdict{false, ReasonBadRequest}, v.Classify(resp.StatusCode, body))
	assert.JSONEq(t, `{"error":{"message":"messages.0.content: bad","type":"invalid_request_error","param":null,"code":null}}`,
		string(v.TranslateError(resp.StatusCode, body)))

	// Overloaded after the 200: an OpenAI error event, no [DONE].
	fake.SetOptions(fakevendor.AnthropicOptions{Reply: "one two three", StreamError: "overloaded_error", StreamErrorAfter: 2})
	resp, body = anthropicRoundTrip(t, v, `{"stream":true,"messages":[{"role":"user","content":"Hi"}]}`, true)
	require.Equal(t, 200, resp.StatusCode)
	events := anthropicTestEvents(t, string(body))
	require.Len(t, events, 4, string(body))
	assert.Equal(t, "one two", gjson.Get(events[1], "choices.0.delta.content").String()+gjson.Get(events[2], "choices.0.delta.content").String())
	assert.JSONEq(t, `{"error":{"message":"Overloaded","type":"overloaded_error","param":null,"code":"overloaded_error"}}`, events[3])
}

// anthropicBenchStream is a long streamed answer: text, then a tool call.
func anthropicBenchStream() (stream []byte, events int) {
	var b strings.Builder
	add := func(event, data string) {
		b.WriteString("event: " + event + "\ndata: " + data + "\n\n")
		events++
	}
	add("message_start", `{"type":"message_start","message":{"id":"msg_bench","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1200,"cache_read_input_tokens":800,"output_tokens":1}}}`)
	add("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	add("ping", `{"type": "ping"}`)
	for i := range 200 {
		text := " word"
		if i%10 == 0 {
			text = ` \"quoted\"\n`
		}
		add("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"`+text+`"}}`)
	}
	add("content_block_stop", `{"type":"content_block_stop","index":0}`)
	add("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_bench","name":"get_weather","input":{}}}`)
	for _, frag := range []string{``, `{\"loc`, `ation\": \"San`, ` Francisco\"}`} {
		add("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"`+frag+`"}}`)
	}
	add("content_block_stop", `{"type":"content_block_stop","index":1}`)
	add("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":230}}`)
	add("message_stop", `{"type":"message_stop"}`)
	return []byte(b.String()), events
}

// BenchmarkAnthropicStream decodes a 212-event stream fed in 1 KiB reads.
func BenchmarkAnthropicStream(b *testing.B) {
	stream, events := anthropicBenchStream()
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		w := newChunkWriter("claude-sonnet-4-5")
		d := newAnthropicStream("claude-sonnet-4-5")
		for p := stream; len(p) > 0; {
			n := min(len(p), 1024)
			if err := d.feed(p[:n], w); err != nil {
				b.Fatal(err)
			}
			w.take()
			p = p[n:]
		}
		if err := d.end(w); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events), "events/op")
}

// BenchmarkAnthropicRequest translates a tool-using conversation (Prepare,
// parsing included).
func BenchmarkAnthropicRequest(b *testing.B) {
	v := anthropicTestVendor(b, Config{})
	body := []byte(anthropicRichClientBody)
	a := Attempt{Endpoint: ChatCompletions, Model: "claude-sonnet-4-5", Body: body}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		out := &http.Request{Method: http.MethodPost, Header: http.Header{}}
		if err := v.Prepare(out, a); err != nil {
			b.Fatal(err)
		}
	}
}
