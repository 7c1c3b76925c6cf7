package meter

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

var wantUsage = StreamOptions{ClientWantsUsage: true}

// ContentEvents returns how many events carried content. Only tests ask: the
// router sees content through Committed and the estimate in Usage.
func (s *Stream) ContentEvents() int { return s.contentEvents }

func TestStreamPassThroughIsByteExact(t *testing.T) {
	for name, input := range allFixtures {
		// The options under which nothing is dropped or synthesized: the
		// client asked for usage if and only if the vendor sends a usage-only
		// chunk.
		o := StreamOptions{ClientWantsUsage: strings.Contains(input, `"choices":[],"usage":{`)}
		for _, split := range []int{1, 7, 4096, 0} {
			_, out := feed(t, o, input, split)
			assert.Equal(t, input, out, "%s split %d", name, split)
		}
	}
}

func TestStreamSplitDoesNotChangeWhatItSees(t *testing.T) {
	for name, input := range allFixtures {
		whole, _ := feed(t, wantUsage, input, 0)
		for _, split := range []int{1, 2, 3, 7, 64} {
			s, _ := feed(t, wantUsage, input, split)
			assert.Equal(t, whole.Committed(), s.Committed(), name)
			assert.Equal(t, whole.Done(), s.Done(), name)
			assert.Equal(t, whole.FinishReason(), s.FinishReason(), name)
			assert.Equal(t, whole.Usage(), s.Usage(), name)
			assert.Equal(t, whole.ContentEvents(), s.ContentEvents(), name)
			assert.Equal(t, whole.Err(), s.Err(), name)
		}
	}
}

func TestStreamOpenAI(t *testing.T) {
	s, out := feed(t, StreamOptions{}, openAIStream, 0)
	assert.True(t, s.Committed())
	assert.True(t, s.Done())
	assert.Nil(t, s.Err())
	assert.Equal(t, "stop", s.FinishReason())
	assert.Equal(t, 2, s.ContentEvents())
	assert.Equal(t, billing.Usage{PromptTokens: 12, CompletionTokens: 3}, s.Usage())
	// The client did not ask for usage: the usage-only chunk, requested only
	// to meter, is dropped and nothing else changes.
	assert.Equal(t, strings.Replace(openAIStream, openAIUsageChunk, "", 1), out)
}

func TestStreamCRLF(t *testing.T) {
	s, out := feed(t, StreamOptions{}, crlf(openAIStream), 5)
	assert.Equal(t, strings.Replace(crlf(openAIStream), crlf(openAIUsageChunk), "", 1), out)
	assert.True(t, s.Committed())
	assert.True(t, s.Done())
	assert.Equal(t, 12, s.Usage().PromptTokens)
}

func TestStreamCommentsAndKeepAlivesAreNotTokens(t *testing.T) {
	input := ": keep-alive\n\n\n\n: OPENROUTER PROCESSING\r\n\r\n" + roleChunk + "\n" + ": ping\n\n"
	s, out := feed(t, StreamOptions{}, input, 3)
	assert.Equal(t, input, out, "comments and blank lines keep the connection alive")
	assert.False(t, s.Committed())
	assert.Zero(t, s.ContentEvents())
	assert.Equal(t, billing.Usage{Estimated: true}, s.Usage())
}

