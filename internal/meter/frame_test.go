package meter

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTerminator(t *testing.T) {
	tests := []struct {
		pending string
		crlf    bool
		want    string
	}{
		{"data: x", false, "\n\n"},
		{"data: x", true, "\r\n\r\n"},
		{"data: x\n", false, "\n"},
		{"data: x\r\n", false, "\r\n"},
		{"data: x\r\n\r", false, "\n"},
		{"data: x\r", false, "\n\r\n"},
		{"\r", false, "\n"},
		{"id: 1\ndata: x", false, "\n\n"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, terminator([]byte(tt.pending), tt.crlf), "%q", tt.pending)
	}
}

func TestFrameFields(t *testing.T) {
	// Field syntax per the SSE spec: one optional space after the colon, a
	// line without a colon is a field with an empty value, unknown fields are
	// ignored.
	tests := map[string]bool{
		"data:{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n":     true,
		"data:  {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n":   true,
		"Data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n":    false, // field names are case-sensitive
		"comment: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n": false,
		": {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n":        false,
		"data\n\n": false,
	}
	for input, commit := range tests {
		s, out := feed(t, StreamOptions{}, input, 0)
		assert.Equal(t, commit, s.Committed(), "%q", input)
		assert.Equal(t, input, out)
	}
}

func TestFrameNamedEventsAreNotErrors(t *testing.T) {
	input := "event: message\ndata: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"
	s, _ := feed(t, StreamOptions{}, input, 0)
	assert.Nil(t, s.Err())
	assert.True(t, s.Committed())

	s, out := feed(t, StreamOptions{}, "event: error\n\n", 0)
	assert.NotNil(t, s.Err(), "an error event without data is still an error")
	assert.Equal(t, "event: error\n\n", out)
}

func TestFrameDataThatIsNotAChunk(t *testing.T) {
	input := "data: hello\n\ndata: [1,2]\n\ndata:\n\ndata: [DONE] \n\n"
	s, out := feed(t, StreamOptions{}, input, 0)
	assert.Equal(t, input, out)
	assert.False(t, s.Committed())
	assert.True(t, s.Done(), "[DONE] is recognised with white space around it")
}

func TestFrameSearchResumes(t *testing.T) {
	// Bytes fed one at a time are scanned once: searchFrom follows the end of
	// what was fed while a line is incomplete.
	s := NewStream(StreamOptions{})
	line := "data: " + strings.Repeat("x", 100)
	for i := range len(line) {
		s.Feed([]byte{line[i]})
		assert.Equal(t, i+1, s.searchFrom)
		assert.Zero(t, s.lineStart)
	}
	s.Feed([]byte("\nid: 1"))
	assert.Equal(t, len(line)+1, s.lineStart)
	s.Feed([]byte("\n\n"))
	assert.Empty(t, s.pending)
	assert.Zero(t, s.lineStart)
	assert.Zero(t, s.searchFrom)
	assert.Equal(t, line+"\nid: 1\n\n", string(s.Output()))
}

// The fast path for a lone data line reads every event as the line-by-line
// path does: an "id:" line in front of each event forces the latter, and the
// Stream must see the same.
func TestSingleDataLineFastPath(t *testing.T) {
	for name, input := range allFixtures {
		for _, o := range []StreamOptions{{}, wantUsage} {
			fast, _ := feed(t, o, input, 0)
			slowInput := strings.ReplaceAll(input, "data:", "id: 1\ndata:")
			slowInput = strings.ReplaceAll(slowInput, "\ndata:", "\nid: 2\ndata:") // also after an "event:" line
			slow, _ := feed(t, o, slowInput, 0)
			assert.Equal(t, slow.Committed(), fast.Committed(), name)
			assert.Equal(t, slow.Done(), fast.Done(), name)
			assert.Equal(t, slow.Usage(), fast.Usage(), name)
			assert.Equal(t, slow.FinishReason(), fast.FinishReason(), name)
			assert.Equal(t, slow.ContentEvents(), fast.ContentEvents(), name)
			assert.Equal(t, slow.Err(), fast.Err(), name)
			assert.Equal(t, slow.synthesized, fast.synthesized, name)
		}
	}
}

// Events of one data line are read as they are found, without looking for
// their blank line again (process); split so that the blank line arrives in
// a later Feed, the same events go through handleEvent. Both must see and
// pass on the same: white space around the payload, "\r" before the line's
// end, blank lines that are "\r\n", payloads that are not chunks.
func TestOneLineEventsAsTheyArrive(t *testing.T) {
	const chunk = `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}`
	inputs := map[string]string{
		"plain":               "data: " + chunk + "\n\n" + "data: " + chunk + "\n\ndata: [DONE]\n\n",
		"no space":            "data:" + chunk + "\n\n",
		"carriage return":     "data: " + chunk + "\r\n\n",
		"crlf blank line":     "\r\n\ndata: " + chunk + "\n\n",
		"white space around":  "data:  \t" + chunk + " \t\n\ndata: " + chunk + "\u00a0\n\n",
		"empty":               "data:\n\ndata: \n\n",
		"not a chunk":         "data: hello\n\ndata: [\"x\"]\n\n",
		"after a comment":     ": keep-alive\n\ndata: " + chunk + "\n\n",
		"two data lines":      "data: {\"choices\":[{\"index\":0,\"delta\":\ndata: {\"content\":\"hi\"}}]}\n\ndata: " + chunk + "\n\n",
		"usage at the end":    "data: " + chunk + "\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\n",
		"unterminated last":   "data: " + chunk + "\n\ndata: " + chunk + "\n",
		"error payload first": "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n",
	}
	for name, input := range inputs {
		for _, o := range []StreamOptions{{}, wantUsage} {
			whole, outWhole := feed(t, o, input, 0)
			for _, split := range []int{1, 2, 7} {
				parts, outParts := feed(t, o, input, split)
				assert.Equal(t, outParts, outWhole, "%s, split %d", name, split)
				assert.True(t, sameState(parts, whole), "%s, split %d", name, split)
			}
			if o.ClientWantsUsage && whole.synthesized == 0 { // else usage-only chunks are dropped
				assert.True(t, strings.HasPrefix(outWhole, input), "%s: the output is the input", name)
			}
		}
	}
}
