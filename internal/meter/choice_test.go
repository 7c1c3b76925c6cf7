package meter

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

// inspectChoice reads one raw element of "choices".
func inspectChoice(choice string) choiceInfo {
	var c choiceInfo
	readChoice(choice, 0, &c)
	return c
}

func TestInspectChoice(t *testing.T) {
	tests := map[string]struct {
		choice string
		want   choiceInfo
	}{
		"role only":      {`{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}`, choiceInfo{}},
		"delta content":  {`{"delta":{"content":"Hi\n"}}`, choiceInfo{content: true, bytes: 4}},
		"message":        {`{"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}`, choiceInfo{content: true, bytes: 5, finish: "stop"}},
		"reasoning":      {`{"delta":{"content":null,"reasoning_content":"ab"}}`, choiceInfo{content: true, bytes: 2}},
		"refusal":        {`{"message":{"content":null,"refusal":"no"}}`, choiceInfo{content: true, bytes: 2}},
		"content parts":  {`{"delta":{"content":[{"type":"text","text":"x"}]}}`, choiceInfo{content: true, bytes: 28}},
		"empty parts":    {`{"delta":{"content":[]}}`, choiceInfo{}},
		"legacy":         {`{"text":"abc","index":0,"finish_reason":"length"}`, choiceInfo{content: true, bytes: 3, finish: "length"}},
		"tool calls":     {`{"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"fn","arguments":"{}"}},{"function":{"arguments":"[1]"}}]}}`, choiceInfo{content: true, bytes: 7}},
		"function call":  {`{"message":{"function_call":{"name":"f","arguments":"{\"a\":1}"}}}`, choiceInfo{content: true, bytes: 10}},
		"null fields":    {`{"delta":{"content":null,"tool_calls":null,"function_call":null,"refusal":null}}`, choiceInfo{}},
		"finish escaped": {`{"finish_reason":"a\"b"}`, choiceInfo{finish: `a\"b`}},
		"not an object":  {`"text"`, choiceInfo{}},
	}
	// The choices that say nothing but their content string: the
	// template a stream's next chunks may match (Stream.setTemplate).
	onlyText := map[string]bool{"role only": true, "delta content": true}
	for name, tt := range tests {
		got := inspectChoice(tt.choice)
		assert.Equal(t, tt.want, choiceInfo{content: got.content, bytes: got.bytes, finish: got.finish}, name)
		assert.Equal(t, onlyText[name], got.onlyText(), name)
	}
	more := map[string]bool{
		`{"delta":{"content":"a","content":"b"}}`:                        false, // two content members
		`{"delta":{"content":"a","reasoning_content":"b"}}`:              false, // other output
		`{"delta":{"content":"","tool_calls":[{"index":0}]}}`:            false,
		`{"delta":{"content":"a"},"finish_reason":"stop"}`:               false,
		`{"delta":{"content":"a"},"logprobs":null,"finish_reason":null}`: true,
		`{"delta":{"content":"a","reasoning_content":""}}`:               true, // says nothing more
		`{"text":"a"}`: false, // legacy: not a content member
	}
	for choice, want := range more {
		c := inspectChoice(choice)
		assert.Equal(t, want, c.onlyText(), choice)
		if want {
			assert.Equal(t, `"a"`, choice[c.textAt:c.textEnd], choice)
		}
	}
}

func TestInternFinish(t *testing.T) {
	for _, r := range []string{"", "stop", "length", "tool_calls", "content_filter", "function_call", "other"} {
		assert.Equal(t, r, internFinish(r))
	}
	buf := []byte("custom")
	got := internFinish(jsonwalk.View(buf))
	buf[0] = 'X'
	assert.Equal(t, "custom", got, "the result does not alias the vendor's bytes")
}