func TestStreamCommitsOnFirstContent(t *testing.T) {
	tests := map[string]struct {
		chunk  string
		commit bool
	}{
		"role only":          {`{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`, false},
		"null content":       {`{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":null}}]}`, false},
		"empty delta":        {`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`, false},
		"azure prelude":      {`{"choices":[],"id":"","prompt_filter_results":[]}`, false},
		"empty tool calls":   {`{"choices":[{"delta":{"tool_calls":[]}}]}`, false},
		"null tool calls":    {`{"choices":[{"delta":{"tool_calls":null,"function_call":null}}]}`, false},
		"content":            {`{"choices":[{"index":0,"delta":{"content":"Hi"}}]}`, true},
		"escaped content":    {`{"choices":[{"index":0,"delta":{"content":"\n"}}]}`, true},
		"second choice":      {`{"choices":[{"index":0,"delta":{}},{"index":1,"delta":{"content":"x"}}]}`, true},
		"tool call":          {`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}}]}`, true},
		"function call":      {`{"choices":[{"delta":{"function_call":{"name":"f","arguments":""}}}]}`, true},
		"reasoning content":  {`{"choices":[{"delta":{"content":null,"reasoning_content":"Hmm"}}]}`, true},
		"reasoning":          {`{"choices":[{"delta":{"reasoning":"Hmm"}}]}`, true},
		"refusal":            {`{"choices":[{"delta":{"refusal":"I can't"}}]}`, true},
		"content parts":      {`{"choices":[{"delta":{"content":[{"type":"text","text":"Hi"}]}}]}`, true},
		"legacy text":        {`{"choices":[{"text":"Once","index":0}]}`, true},
		"legacy empty text":  {`{"choices":[{"text":"","index":0}]}`, false},
		"content word in id": {`{"id":"\"content\":\"x\"","choices":[{"delta":{}}]}`, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			s, _ := feed(t, StreamOptions{}, "data: "+tt.chunk+"\n\n", 0)
			assert.Equal(t, tt.commit, s.Committed())
			assert.Equal(t, tt.commit, s.ContentEvents() == 1)
		})
	}
}

func TestStreamCommitPointFixtures(t *testing.T) {
	// Feeds a fixture event by event and reports after which event (1-based)
	// the stream committed.
	commitAt := func(input string) int {
		s := NewStream(StreamOptions{})
		for i, ev := range strings.SplitAfter(input, "\n\n") {
			s.Feed([]byte(ev))
			if s.Committed() {
				return i + 1
			}
		}
		return 0
	}
	assert.Equal(t, 2, commitAt(openAIStream), "role-only first chunk")
	assert.Equal(t, 3, commitAt(azurePrelude+openAIStream), "Azure prelude, then role")
	assert.Equal(t, 4, commitAt(deepSeekStream), "keep-alives, role, then reasoning")
	assert.Equal(t, 1, commitAt(toolCallStream), "a tool call is a token")
	assert.Equal(t, 2, commitAt(legacyStream), "legacy text")
	assert.Equal(t, 1, commitAt(geminiStream))
}

func TestStreamErrorBeforeContent(t *testing.T) {
	tests := map[string]struct {
		input string
		want  VendorError
	}{
		"data error": {roleChunk + openAIErrorEvent, VendorError{
			Message: "The server had an error while processing your request.", Type: "server_error", Code: "server_error"}},
		"event error": {roleChunk + anthropicErrorEvent, VendorError{Message: "Overloaded", Type: "overloaded_error"}},
		"event error with text": {"event: error\ndata: upstream connect error\n\n", VendorError{
			Message: "upstream connect error"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			s, out := feed(t, StreamOptions{}, tt.input, 0)
			require.NotNil(t, s.Err())
			assert.Equal(t, tt.want, *s.Err())
			assert.False(t, s.Committed(), "failover is still possible")
			assert.Equal(t, tt.input, out, "the caller decides what to do with it")
		})
	}
}

func TestStreamErrorAfterContent(t *testing.T) {
	first := `data: {"error":{"message":"first","type":"server_error","code":null}}` + "\n\n"
	second := `data: {"error":{"message":"second"}}` + "\n\n"
	s, _ := feed(t, StreamOptions{}, geminiStream[:strings.Index(geminiStream, "\n\n")+2]+first+second, 0)
	assert.True(t, s.Committed())
	require.NotNil(t, s.Err())
	assert.Equal(t, "first", s.Err().Message, "the first error is kept")
	assert.Empty(t, s.Err().Code, "a null code is empty")
}

func TestStreamNullErrorIsNotAnError(t *testing.T) {
	s, _ := feed(t, StreamOptions{}, `data: {"error":null,"choices":[{"delta":{"content":"x"}}]}`+"\n\n", 0)
	assert.Nil(t, s.Err())
	assert.True(t, s.Committed())
}

