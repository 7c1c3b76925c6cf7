package meter

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

// assemble writes input to a new Assembler in pieces of size split (all at
// once when split <= 0) and returns its answer.
func assemble(t testing.TB, input string, split int) ([]byte, error) {
	t.Helper()
	a := NewAssembler(0)
	in := []byte(input)
	if split <= 0 {
		split = len(in) + 1
	}
	for len(in) > 0 {
		n := min(split, len(in))
		_, _ = a.Write(in[:n])
		in = in[n:]
	}
	return a.Answer()
}

// What OpenAI, and the vendors' OpenAI-compatible APIs, answer without a
// stream, assembled from what they stream.
func TestAssemblerRealStreams(t *testing.T) {
	for _, c := range []struct {
		name, stream, want string
	}{
		{"openai", openAIStream, `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",
			"choices":[{"index":0,"message":{"role":"assistant","content":"Hello \"world\"\n\u00e9","refusal":null},
			"logprobs":null,"finish_reason":"stop"}],
			"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},
			"system_fingerprint":"fp_1"}`},
		{"openai-crlf", crlf(openAIStream), `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",
			"choices":[{"index":0,"message":{"role":"assistant","content":"Hello \"world\"\n\u00e9","refusal":null},
			"logprobs":null,"finish_reason":"stop"}],
			"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},
			"system_fingerprint":"fp_1"}`},
		{"gemini: cumulative usage, the last one wins", geminiStream, `{"id":"gem-1","object":"chat.completion","created":1700000001,"model":"gemini-2.5-flash",
			"choices":[{"index":0,"message":{"role":"assistant","content":"Hello!","refusal":null},"logprobs":null,"finish_reason":"stop"}],
			"usage":{"completion_tokens":3,"prompt_tokens":8,"total_tokens":11}}`},
		{"mistral: usage on the last content chunk", mistralStream, `{"id":"mis-1","object":"chat.completion","created":1700000002,"model":"mistral-small-latest",
			"choices":[{"index":0,"message":{"role":"assistant","content":"Bonjour.","refusal":null},"logprobs":null,"finish_reason":"stop"}],
			"usage":{"prompt_tokens":10,"total_tokens":14,"completion_tokens":4}}`},
		{"deepseek: reasoning_content", deepSeekStream, `{"id":"ds-1","object":"chat.completion","created":1700000003,"model":"deepseek-reasoner",
			"choices":[{"index":0,"message":{"role":"assistant","content":"42","reasoning_content":"Let me think.","refusal":null},"logprobs":null,"finish_reason":"stop"}],
			"usage":{"prompt_tokens":20,"completion_tokens":10,"total_tokens":30,"prompt_cache_hit_tokens":16,"prompt_cache_miss_tokens":4},
			"system_fingerprint":"fp_ds"}`},
		{"azure: the prelude's prompt filter results", azurePrelude + mistralStream, `{"id":"mis-1","object":"chat.completion","created":1700000002,"model":"mistral-small-latest",
			"choices":[{"index":0,"message":{"role":"assistant","content":"Bonjour.","refusal":null},"logprobs":null,"finish_reason":"stop"}],
			"usage":{"prompt_tokens":10,"total_tokens":14,"completion_tokens":4},
			"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}`},
		{"tool calls: content null", toolCallStream, `{"id":"t-1","object":"chat.completion","created":1,"model":"gpt-4o",
			"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,
			"tool_calls":[{"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
			"logprobs":null,"finish_reason":"tool_calls"}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, split := range []int{0, 1, 7, 64} {
				got, err := assemble(t, c.stream, split)
				require.NoError(t, err)
				assert.JSONEq(t, c.want, string(got), "split %d", split)
			}
		})
	}
}

// The chunks the router itself writes for the native kinds (Bedrock,
// Gemini), from the vendors package's goldens, assemble into the answer the
// same translation gives for a whole response.
func TestAssemblerNativeTranslations(t *testing.T) {
	got, err := assemble(t, readGolden(t, "aws/stream_tool_use.sse"), 0)
	require.NoError(t, err)
	want := readGolden(t, "aws/response_tool_use.openai.json")
	// The recorded whole answer is another call: compare the shape, with the
	// stream's own words, ids and usage.
	assert.Equal(t, gjson.Get(want, "object").String(), gjson.GetBytes(got, "object").String())
	assert.Equal(t, "Let me check.", gjson.GetBytes(got, "choices.0.message.content").String())
	assert.JSONEq(t, `[{"id":"tooluse_AbC123","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},
		{"id":"tooluse_XyZ789","type":"function","function":{"name":"get_time","arguments":"{}"}}]`,
		gjson.GetBytes(got, "choices.0.message.tool_calls").Raw)
	assert.Equal(t, "tool_calls", gjson.GetBytes(got, "choices.0.finish_reason").String())
	assert.JSONEq(t, `{"prompt_tokens":300,"completion_tokens":40,"total_tokens":340}`, gjson.GetBytes(got, "usage").Raw)
	for _, key := range []string{"id", "created", "model", "choices.0.index", "choices.0.message.role",
		"choices.0.message.refusal", "choices.0.logprobs"} {
		assert.Equal(t, gjson.Get(want, key).Type, gjson.GetBytes(got, key).Type, key)
	}

	got, err = assemble(t, readGolden(t, "aws/stream_text.sse"), 0)
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"chatcmpl-test","object":"chat.completion","created":1700000000,"model":"anthropic.claude-sonnet-4-20250514-v1:0",
		"choices":[{"index":0,"message":{"role":"assistant","content":"Hello \"world\" ✓\n","refusal":null},"logprobs":null,"finish_reason":"stop"}],
		"usage":{"prompt_tokens":132,"completion_tokens":5,"total_tokens":137,"prompt_tokens_details":{"cached_tokens":100}}}`, string(got))

	got, err = assemble(t, readGolden(t, "google/streams/thoughts_tools.openai.txt"), 0)
	require.NoError(t, err)
	assert.Equal(t, "Thinking about weather…", gjson.GetBytes(got, "choices.0.message.reasoning_content").String())
	assert.Equal(t, `{"city":"Paris"}`, gjson.GetBytes(got, "choices.0.message.tool_calls.0.function.arguments").String())
	assert.Equal(t, `{"city":"Rome","days":[1,2]}`, gjson.GetBytes(got, "choices.0.message.tool_calls.1.function.arguments").String())

	// Every golden that completes assembles into one valid chat.completion
	// whose text is the stream's.
	files, _ := filepath.Glob("../../vendors/testdata/google/streams/*.openai.txt")
	more, _ := filepath.Glob("../../vendors/testdata/aws/stream_*.sse")
	require.NotEmpty(t, files)
	for _, f := range append(files, more...) {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		got, err := assemble(t, string(raw), 0)
		if !strings.Contains(string(raw), "data: [DONE]") || strings.Contains(string(raw), `"error"`) {
			assert.Error(t, err, f)
			continue
		}
		require.NoError(t, err, f)
		require.True(t, jsonwalk.Valid(got), "%s: %s", f, got)
		assert.Equal(t, deltaText(string(raw)), gjson.GetBytes(got, "choices.0.message.content").String(), f)
	}
}

func readGolden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../vendors/testdata", name))
	require.NoError(t, err)
	return string(b)
}

// deltaText is the concatenated delta content of a stream's chunks.
func deltaText(stream string) string {
	var b strings.Builder
	for _, line := range strings.Split(stream, "\n") {
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			b.WriteString(gjson.Get(data, "choices.0.delta.content").String())
		}
	}
	return b.String()
}

