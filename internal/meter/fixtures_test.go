package meter

import (
	"strings"
	"testing"
)

// Vendor streams as they arrive on the wire, trimmed to a few chunks.

// openAIStream is OpenAI with stream_options.include_usage: a role-only first
// chunk, content (one with escapes), a finish chunk, a usage-only chunk.
const openAIStream = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":" \"world\"\n\u00e9"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}

data: [DONE]

`

// openAIUsageChunk is openAIStream's usage-only event.
const openAIUsageChunk = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}

`

// geminiStream is Gemini's OpenAI-compatible endpoint: cumulative usage on
// every chunk, no usage-only chunk.
const geminiStream = `data: {"choices":[{"delta":{"content":"Hel","role":"assistant"},"index":0}],"created":1700000001,"id":"gem-1","model":"gemini-2.5-flash","object":"chat.completion.chunk","usage":{"completion_tokens":1,"prompt_tokens":8,"total_tokens":9}}

data: {"choices":[{"delta":{"content":"lo","role":"assistant"},"index":0}],"created":1700000001,"id":"gem-1","model":"gemini-2.5-flash","object":"chat.completion.chunk","usage":{"completion_tokens":2,"prompt_tokens":8,"total_tokens":10}}

data: {"choices":[{"delta":{"content":"!","role":"assistant"},"finish_reason":"stop","index":0}],"created":1700000001,"id":"gem-1","model":"gemini-2.5-flash","object":"chat.completion.chunk","usage":{"completion_tokens":3,"prompt_tokens":8,"total_tokens":11}}

data: [DONE]

`

// mistralStream puts usage on its last content chunk.
const mistralStream = `data: {"id":"mis-1","object":"chat.completion.chunk","created":1700000002,"model":"mistral-small-latest","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

data: {"id":"mis-1","object":"chat.completion.chunk","created":1700000002,"model":"mistral-small-latest","choices":[{"index":0,"delta":{"content":"Bonjour"},"finish_reason":null}]}

data: {"id":"mis-1","object":"chat.completion.chunk","created":1700000002,"model":"mistral-small-latest","choices":[{"index":0,"delta":{"content":"."},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"total_tokens":14,"completion_tokens":4}}

data: [DONE]

`

// deepSeekStream is deepseek-reasoner under load: keep-alive comments,
// reasoning before content, cache hits reported DeepSeek's way only.
const deepSeekStream = `: keep-alive

: keep-alive

data: {"id":"ds-1","object":"chat.completion.chunk","created":1700000003,"model":"deepseek-reasoner","system_fingerprint":"fp_ds","choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""},"logprobs":null,"finish_reason":null}]}

data: {"id":"ds-1","object":"chat.completion.chunk","created":1700000003,"model":"deepseek-reasoner","system_fingerprint":"fp_ds","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"Let me think."},"logprobs":null,"finish_reason":null}]}

data: {"id":"ds-1","object":"chat.completion.chunk","created":1700000003,"model":"deepseek-reasoner","system_fingerprint":"fp_ds","choices":[{"index":0,"delta":{"content":"42","reasoning_content":null},"logprobs":null,"finish_reason":null}]}

data: {"id":"ds-1","object":"chat.completion.chunk","created":1700000003,"model":"deepseek-reasoner","system_fingerprint":"fp_ds","choices":[{"index":0,"delta":{"content":"","reasoning_content":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":10,"total_tokens":30,"prompt_cache_hit_tokens":16,"prompt_cache_miss_tokens":4}}

data: [DONE]

`

// azurePrelude is the empty-choices first chunk Azure sends before the others.
const azurePrelude = `data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}

`

// roleChunk is a role-only first chunk: not a token.
const roleChunk = `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

`

// toolCallStream starts a tool call without any text content.
const toolCallStream = `data: {"id":"t-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}

data: {"id":"t-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":null}]}

data: {"id":"t-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

data: [DONE]

`

// legacyStream is a legacy /v1/completions stream.
const legacyStream = `data: {"id":"cmpl-1","object":"text_completion","created":1,"choices":[{"text":"","index":0,"logprobs":null,"finish_reason":null}],"model":"gpt-3.5-turbo-instruct"}

data: {"id":"cmpl-1","object":"text_completion","created":1,"choices":[{"text":"Once","index":0,"logprobs":null,"finish_reason":null}],"model":"gpt-3.5-turbo-instruct"}

data: {"id":"cmpl-1","object":"text_completion","created":1,"choices":[{"text":" upon","index":0,"logprobs":null,"finish_reason":"length"}],"model":"gpt-3.5-turbo-instruct"}

data: [DONE]

`

// openAIErrorEvent and anthropicErrorEvent are errors reported after a 200.
const (
	openAIErrorEvent = `data: {"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":"server_error"}}

`
	anthropicErrorEvent = `event: error
data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}

`
)

// crlf converts a fixture to CRLF line endings.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// allFixtures are the streams above, for tests that hold for any stream and
// as the fuzz seed corpus.
var allFixtures = map[string]string{
	"openai":          openAIStream,
	"openai-crlf":     crlf(openAIStream),
	"gemini":          geminiStream,
	"mistral":         mistralStream,
	"deepseek":        deepSeekStream,
	"azure":           azurePrelude + openAIStream,
	"tool-calls":      toolCallStream,
	"legacy":          legacyStream,
	"openai-error":    roleChunk + openAIErrorEvent,
	"anthropic-error": roleChunk + anthropicErrorEvent,
}

// feed runs input through a new Stream in pieces of size split (all at once
// when split <= 0), draining Output after every Feed as a proxy would, then
// calls End. It returns the Stream and everything it output.
func feed(t testing.TB, o StreamOptions, input string, split int) (*Stream, string) {
	t.Helper()
	return feedStream(NewStream(o), input, split)
}

// feedStream is feed into a Stream of the caller's.
func feedStream(s *Stream, input string, split int) (*Stream, string) {
	var out []byte
	in := []byte(input)
	if split <= 0 {
		split = len(in) + 1
	}
	for len(in) > 0 {
		n := min(split, len(in))
		s.Feed(in[:n])
		out = append(out, s.Output()...)
		in = in[n:]
	}
	s.End()
	out = append(out, s.Output()...)
	return s, string(out)
}