func TestStreamUsageOnlyChunk(t *testing.T) {
	t.Run("dropped when the client did not ask", func(t *testing.T) {
		s, out := feed(t, StreamOptions{}, openAIStream, 7)
		assert.NotContains(t, out, `"choices":[]`)
		assert.Equal(t, 12, s.Usage().PromptTokens, "but still metered")
	})
	t.Run("kept when it asked, and nothing synthesized", func(t *testing.T) {
		s, out := feed(t, wantUsage, openAIStream, 7)
		assert.Equal(t, openAIStream, out)
		assert.Zero(t, s.synthesized)
	})
	t.Run("without a choices member", func(t *testing.T) {
		input := `data: {"id":"x","usage":{"prompt_tokens":1,"completion_tokens":2}}` + "\n\ndata: [DONE]\n\n"
		s, out := feed(t, StreamOptions{}, input, 0)
		assert.Equal(t, "data: [DONE]\n\n", out)
		assert.Equal(t, billing.Usage{PromptTokens: 1, CompletionTokens: 2}, s.Usage())
	})
	t.Run("the Azure prelude is not usage", func(t *testing.T) {
		_, out := feed(t, StreamOptions{}, azurePrelude, 0)
		assert.Equal(t, azurePrelude, out)
	})
}

func TestStreamGeminiCumulativeUsage(t *testing.T) {
	t.Run("not wanted: nothing dropped or added", func(t *testing.T) {
		s, out := feed(t, StreamOptions{}, geminiStream, 0)
		assert.Equal(t, geminiStream, out, "only usage-ONLY chunks are dropped")
		assert.Equal(t, billing.Usage{PromptTokens: 8, CompletionTokens: 3}, s.Usage(), "the last value, never a sum")
	})
	t.Run("wanted: a usage chunk before [DONE]", func(t *testing.T) {
		s, out := feed(t, wantUsage, geminiStream, 0)
		synth := `data: {"id":"gem-1","object":"chat.completion.chunk","created":1700000001,"model":"gemini-2.5-flash",` +
			`"choices":[],"usage":{"prompt_tokens":8,"completion_tokens":3,"total_tokens":11}}` + "\n\n"
		assert.Equal(t, strings.Replace(geminiStream, "data: [DONE]", synth+"data: [DONE]", 1), out)
		assert.Equal(t, 1, s.synthesized)
	})
}

func TestStreamMistralUsageOnLastChunk(t *testing.T) {
	s, out := feed(t, wantUsage, mistralStream, 3)
	synth := `data: {"id":"mis-1","object":"chat.completion.chunk","created":1700000002,"model":"mistral-small-latest",` +
		`"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14}}` + "\n\n"
	assert.Equal(t, strings.Replace(mistralStream, "data: [DONE]", synth+"data: [DONE]", 1), out)
	assert.Equal(t, billing.Usage{PromptTokens: 10, CompletionTokens: 4}, s.Usage())

	_, out = feed(t, StreamOptions{}, mistralStream, 3)
	assert.Equal(t, mistralStream, out)
}

func TestStreamSynthesizedChunkInCRLFStream(t *testing.T) {
	_, out := feed(t, wantUsage, crlf(mistralStream), 0)
	i := strings.Index(out, `"choices":[],`)
	require.Positive(t, i)
	assert.Contains(t, out[i:], "}}\r\n\r\ndata: [DONE]\r\n\r\n")
}

func TestStreamDeepSeekCacheHits(t *testing.T) {
	s, out := feed(t, wantUsage, deepSeekStream, 0)
	assert.Equal(t, billing.Usage{PromptTokens: 20, CachedTokens: 16, CompletionTokens: 10}, s.Usage())
	assert.Contains(t, out, `"total_tokens":30,"prompt_tokens_details":{"cached_tokens":16}}}`+"\n\ndata: [DONE]")
	assert.Equal(t, "stop", s.FinishReason())
}