// Several choices (n > 1) arrive interleaved and out of order; parallel tool
// calls interleave by index; logprobs, refusals and annotations are
// concatenated; a character split across chunks comes out whole.
func TestAssemblerMerges(t *testing.T) {
	stream := sse(
		`{"id":"c","object":"chat.completion.chunk","created":5,"model":"m","service_tier":"default","system_fingerprint":"fp","choices":[{"index":1,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null},{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}`,
		`{"id":"c","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"content":"\ud83d"},"logprobs":{"content":[{"token":"a","logprob":-0.1,"bytes":[97],"top_logprobs":[]}],"refusal":null},"finish_reason":null}]}`,
		`{"id":"c","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"content":"\ude00!"},"logprobs":{"content":[{"token":"b","logprob":-0.2,"bytes":[98],"top_logprobs":[]}],"refusal":null},"finish_reason":null}]}`,
		`{"id":"c","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":1,"delta":{"refusal":"I can"},"finish_reason":null}]}`,
		`{"id":"c","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":1,"delta":{"refusal":"not."},"finish_reason":"stop"}]}`,
		`{"id":"c","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":2,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"b","arguments":"{\"y\""}},{"index":0,"id":"call_1","type":"function","function":{"name":"a","arguments":""}}]}}]}`,
		`{"id":"c","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":2,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}},{"index":1,"function":{"arguments":":1}"}}]}}]}`,
		`{"id":"c","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":2,"delta":{},"finish_reason":"tool_calls"}]}`,
		`{"id":"c","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0,"delta":{"annotations":[{"type":"url_citation","url_citation":{"url":"https://x","title":"x","start_index":0,"end_index":1}}]},"finish_reason":"stop"}]}`,
		`{"id":"c","object":"chat.completion.chunk","created":5,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":9,"total_tokens":12,"completion_tokens_details":{"reasoning_tokens":2}}}`,
		`[DONE]`)
	got, err := assemble(t, stream, 3)
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"c","object":"chat.completion","created":5,"model":"m","choices":[
		{"index":0,"message":{"role":"assistant","content":"\ud83d\ude00!","refusal":null,
			"annotations":[{"type":"url_citation","url_citation":{"url":"https://x","title":"x","start_index":0,"end_index":1}}]},
			"logprobs":{"content":[{"token":"a","logprob":-0.1,"bytes":[97],"top_logprobs":[]},{"token":"b","logprob":-0.2,"bytes":[98],"top_logprobs":[]}],"refusal":null},
			"finish_reason":"stop"},
		{"index":1,"message":{"role":"assistant","content":"","refusal":"I cannot."},"logprobs":null,"finish_reason":"stop"},
		{"index":2,"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[
			{"id":"call_1","type":"function","function":{"name":"a","arguments":"{}"}},
			{"id":"call_2","type":"function","function":{"name":"b","arguments":"{\"y\":1}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],
		"usage":{"prompt_tokens":3,"completion_tokens":9,"total_tokens":12,"completion_tokens_details":{"reasoning_tokens":2}},
		"service_tier":"default","system_fingerprint":"fp"}`, string(got))
	assert.Equal(t, "😀!", gjson.GetBytes(got, "choices.0.message.content").String(), "the surrogate pair joined")
}

// Odd but real shapes: tool calls without an index (whole calls, as some
// OpenAI-compatible servers send them), a name repeated on every fragment,
// content as an array of parts (Mistral's reasoning models), vLLM's
// "reasoning", the legacy function_call, and no finish_reason at all.
func TestAssemblerOddShapes(t *testing.T) {
	got, err := assemble(t, sse(
		`{"id":"x","created":1,"model":"m","choices":[{"delta":{"role":"assistant","reasoning":"hm","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{\"k\":"}}]}}]}`,
		`{"id":"x","created":1,"model":"m","choices":[{"delta":{"tool_calls":[{"function":{"name":"f","arguments":"1}"}}]}}]}`,
		`{"id":"x","created":1,"model":"m","choices":[{"delta":{"tool_calls":[{"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}]}}]}`,
		`[DONE]`), 0)
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant",
		"content":null,"reasoning":"hm","refusal":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{\"k\":1}"}},
		{"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}]},"logprobs":null,"finish_reason":"tool_calls"}]}`, string(got))

	got, err = assemble(t, sse(
		`{"id":"x","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":[{"type":"thinking","thinking":[{"type":"text","text":"hm"}]}]}}]}`,
		`{"id":"x","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hel"}}]}`,
		`{"id":"x","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}`,
		`[DONE]`), 0)
	require.NoError(t, err)
	assert.JSONEq(t, `[{"type":"thinking","thinking":[{"type":"text","text":"hm"}]},{"type":"text","text":"Hello"}]`,
		gjson.GetBytes(got, "choices.0.message.content").Raw)

	got, err = assemble(t, sse(
		`{"id":"x","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","function_call":{"name":"f","arguments":""}}}]}`,
		`{"id":"x","created":1,"model":"m","choices":[{"index":0,"delta":{"function_call":{"arguments":"{}"}}}]}`,
		`{"id":"x","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"ok"}}]}`,
		`[DONE]`), 0)
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"f","arguments":"{}"}`, gjson.GetBytes(got, "choices.0.message.function_call").Raw)
	assert.Equal(t, "stop", gjson.GetBytes(got, "choices.0.finish_reason").String())
}

// The meter's synthesized usage chunk (the same counts, no details) does not
// replace the vendor's own, which came on a content chunk.
func TestAssemblerKeepsTheVendorsUsageDetails(t *testing.T) {
	vendor := sse(
		`{"id":"mis-1","created":2,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":6,"audio_tokens":0}}}`,
		`[DONE]`)
	_, out := feed(t, wantUsage, vendor, 0)
	require.Contains(t, out, `"choices":[],"usage":{"prompt_tokens":10`, "the meter synthesized a usage chunk")
	got, err := assemble(t, out, 0)
	require.NoError(t, err)
	assert.JSONEq(t, `{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":6,"audio_tokens":0}}`,
		gjson.GetBytes(got, "usage").Raw)
}

// A stream that failed, ended early, or cannot be read is no answer.
func TestAssemblerRefusesBrokenStreams(t *testing.T) {
	_, err := assemble(t, roleChunk+openAIErrorEvent+"data: [DONE]\n\n", 0)
	var ve *VendorError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "server_error", ve.Type)

	_, err = assemble(t, strings.TrimSuffix(openAIStream, "data: [DONE]\n\n"), 0)
	assert.ErrorIs(t, err, ErrIncomplete)

	_, err = assemble(t, roleChunk+`data: {"id":"c","choices":[{"delta":{"content":"x}]}`+"\n\ndata: [DONE]\n\n", 0)
	assert.ErrorIs(t, err, ErrUnreadable)

	a := NewAssembler(100)
	_, _ = a.Write([]byte(openAIStream))
	_, err = a.Answer()
	assert.ErrorIs(t, err, ErrTooLarge)
	assert.Equal(t, 15, a.Usage().TotalTokens(), "the usage is still the meter's")

	huge := `data: {"choices":[{"delta":{"content":"` + strings.Repeat("a", maxEvent) + `"}}]}` + "\n\ndata: [DONE]\n\n"
	_, err = assemble(t, huge, 1<<20)
	assert.ErrorIs(t, err, ErrUnreadable)
	assert.False(t, errors.Is(err, ErrIncomplete))
}

// sse renders payloads as "data:" events.
func sse(payloads ...string) string {
	var b strings.Builder
	for _, p := range payloads {
		b.WriteString("data: " + p + "\n\n")
	}
	return b.String()
}
