package selector

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

// EstimatePromptTokens is the estimate of a whole body, walked leniently
// from its top: the same counting as PromptEstimator without a validating
// pass, so that the tests and FuzzEstimatePromptTokens can feed it any bytes,
// malformed ones included. It does not allocate and never panics. The router
// does not use it: it feeds a PromptEstimator from jsonwalk.Object. It is
// exported for the package's examples.
func EstimatePromptTokens(body []byte) int {
	var c tokenCount
	top := jsonwalk.NewIter(jsonwalk.View(body))
	for top.Next() {
		countMember(&c, top.Key(), &top)
	}
	return c.total()
}

// est is what EstimatePromptTokens should return for text bytes of prompt
// text, tokens already tokenized and msgs chat messages.
func est(bytes, tokens, msgs int) int {
	return tokens + msgs*messageOverheadTokens + (bytes+bytesPerToken-1)/bytesPerToken
}

// typicalChat is a chat body with the features that make naive JSON
// handling allocate: escapes in content and JSON-in-a-string arguments.
var typicalChat = []byte(`{
  "model": "gpt-4o-mini",
  "routing": "perf",
  "max_tokens": 512,
  "stream": true,
  "messages": [
    {"role": "system", "content": "You are a helpful assistant.\nAnswer briefly."},
    {"role": "user", "content": [
      {"type": "text", "text": "What is the weather in \"Paris\"?"},
      {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}}
    ]},
    {"role": "assistant", "content": null, "tool_calls": [
      {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
    ]},
    {"role": "tool", "tool_call_id": "call_1", "content": "18C, sunny"}
  ]
}`)

func TestEstimateChatStringContent(t *testing.T) {
	body := `{"model":"gpt-4o","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Hello, world!"}]}`
	assert.Equal(t, est(len("You are terse.")+len("Hello, world!"), 0, 2), EstimatePromptTokens([]byte(body)))
}

func TestEstimateChatEscapes(t *testing.T) {
	body := `{"messages":[{"role":"user","content":"line1\nline2\t\"q\""}]}`
	assert.Equal(t, est(len("line1\nline2\t\"q\""), 0, 1), EstimatePromptTokens([]byte(body)))
}

func TestEstimateChatContentParts(t *testing.T) {
	// The image is a long data URL: it must not count as text.
	image := "data:image/png;base64," + strings.Repeat("A", 8000)
	body := `{"messages":[{"role":"user","content":[` +
		`{"type":"text","text":"What is in this image?"},` +
		`{"type":"image_url","image_url":{"url":"` + image + `"}},` +
		`{"type":"text","text":"Be brief."}]}]}`
	assert.Equal(t, est(len("What is in this image?")+len("Be brief."), 0, 1), EstimatePromptTokens([]byte(body)))
}

func TestEstimateChatToolCalls(t *testing.T) {
	body := `{"messages":[` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
		`{"role":"assistant","function_call":{"name":"lookup","arguments":"{}"}},` +
		`{"role":"tool","tool_call_id":"call_1","name":"get_weather","content":"18C"}]}`
	text := len("get_weather") + len(`{"city":"Paris"}`) + len("lookup") + len("{}") + len("get_weather") + len("18C")
	assert.Equal(t, est(text, 0, 3), EstimatePromptTokens([]byte(body)))
}

func TestEstimateTypicalChat(t *testing.T) {
	text := len("You are a helpful assistant.\nAnswer briefly.") +
		len(`What is the weather in "Paris"?`) +
		len("get_weather") + len(`{"city":"Paris"}`) +
		len("18C, sunny")
	assert.Equal(t, est(text, 0, 4), EstimatePromptTokens(typicalChat))
}