func TestStreamEstimatedUsage(t *testing.T) {
	s, out := feed(t, StreamOptions{ClientWantsUsage: true, PromptEstimate: 42}, toolCallStream, 0)
	assert.Equal(t, toolCallStream, out, "nothing to synthesize from")
	u := s.Usage()
	assert.True(t, u.Estimated)
	assert.Equal(t, 42, u.PromptTokens)
	// "get_weather" and `{\"city\":\"Paris\"}`: 11 + 20 bytes.
	assert.Equal(t, 8, u.CompletionTokens)

	s, _ = feed(t, StreamOptions{PromptEstimate: 5}, legacyStream, 0)
	assert.Equal(t, billing.Usage{PromptTokens: 5, CompletionTokens: 3, Estimated: true}, s.Usage(), `"Once upon": 9 bytes`)
	assert.Equal(t, "length", s.FinishReason())

	ev := `data: {"choices":[{"delta":{"content":"a"}}]}` + "\n\n"
	s, _ = feed(t, StreamOptions{}, ev+ev+ev, 0)
	assert.Equal(t, billing.Usage{CompletionTokens: 3, Estimated: true}, s.Usage(), "at least one token per content event")
}

func TestStreamFinishReasonIsTheLastNonNull(t *testing.T) {
	input := `data: {"choices":[{"delta":{"content":"a"},"finish_reason":"length"}]}` + "\n\n" +
		`data: {"choices":[{"delta":{"content":"b"},"finish_reason":null}]}` + "\n\n"
	s, _ := feed(t, StreamOptions{}, input, 0)
	assert.Equal(t, "length", s.FinishReason())

	s, _ = feed(t, StreamOptions{}, `data: {"choices":[{"delta":{},"finish_reason":"eos_token"}]}`+"\n\n", 0)
	assert.Equal(t, "eos_token", s.FinishReason(), "unknown reasons are kept (copied)")
	s, _ = feed(t, StreamOptions{}, toolCallStream, 1)
	assert.Equal(t, "tool_calls", s.FinishReason())
}

func TestStreamEndPassesOnAnUnterminatedEvent(t *testing.T) {
	tests := map[string]struct{ input, want string }{
		"no newline":      {`data: {"choices":[{"delta":{"content":"x"}}]}`, "\n\n"},
		"one newline":     {`data: {"choices":[{"delta":{"content":"x"}}]}` + "\n", "\n"},
		"CRLF, one":       {`data: {"choices":[{"delta":{"content":"x"}}]}` + "\r\n", "\r\n"},
		"CRLF, half":      {`data: {"choices":[{"delta":{"content":"x"}}]}` + "\r\n\r", "\n"},
		"CR":              {`data: {"choices":[{"delta":{"content":"x"}}]}` + "\r", "\n\r\n"},
		"after CRLF ones": {crlf(roleChunk) + `data: {"choices":[{"delta":{"content":"x"}}]}`, "\r\n\r\n"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			s, out := feed(t, StreamOptions{}, tt.input, 4)
			assert.Equal(t, tt.input+tt.want, out)
			assert.True(t, s.Committed(), "the trailing event was inspected")
		})
	}

	s, out := feed(t, wantUsage, strings.TrimSuffix(mistralStream, "\n\n"), 0)
	assert.True(t, s.Done(), "a trailing [DONE] counts")
	assert.True(t, strings.HasSuffix(out, "}}\n\ndata: [DONE]\n\n"), "and gets its usage chunk first")

	s = NewStream(StreamOptions{})
	s.End()
	assert.Empty(t, s.Output(), "nothing pending, nothing to pass on")
}

func TestStreamMultiLineData(t *testing.T) {
	input := "id: 7\nevent: message\ndata: {\"choices\":[{\"delta\":\ndata: {\"content\":\"x\"}}],\ndata: \"usage\":{\"prompt_tokens\":3}}\nretry: 1000\n\n"
	s, out := feed(t, StreamOptions{ClientWantsUsage: true}, input, 2)
	assert.Equal(t, input, out)
	assert.True(t, s.Committed())
	assert.Equal(t, 3, s.Usage().PromptTokens)
}

