package meter

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOversizeEventsPassThrough(t *testing.T) {
	huge := "data: {\"choices\":[{\"delta\":{\"content\":\"" + strings.Repeat("a", maxEvent) + "\"}}]}"
	after := `data: {"choices":[{"delta":{},"finish_reason":"stop"}]}` + "\n\ndata: [DONE]\n\n"
	for name, input := range map[string]string{
		"LF":   huge + "\n\n" + after,
		"CRLF": huge + "\r\n\r\n" + crlf(after),
		"mid":  huge + "\nid: 3\n\n" + after,
	} {
		for _, split := range []int{1 << 16, 4093, 0} {
			s, out := feed(t, StreamOptions{}, input, split)
			assert.True(t, out == input, "%s/%d: passed through unchanged", name, split)
			assert.True(t, s.Committed(), name)
			assert.Equal(t, 1, s.ContentEvents(), "%s/%d: counted once, as content", name, split)
			assert.Equal(t, "stop", s.FinishReason(), "%s/%d: what follows is inspected", name, split)
			assert.True(t, s.Done(), name)
			assert.False(t, s.oversize)
			assert.Less(t, cap(s.pending), 2*maxEvent, "memory stays bounded")
		}
	}
}

func TestOversizeBlankLineSplitAcrossFeeds(t *testing.T) {
	huge := "data: " + strings.Repeat("a", maxEvent+1)
	s := NewStream(StreamOptions{})
	s.Feed([]byte(huge))
	assert.True(t, s.oversize)
	for _, b := range []string{"\r", "\n", "\r", "\n", "data: [DONE]\r\n\r\n"} {
		s.Feed([]byte(b))
	}
	assert.False(t, s.oversize)
	assert.True(t, s.Done())
}

func TestOversizeEnd(t *testing.T) {
	huge := "data: " + strings.Repeat("a", maxEvent+1)
	for tail, want := range map[string]string{"": "\n\n", "\n": "\n", "\n\r": "\n"} {
		s := NewStream(StreamOptions{})
		s.Feed([]byte(huge + tail))
		s.Output()
		s.End()
		assert.Equal(t, want, string(s.Output()), "%q", tail)
		assert.False(t, s.oversize)
	}
}