func TestEstimateToolDefinitions(t *testing.T) {
	tools := `[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]`
	body := `{"messages":[{"role":"user","content":"hi"}],"tools":` + tools + `}`
	assert.Equal(t, est(len("hi")+len(tools), 0, 1), EstimatePromptTokens([]byte(body)))
	// A tools field that is not an array is not counted.
	assert.Equal(t, est(len("hi"), 0, 1), EstimatePromptTokens([]byte(`{"messages":[{"role":"user","content":"hi"}],"tools":null}`)))
}

func TestEstimateCompletionsPrompt(t *testing.T) {
	cases := map[string]int{
		`{"model":"x","prompt":"Say this is a test"}`: est(len("Say this is a test"), 0, 0),
		`{"prompt":["abcd","efgh","i"]}`:              est(9, 0, 0),
		`{"prompt":[1212, 318, 257, 1332]}`:           est(0, 4, 0),
		`{"prompt":[[1,2],[3,4,5]]}`:                  est(0, 5, 0),
		`{"prompt":""}`:                               0,
	}
	for body, want := range cases {
		assert.Equal(t, want, EstimatePromptTokens([]byte(body)), body)
	}
}

func TestEstimateEmbeddingsInput(t *testing.T) {
	cases := map[string]int{
		`{"model":"text-embedding-3-small","input":"The food was delicious"}`: est(len("The food was delicious"), 0, 0),
		`{"input":["first text","second"]}`:                                   est(len("first text")+len("second"), 0, 0),
		`{"input":[[100,200],[300]]}`:                                         est(0, 3, 0),
	}
	for body, want := range cases {
		assert.Equal(t, want, EstimatePromptTokens([]byte(body)), body)
	}
}

func TestEstimateLargePromptBucket(t *testing.T) {
	body := `{"messages":[{"role":"user","content":"` + strings.Repeat("word ", 20000) + `"}]}`
	assert.Equal(t, 4, BucketOf(EstimatePromptTokens([]byte(body)))) // 100 kB ≈ 25k tokens
}