func TestStreamLongLines(t *testing.T) {
	args := strings.Repeat(`{\"k\":\"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\"},`, 1<<20/72)
	big := `data: {"id":"t","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"` + args + `"}}]},"finish_reason":null}]}` + "\n\n"
	require.Greater(t, len(big), 1<<20)
	input := roleChunk + big + `data: {"choices":[{"delta":{},"finish_reason":"tool_calls"}]}` + "\n\n" + "data: [DONE]\n\n"
	for _, split := range []int{4096, 0} {
		s, out := feed(t, StreamOptions{}, input, split)
		assert.Equal(t, len(input), len(out))
		assert.True(t, out == input)
		assert.True(t, s.Committed())
		assert.Equal(t, 1, s.ContentEvents())
		assert.Equal(t, "tool_calls", s.FinishReason())
		assert.InDelta(t, len(args)/4, s.Usage().CompletionTokens, 2, "the arguments were inspected")
	}
}

func TestStreamReset(t *testing.T) {
	s, _ := feed(t, StreamOptions{}, deepSeekStream+"data: {", 0)
	s.Reset(wantUsage)
	assert.Equal(t, billing.Usage{Estimated: true}, s.Usage())
	assert.False(t, s.Committed())
	s.Feed([]byte(mistralStream))
	s.End()
	out := string(s.Output())
	assert.True(t, strings.HasPrefix(out, mistralStream[:50]))
	assert.Contains(t, out, `"id":"mis-1"`)
	assert.Equal(t, 1, s.synthesized)
}

func TestStreamResetDropsHugeBuffers(t *testing.T) {
	s := NewStream(StreamOptions{})
	s.Feed([]byte(roleChunk))
	s.Feed([]byte("data: " + strings.Repeat("x", 2*maxKeptBuffer)))
	s.Reset(StreamOptions{})
	assert.Nil(t, s.pending)
	assert.NotNil(t, s.id, "small buffers are kept")
}

func TestStreamOutputIsValidSSEJSON(t *testing.T) {
	// Every data payload the client gets, including a synthesized one, is
	// valid JSON or [DONE].
	for name, input := range allFixtures {
		_, out := feed(t, wantUsage, input, 0)
		for line := range strings.SplitSeq(strings.ReplaceAll(out, "\r\n", "\n"), "\n") {
			data, ok := strings.CutPrefix(line, "data: ")
			if ok && data != "[DONE]" {
				assert.True(t, json.Valid([]byte(data)), "%s: %s", name, data)
			}
		}
	}
}

// A chunk that repeats the previous chunk's members before "choices" is read
// from "choices" on; one that differs there, or has something that matters
// before "choices", is read whole; the result is the same either way.
func TestChunksRepeatingTheirIdentity(t *testing.T) {
	const id = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","system_fingerprint":"fp",`
	stream := sse(
		id+`"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`,
		id+`"choices":[{"index":0,"delta":{"content":"Hello"}}]}`,
		id+`"choices":[{"index":0,"delta":{"content":" there"},"finish_reason":null}],"usage":null}`,
		// Another identity: read whole, and from then on the new one is known.
		strings.Replace(id, `"m"`, `"m2"`, 1)+`"choices":[{"index":0,"delta":{"content":"!"}}]}`,
		// An error before "choices": read whole, and the error counts.
		`{"id":"chatcmpl-1","error":{"message":"overloaded","type":"server_error"},"choices":[]}`,
		id+`"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
		id+`"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}`,
		`[DONE]`)

	skipping := NewStream(wantUsage)
	_, out := feedStream(skipping, stream, 0)
	full, outFull := feedStream(&Stream{opts: wantUsage, readWhole: true}, stream, 0)
	assert.Equal(t, outFull, out)
	assert.True(t, sameState(full, skipping))
	assert.Equal(t, 3, skipping.ContentEvents())
	assert.Equal(t, "stop", skipping.FinishReason())
	require.NotNil(t, skipping.Err())
	assert.Equal(t, "overloaded", skipping.Err().Message)
	assert.Equal(t, 3, skipping.Usage().CompletionTokens)
	assert.Equal(t, id, string(skipping.known), "the last chunk's identity is known")

	// Reading the chunks one at a time shows the prefix taken and dropped.
	s := NewStream(wantUsage)
	feedChunk := func(js string) { s.Feed([]byte("data: " + js + "\n\n")); s.Output() }
	feedChunk(id + `"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`)
	assert.Equal(t, id, string(s.known))
	feedChunk(`{"id":"chatcmpl-1","usage":{"prompt_tokens":1},"choices":[]}`)
	assert.Empty(t, s.known, "a chunk with a usage before its choices is read whole and known by nobody")
	feedChunk(`{"id": "chatcmpl-1", "choices": []}`)
	assert.Empty(t, s.known, "non-compact JSON is never skipped")
}

