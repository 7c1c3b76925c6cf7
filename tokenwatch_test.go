package llmrouter

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// feedInPieces feeds s to w n bytes at a time, as a network read would.
func feedInPieces(w *tokenWatch, s string, n int) {
	for len(s) > 0 {
		k := min(n, len(s))
		w.feed([]byte(s[:k]))
		s = s[k:]
	}
}

const roleChunk = `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n"

func TestTokenWatchStream(t *testing.T) {
	for _, piece := range []int{1, 7, 4096} {
		w := tokenWatch{stream: true}
		feedInPieces(&w, ": keep-alive\n\n: keep-alive\r\n\r\n"+roleChunk, piece)
		assert.False(t, w.sawToken, "comments and the role chunk are not tokens (piece %d)", piece)

		feedInPieces(&w, `data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}`+"\n\n", piece)
		assert.True(t, w.sawToken)
		feedInPieces(&w, `data: {"choices":[{"index":0,"delta":{"content":" there"}}]}`+"\n\n"+
			`data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n"+"data: [DONE]\n\n", piece)
		assert.Equal(t, 2, w.completionTokens(), "without usage, content events are counted")
	}
}

func TestTokenWatchStreamUsage(t *testing.T) {
	w := tokenWatch{stream: true}
	feedInPieces(&w, roleChunk+
		`data: {"choices":[{"index":0,"delta":{"content":"a"}}],"usage":{"prompt_tokens":5,"completion_tokens":1}}`+"\n\n"+
		`data: {"choices":[{"index":0,"delta":{"content":"b"}}],"usage":{"prompt_tokens":5,"completion_tokens":9}}`+"\n\n"+
		`data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":12}}`+"\n\n", 5)
	assert.Equal(t, 12, w.completionTokens(), "cumulative usage: the last value wins, never a sum")
}

func TestTokenWatchStreamToolCallsAndReasoning(t *testing.T) {
	for name, chunk := range map[string]string{
		"tool call": `data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}}]}`,
		"reasoning": `data: {"choices":[{"index":0,"delta":{"reasoning_content":"hmm"}}]}`,
		"legacy":    `data: {"choices":[{"index":0,"text":"once"}]}`,
	} {
		w := tokenWatch{stream: true}
		w.feed([]byte(chunk + "\n\n"))
		assert.True(t, w.sawToken, name)
	}
}

func TestTokenWatchJSON(t *testing.T) {
	w := tokenWatch{}
	w.feed([]byte("\n\n  \n"))
	assert.False(t, w.sawToken, "leading blank lines are keep-alive, not a token")
	feedInPieces(&w, `{"object":"chat.completion","choices":[{"message":{"content":"Hello there"}}],"usage":{"prompt_tokens":3,"completion_tokens":2}}`, 9)
	assert.True(t, w.sawToken)
	assert.Equal(t, 2, w.completionTokens())

	w = tokenWatch{}
	w.feed([]byte(`{"choices":[{"message":{"content":"` + strings.Repeat("x", 40) + `"}}]}`))
	assert.Equal(t, 10, w.completionTokens(), "no usage: estimated from the text")
}

func TestTokenWatchLimits(t *testing.T) {
	w := tokenWatch{stream: true}
	w.feed([]byte("data: " + strings.Repeat("x", maxSSELine+1)))
	w.feed([]byte("\n\n"))
	assert.True(t, w.sawToken, "an overlong line is content")
	assert.LessOrEqual(t, cap(w.line), maxSSELine+8192)

	j := tokenWatch{}
	j.feed([]byte("{" + strings.Repeat(" ", maxJSONResponse)))
	assert.Nil(t, j.body, "an oversized body is not kept")
	assert.Equal(t, 0, j.completionTokens())
}
