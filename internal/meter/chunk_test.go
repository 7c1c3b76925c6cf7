package meter

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

func TestHandlePayload(t *testing.T) {
	s := NewStream(StreamOptions{})
	assert.True(t, s.handlePayload(nil, false, false), "comments pass")
	assert.True(t, s.handlePayload([]byte("not json"), true, false))
	assert.False(t, s.handlePayload([]byte(`{"choices":[],"usage":{"prompt_tokens":1}}`), true, false),
		"usage-only chunks are dropped when the client did not ask")
	assert.True(t, s.handlePayload([]byte(`{"choices":[],"usage":null}`), true, false))
	assert.False(t, s.Committed())
	assert.Nil(t, s.Err())
}

func TestTopLevel(t *testing.T) {
	m := topLevel(`{"id":"a","object":"o","created":1,"model":"m","choices":[{"x":"}"}],"usage":null,"error":{"message":"e"},"other":{"choices":1}}`)
	assert.Equal(t, members{id: `"a"`, object: `"o"`, created: `1`, model: `"m"`,
		choices: choices{present: true, count: 1}, usage: `null`, err: `{"message":"e"}`}, m)
	assert.Equal(t, members{}, topLevel(`[]`))
}

// The choices are read in the same pass as the rest of the chunk.
func TestTopLevelReadsChoices(t *testing.T) {
	m := topLevel(`{"choices":[{"delta":{"content":"ab"},"finish_reason":null},` +
		`{"delta":{"tool_calls":[{"function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"},` +
		`{"text":"xyz","finish_reason":"length"}],"usage":{"prompt_tokens":1}}`)
	assert.Equal(t, choices{present: true, count: 3, content: true, bytes: 2 + 3 + 3,
		firstFinish: "", lastFinish: "length"}, m.choices)
	assert.Equal(t, `{"prompt_tokens":1}`, m.usage)

	// A choice the structured walk cannot read is skipped leniently: what
	// follows it is still read, as with the member-by-member walk.
	m = topLevel(`{"choices":[{"delta" {"content":"x"}},{"delta":{"content":"yz"}}],"usage":{"prompt_tokens":2}}`)
	assert.Equal(t, 2, m.choices.count)
	assert.Equal(t, 2, m.choices.bytes)
	assert.Equal(t, `{"prompt_tokens":2}`, m.usage)

	assert.Equal(t, choices{present: true}, topLevel(`{"choices":null}`).choices)
	assert.Equal(t, choices{present: true}, topLevel(`{"choices":[]}`).choices)
	assert.Equal(t, choices{}, topLevel(`{"data":[1]}`).choices)
}

func TestCaptureMetaSkipsAzurePrelude(t *testing.T) {
	s, _ := feed(t, StreamOptions{}, azurePrelude+openAIStream, 0)
	assert.Equal(t, `"chatcmpl-1"`, string(s.id))
	assert.Equal(t, `"chat.completion.chunk"`, string(s.object))
	assert.Equal(t, `1700000000`, string(s.created))
	assert.Equal(t, `"gpt-4o-mini"`, string(s.mdl))
}

func TestCaptureMetaCopies(t *testing.T) {
	buf := []byte(`{"id":"abc","object":"text_completion","created":5,"model":"m"}`)
	s := NewStream(StreamOptions{})
	m := topLevel(jsonwalk.View(buf))
	s.captureMeta(&m)
	clear(buf)
	assert.Equal(t, `"abc"`, string(s.id))
	assert.Equal(t, `"text_completion"`, string(s.object))
	assert.Equal(t, `5`, string(s.created))
	assert.Equal(t, `"m"`, string(s.mdl))
}
