package meter

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// realisticStream builds an OpenAI stream with include_usage of n events: a
// role chunk, content chunks of a few words (some with escapes, as code and
// non-ASCII text have), a finish chunk, a usage-only chunk and [DONE].
func realisticStream(n int) []byte {
	const head = `data: {"id":"chatcmpl-AbCdEfGhIjKlMnOpQrStUvWxYz012","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_0aa8d3e20b","choices":[{"index":0,"delta":`
	const tail = `,"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n"
	words := []string{`"Hello"`, `" there"`, `",\n"`, `" the"`, `" func"`, `"tion"`, `" \"quoted\""`, `" caf\u00e9"`, `" is"`, `"\n\n"`}
	var b strings.Builder
	b.WriteString(head + `{"role":"assistant","content":"","refusal":null}` + tail)
	for i := range n - 4 {
		b.WriteString(head + `{"content":` + words[i%len(words)] + `}` + tail)
	}
	b.WriteString(strings.Replace(head+`{}`+tail, `"finish_reason":null`, `"finish_reason":"stop"`, 1))
	b.WriteString(`data: {"id":"chatcmpl-AbCdEfGhIjKlMnOpQrStUvWxYz012","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_0aa8d3e20b","choices":[],"usage":{"prompt_tokens":1234,"completion_tokens":196,"total_tokens":1430,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return []byte(b.String())
}

// feedReads feeds input in reads of size read, draining the output.
func feedReads(s *Stream, input []byte, read int) (outBytes int) {
	for len(input) > 0 {
		n := min(read, len(input))
		s.Feed(input[:n])
		outBytes += len(s.Output())
		input = input[n:]
	}
	s.End()
	return outBytes + len(s.Output())
}

func TestRealisticStream(t *testing.T) {
	input := realisticStream(200)
	require.Equal(t, 200, strings.Count(string(input), "\n\n"))
	s := NewStream(StreamOptions{ClientWantsUsage: true})
	assert.Equal(t, len(input), feedReads(s, input, 4096))
	assert.Equal(t, 196, s.ContentEvents())
	assert.Equal(t, billing.Usage{PromptTokens: 1234, CachedTokens: 1024, CompletionTokens: 196}, s.Usage())
	assert.Equal(t, "stop", s.FinishReason())
	assert.True(t, s.Done())
}

// BenchmarkStream feeds a realistic stream in 4 KiB reads, as a reverse
// proxy reads a vendor's body. "new" starts a Stream per response: allocs/op
// is its warm-up (buffers growing), the same for 200 events as for 2000.
// "reused" Resets one Stream, as a sync.Pool would: no allocation at all.
func BenchmarkStream(b *testing.B) {
	for _, events := range []int{200, 2000} {
		input := realisticStream(events)
		for _, mode := range []string{"new", "reused"} {
			b.Run(fmt.Sprintf("%s/events=%d", mode, events), func(b *testing.B) {
				o := StreamOptions{ClientWantsUsage: false}
				s := NewStream(o)
				b.SetBytes(int64(len(input)))
				b.ReportAllocs()
				for b.Loop() {
					if mode == "new" {
						s = NewStream(o)
					} else {
						s.Reset(o)
					}
					feedReads(s, input, 4096)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(events), "ns/event")
			})
		}
	}
}

func BenchmarkInspectJSON(b *testing.B) {
	body := []byte("\n\n" + chatCompletion)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		InspectJSON(body, 10)
	}
}

// TestStreamSteadyStateDoesNotAllocate feeds and drains one more typical
// event into a warmed-up Stream: it must not allocate.
func TestStreamSteadyStateDoesNotAllocate(t *testing.T) {
	const head = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,`
	events := map[string]string{
		"content":          head + `"delta":{"content":"Hello"},"finish_reason":null}],"usage":null}` + "\n\n",
		"escaped content":  head + `"delta":{"content":" \"caf\u00e9\"\n"},"finish_reason":null}],"usage":null}` + "\n\n",
		"reasoning":        head + `"delta":{"content":null,"reasoning_content":"Let me\nthink"},"finish_reason":null}]}` + "\n\n",
		"tool call":        head + `"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}` + "\n\n",
		"cumulative usage": head + `"delta":{"content":"lo"}}],"usage":{"completion_tokens":2,"prompt_tokens":8,"total_tokens":10}}` + "\n\n",
		"finish":           head + `"delta":{},"finish_reason":"stop"}],"usage":null}` + "\n\n",
		"keep-alive":       ": keep-alive\n\n",
		"CRLF content":     crlf(head + `"delta":{"content":"Hello"},"finish_reason":null}]}` + "\n\n"),
	}
	for name, ev := range events {
		for _, split := range []int{len(ev), 16} {
			t.Run(fmt.Sprintf("%s/%d", name, split), func(t *testing.T) {
				s := NewStream(StreamOptions{})
				feedReads(s, realisticStream(50)[:8000], 4096) // warm up; ends mid-event
				s.Reset(StreamOptions{})
				p := []byte(ev)
				run := func() {
					for q := p; len(q) > 0; q = q[min(split, len(q)):] {
						s.Feed(q[:min(split, len(q))])
						s.Output()
					}
				}
				for range 3 {
					run()
				}
				assert.Zero(t, testing.AllocsPerRun(200, run))
			})
		}
	}
}
