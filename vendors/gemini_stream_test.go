package vendors

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// geminiDecode runs a Gemini stream through the decoder, step bytes per
// feed, and returns the OpenAI SSE it rendered.
func geminiDecode(t testing.TB, in []byte, step int) (string, error) {
	t.Helper()
	d := newGeminiStream("gemini-x")
	w := newChunkWriter("gemini-x")
	var out []byte
	for i := 0; i < len(in); i += step {
		if err := d.feed(in[i:min(i+step, len(in))], w); err != nil {
			return string(out) + string(w.take()), err
		}
		out = append(out, w.take()...)
	}
	err := d.end(w)
	return string(append(out, w.take()...)), err
}

func TestGeminiStreamGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/google/streams/*.sse")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sse")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			require.NoError(t, err)
			whole, err := geminiDecode(t, in, len(in))
			require.NoError(t, err)
			whole = geminiNormalize(whole)
			for _, step := range []int{1, 2, 3, 7, 64} {
				got, err := geminiDecode(t, in, step)
				require.NoError(t, err)
				assert.Equal(t, whole, geminiNormalize(got), "fed %d bytes at a time", step)
			}
			for _, ev := range strings.Split(strings.TrimSuffix(whole, "\n\n"), "\n\n") {
				data, ok := strings.CutPrefix(ev, "data: ")
				require.True(t, ok, ev)
				assert.True(t, data == "[DONE]" || gjson.Valid(data), "bad event %q", ev)
			}
			golden := "testdata/google/streams/" + name + ".openai.txt"
			if *geminiUpdate {
				require.NoError(t, os.WriteFile(golden, []byte(whole), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), whole)
		})
	}
}

// The stream's usage is the last usageMetadata (cumulative), not a sum,
// with thoughts counted as completion tokens.
func TestGeminiStreamUsage(t *testing.T) {
	in, err := os.ReadFile("testdata/google/streams/thoughts_tools.sse")
	require.NoError(t, err)
	out, err := geminiDecode(t, in, 5)
	require.NoError(t, err)
	events := strings.Split(strings.TrimSuffix(out, "\n\n"), "\n\n")
	require.GreaterOrEqual(t, len(events), 3)
	assert.Equal(t, "data: [DONE]", events[len(events)-1])
	usage := gjson.Get(strings.TrimPrefix(events[len(events)-2], "data: "), "usage")
	assert.JSONEq(t, `{"prompt_tokens":20,"completion_tokens":76,"total_tokens":96,"completion_tokens_details":{"reasoning_tokens":64}}`, usage.Raw)
	assert.Equal(t, "tool_calls", gjson.Get(strings.TrimPrefix(events[len(events)-3], "data: "), "choices.0.finish_reason").String())

	// Tool call indexes count tool calls; the first id carries its signature.
	var ids []string
	for _, ev := range events {
		tc := gjson.Get(strings.TrimPrefix(ev, "data: "), "choices.0.delta.tool_calls.0")
		if id := tc.Get("id").String(); id != "" {
			ids = append(ids, id)
			assert.EqualValues(t, len(ids)-1, tc.Get("index").Int())
		}
	}
	require.Len(t, ids, 2)
	_, sig := geminiSplitCallID(ids[0])
	assert.Equal(t, "CpcB/sig+A=", sig)
	assert.NotContains(t, ids[1], geminiSignatureSep)
}

func TestGeminiStreamTruncated(t *testing.T) {
	in, err := os.ReadFile("testdata/google/streams/truncated.sse")
	require.NoError(t, err)
	out, err := geminiDecode(t, in, 1)
	require.NoError(t, err)
	assert.Contains(t, out, `"content":"Hel"`)
	assert.NotContains(t, out, "[DONE]")
	assert.NotContains(t, out, `"usage"`)
	assert.NotContains(t, out, `"finish_reason":"`)

	// Cut in the middle of an event: what was complete is rendered, the
	// partial event is dropped, nothing more.
	cut := in[:len(in)-20]
	out, err = geminiDecode(t, cut, 3)
	require.NoError(t, err)
	assert.Contains(t, out, `"content":"Hel"`)
	assert.NotContains(t, out, `wor`)
	assert.NotContains(t, out, "[DONE]")
}

func TestGeminiStreamErrors(t *testing.T) {
	_, err := geminiDecode(t, []byte("data: {not json}\n\n"), 4)
	require.ErrorIs(t, err, errNativeStream)
	_, err = geminiDecode(t, []byte("data: [1,2]\n\n"), 100)
	require.ErrorIs(t, err, errNativeStream)

	// An endless line is refused rather than buffered without bound.
	d := newGeminiStream("m")
	w := newChunkWriter("m")
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	require.NoError(t, d.feed([]byte("data: "), w))
	for i := 0; ; i++ {
		err := d.feed(chunk, w)
		if err != nil {
			require.ErrorIs(t, err, errNativeStream)
			break
		}
		require.Less(t, i, geminiMaxEvent>>20+2, "never refused")
	}
}

func BenchmarkGeminiStream(b *testing.B) {
	// A long answer: 400 text chunks with cumulative usage, then a tool call.
	var in bytes.Buffer
	for i := range 400 {
		in.WriteString(`data: {"candidates":[{"content":{"parts":[{"text":"Lorem ipsum dolor sit amet, consectetur \"adipiscing\" elit "}],"role":"model"},"index":0}],` +
			`"usageMetadata":{"promptTokenCount":1200,"candidatesTokenCount":`)
		in.WriteString(strings.Repeat("1", 1+i%3))
		in.WriteString(`,"totalTokenCount":1300},"modelVersion":"gemini-2.5-flash","responseId":"bench-1"}` + "\r\n\r\n")
	}
	in.WriteString(`data: {"candidates":[{"content":{"parts":[{"functionCall":{"name":"lookup","args":{"q":"x","n":3}}}],"role":"model"},"finishReason":"STOP","index":0}],` +
		`"usageMetadata":{"promptTokenCount":1200,"candidatesTokenCount":4100,"thoughtsTokenCount":300,"totalTokenCount":5600},"responseId":"bench-1"}` + "\r\n\r\n")
	data := in.Bytes()
	for _, step := range []int{len(data), 1500} {
		name := "whole"
		if step != len(data) {
			name = "1500B-reads"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				d := newGeminiStream("gemini-2.5-flash")
				w := newChunkWriter("gemini-2.5-flash")
				for i := 0; i < len(data); i += step {
					if err := d.feed(data[i:min(i+step, len(data))], w); err != nil {
						b.Fatal(err)
					}
					w.take()
				}
				if err := d.end(w); err != nil {
					b.Fatal(err)
				}
				w.take()
			}
		})
	}
}
