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