func TestEstimateNoPromptOrGarbage(t *testing.T) {
	for _, body := range []string{
		``,
		`   `,
		`null`,
		`not json at all`,
		`{}`,
		`[]`,
		`[{"messages":[{"content":"x"}]}]`,
		`{"model":"gpt-4o"}`,
		`{"messages":"hello"}`,
		`{"messages":[1,"two",null]}`,
		`{"prompt":`,
		`{"input":"\`,
		"\x00\xff{\"",
	} {
		assert.NotPanics(t, func() {
			assert.Equal(t, 0, EstimatePromptTokens([]byte(body)), "%q", body)
		})
	}
	assert.Equal(t, 0, EstimatePromptTokens(nil))
}

func TestEstimateTruncatedBody(t *testing.T) {
	// The body is read in one pass, so what precedes the break counts.
	cases := map[string]int{
		`{"messages":[{"role":"user","content":"x"}`:            est(1, 0, 1),
		`{"messages":[{"role":"user","content":"x"},{"role":"u`: est(1, 0, 2),
		`{"messages":[{"role":"user","content":"unterminated`:   est(0, 0, 1),
		`{"prompt":[1,2,3`: est(0, 3, 0),
	}
	for body, want := range cases {
		assert.NotPanics(t, func() {
			assert.Equal(t, want, EstimatePromptTokens([]byte(body)), "%q", body)
		})
	}
}

func TestEstimateDoesNotAllocate(t *testing.T) {
	bodies := [][]byte{
		typicalChat,
		[]byte(`{"prompt":["abc\n","def"],"input":[[1,2],[3]]}`),
		[]byte(`{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}`),
	}
	bodies = append(bodies, conversation(40, strings.Repeat("A long run of prompt text, ", 5)))
	for _, body := range bodies {
		allocs := testing.AllocsPerRun(100, func() { EstimatePromptTokens(body) })
		assert.Zero(t, allocs, "%s", body)
		// As the router estimates: validated, through the index of long
		// strings (pooled, so the first run may allocate it).
		allocs = testing.AllocsPerRun(100, func() { _, _ = estimateIndexed(body) })
		assert.Zero(t, allocs, "indexed: %s", body)
	}
}

func FuzzEstimatePromptTokens(f *testing.F) {
	f.Add(typicalChat)
	f.Add([]byte(`{"prompt":[[1,2],[3]],"input":["a","b\"c"]}`))
	f.Add([]byte(`{"messages":[{"content":[{"text":"\\"}]}],"tools":[]}`))
	// Strings long enough for the validator's index.
	f.Add(conversation(3, strings.Repeat(`a \"long\" \\ prompt\n`, 8)))
	f.Add([]byte(`{"messages":[{"content":[{"type":"image_url","image_url":{"url":"` + strings.Repeat("QUJD", 20) +
		`"}},{"text":"` + strings.Repeat("x", 70) + `"}]}],"tools":[{"d":"` + strings.Repeat("y", 70) + `"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n := EstimatePromptTokens(body)
		// Every counted token needs at least one byte of body, except the
		// per-message overhead, which needs at least "{}" and a separator.
		if n < 0 || n > 2*len(body)+1 {
			t.Fatalf("estimate %d for %d bytes", n, len(body))
		}
		// Counted member by member from a validating walk, as the router
		// does, with the validator's index of long strings or without, a
		// valid object gets the same estimate.
		if members, err := estimateMembers(body); err == nil && members != n {
			t.Fatalf("member by member %d, whole body %d: %q", members, n, body)
		}
		if indexed, err := estimateIndexed(body); err == nil && indexed != n {
			t.Fatalf("member by member with the index %d, whole body %d: %q", indexed, n, body)
		}
	})
}

// estimateMembers is the estimate of a valid object counted member by
// member from a validating walk.
func estimateMembers(body []byte) (int, error) {
	var e PromptEstimator
	_, err := jsonwalk.Object(body, func(m jsonwalk.Member) { e.Member(m.Key[1:len(m.Key)-1], m.Value) })
	return e.Tokens(), err
}

// estimateIndexed is estimateMembers as the router counts: each member read
// with the validator's index of its long strings.
func estimateIndexed(body []byte) (int, error) {
	var e PromptEstimator
	_, err := jsonwalk.ObjectIndexed(body, func(m jsonwalk.Member, idx *jsonwalk.StringIndex) {
		e.IndexedMember(m.Key[1:len(m.Key)-1], m, idx)
	})
	return e.Tokens(), err
}

func TestPromptEstimatorMatchesWholeBody(t *testing.T) {
	long := strings.Repeat("A long run of prompt text, ", 5)
	escaped := strings.Repeat(`text with \"escapes\" \\ and \n lines, `, 4)
	for _, body := range [][]byte{typicalChat,
		[]byte(`{"prompt":[[1,2],[3]],"input":["a","b\"c"],"tools":[{"x":1}]}`),
		[]byte(`{"messages":"not an array","functions":[]}`),
		// Long strings, which the index records, wherever the estimate
		// reads or skips them.
		conversation(40, long), conversation(3, escaped),
		[]byte(`{"messages":[{"role":"user","content":[{"type":"text","text":"` + escaped + `"},` +
			`{"type":"image_url","image_url":{"url":"data:image/png;base64,` + strings.Repeat("QUJD", 40) + `"}},` +
			`{"type":"text","text":"` + long + `"}]},` +
			`{"role":"assistant","content":null,"tool_calls":[{"id":"` + long + `","function":{"name":"f","arguments":"` + escaped + `"}}]}],` +
			`"tools":[{"type":"function","function":{"name":"f","description":"` + long + `"}}],` +
			`"system":[{"type":"text","text":"` + long + `"}],"prompt":["` + long + `","` + escaped + `"]}`),
		[]byte(`{"input":[{"type":"message","content":[{"type":"input_text","text":"` + long + `"}]},` +
			`{"type":"function_call_output","output":"` + escaped + `"}],"instructions":"` + long + `"}`),
	} {
		members, err := estimateMembers(body)
		require.NoError(t, err)
		assert.Equal(t, EstimatePromptTokens(body), members, "%s", body)
		indexed, err := estimateIndexed(body)
		require.NoError(t, err)
		assert.Equal(t, members, indexed, "%s", body)
	}
}

func BenchmarkEstimatePromptTokens(b *testing.B) {
	// A long conversation with escapes everywhere, about 100 kB, and one of
	// the same size in long runs of plain text, like pasted documents: what
	// jsonwalk.SkipString hands to strings.IndexByte.
	long := conversation(200, strings.Repeat(`Some \"quoted\" text.\n`, 20))
	plain := conversation(50, strings.Repeat(`Some plain text. `, 120))

	for _, c := range []struct {
		name string
		body []byte
	}{
		{"typical", typicalChat},
		{"100kB", long},
		{"100kB-plain", plain},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.body)))
			for b.Loop() {
				EstimatePromptTokens(c.body)
			}
		})
	}
}

// BenchmarkValidateAndEstimate is the router's pass over a body: validating
// it, and estimating its prompt member by member, with the validator's index
// of long strings (as the router does) and without.
func BenchmarkValidateAndEstimate(b *testing.B) {
	body := conversation(17, strings.Repeat("A long run of prompt text, as in a pasted document. ", 36))
	for name, estimate := range map[string]func([]byte) (int, error){"indexed": estimateIndexed, "scanned": estimateMembers} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := estimate(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// conversation is a chat body of n user messages with the same content,
// raw JSON.
func conversation(n int, content string) []byte {
	var body strings.Builder
	body.WriteString(`{"model":"gpt-4o","messages":[`)
	for i := range n {
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(`{"role":"user","content":"` + content + `"}`)
	}
	body.WriteString(`]}`)
	return []byte(body.String())
}

// The estimate notes whether a message carries tool calls or a tool call
// id (the vendors' translations then need not search the body for ids),
// and counts an escaped key as perhaps one of them. Text that merely
// mentions them, or tool calls outside the messages, does not count.
func TestEstimateNotesToolCalls(t *testing.T) {
	for body, want := range map[string]bool{
		`{"messages":[{"role":"user","content":"hi"}]}`:                                                 false,
		`{"messages":[{"role":"user","content":"\"tool_calls\": and \"tool_call_id\":"}]}`:              false,
		`{"tools":[{"type":"function","function":{"name":"tool_calls"}}],"messages":[]}`:                false,
		`{"messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f"}}]}]}`:         true,
		`{"messages":[{"role":"tool","tool_call_id":"c","content":"x"}]}`:                               true,
		`{"messages":[{"role":"tool","tool_call\u005fid":"c","content":"x"}]}`:                          true,
		`{"messages":[{"role":"user","content":"hi"}],"messages":[{"role":"tool","tool_call_id":"c"}]}`: true,
	} {
		for name, estimate := range map[string]func([]byte) (*PromptEstimator, error){"members": estimatorOf, "indexed": indexedEstimatorOf} {
			e, err := estimate([]byte(body))
			require.NoError(t, err)
			assert.Equal(t, want, e.ToolCalls(), "%s: %s", name, body)
		}
	}
}

func estimatorOf(body []byte) (*PromptEstimator, error) {
	var e PromptEstimator
	_, err := jsonwalk.Object(body, func(m jsonwalk.Member) { e.Member(m.Key[1:len(m.Key)-1], m.Value) })
	return &e, err
}

func indexedEstimatorOf(body []byte) (*PromptEstimator, error) {
	var e PromptEstimator
	_, err := jsonwalk.ObjectIndexed(body, func(m jsonwalk.Member, idx *jsonwalk.StringIndex) {
		e.IndexedMember(m.Key[1:len(m.Key)-1], m, idx)
	})
	return &e, err
}