// A chunk with the same bytes around its content string as the last chunk
// that said nothing but its text is read as that chunk was, but for the
// text; any other difference, and it is read whole.
func TestChunksFittingTheContentTemplate(t *testing.T) {
	const id = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","system_fingerprint":"fp",`
	word := func(text string) string {
		return id + `"choices":[{"index":0,"delta":{"content":` + text + `},"logprobs":null,"finish_reason":null}],"usage":null}`
	}
	chunks := []string{
		id + `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}`,
		word(`"Hello"`),
		word(`" \"quoted\" \\ and\nescaped"`),
		word(`""`), // an empty string: no content
		word(`"a\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}"`), // the template's tail, escaped, inside the text
		// A string that ends early: the bytes after it are not the tail.
		id + `"choices":[{"index":0,"delta":{"content":"x","refusal":"y"},"logprobs":null,"finish_reason":null}],"usage":null}`,
		word(`"x","tool_calls":[{"index":0,"function":{"arguments":"{}"}}]`),
		word(`null`),
		id + `"choices":[{"index":0,"delta":{"content":" there"},"logprobs":null,"finish_reason":"length"}],"usage":null}`,
		word(`"!"`),
		id + `"choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":null}],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}}`,
		`[DONE]`,
	}
	templated := NewStream(wantUsage)
	_, out := feedStream(templated, sse(chunks...), 0)
	full, outFull := feedStream(&Stream{opts: wantUsage, readWhole: true}, sse(chunks...), 0)
	assert.Equal(t, outFull, out)
	assert.True(t, sameState(full, templated))
	assert.Equal(t, 7, templated.ContentEvents())
	assert.Equal(t, "length", templated.FinishReason())
	assert.Equal(t, full.contentBytes, templated.contentBytes)

	// One at a time: which chunks matched.
	s := NewStream(wantUsage)
	matched := func(js string) bool {
		_, ok := s.matchTemplate(js)
		s.Feed([]byte("data: " + js + "\n\n"))
		s.Output()
		return ok
	}
	assert.False(t, matched(chunks[0]), "no template before the first chunk")
	assert.False(t, matched(word(`"Hi"`)), "the role chunk has other bytes around its content")
	assert.True(t, matched(word(`"\"},x"`)))
	assert.False(t, matched(word(`"a" `)), "white space after the text is not the tail")
	assert.False(t, matched(word(`"a","refusal":"b"`)), "a string that ends before the tail")
	assert.False(t, matched(strings.Replace(word(`"a"`), `"m"`, `"m2"`, 1)), "another identity")
	assert.True(t, matched(strings.Replace(word(`"b"`), `"m"`, `"m2"`, 1)), "the new identity's template")
	assert.False(t, matched(id+`"choices":[{"index":0,"delta":{"content":"c"},"logprobs":null,"finish_reason":"stop"}],"usage":null}`))
	assert.True(t, matched(strings.Replace(word(`"d"`), `"m"`, `"m2"`, 1)), "a finishing chunk leaves the template as it was")
	assert.Equal(t, 8, s.ContentEvents())

	// Before the stream's identity is known, and for a chunk with usage,
	// there is no template.
	s = NewStream(wantUsage)
	matched(`{"choices":[{"index":0,"delta":{"content":"a"}}]}`)
	assert.Zero(t, s.templateAt, "no identity yet")
	matched(id + `"choices":[{"index":0,"delta":{"content":"a"}}],"usage":{"completion_tokens":1}}`)
	assert.Zero(t, s.templateAt, "a chunk with usage")
}
