package llmrouter

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIsEventStream(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/event-stream": true, "text/event-stream; charset=utf-8": true, "TEXT/Event-Stream": true,
		" text/event-stream ;x=1": true, "text/event-streams": false, "text/event": false,
		"application/json": false, "": false, "text/event-stream,": false,
	} {
		h := http.Header{}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		assert.Equal(t, want, isEventStream(h), "%q", ct)
	}
}

func TestReadAllInto(t *testing.T) {
	buf := make([]byte, 0, 8)
	got, err := readAllInto(buf, strings.NewReader("12345"))
	require.NoError(t, err)
	assert.Equal(t, "12345", string(got))
	assert.Equal(t, &buf[:1][0], &got[:1][0], "a body that fits is read into the buffer")

	long := strings.Repeat("x", 100)
	got, err = readAllInto(buf, strings.NewReader(long))
	require.NoError(t, err)
	assert.Equal(t, long, string(got), "a longer body grows a copy")

	_, err = readAllInto(buf, iotest.ErrReader(errors.New("boom")))
	assert.EqualError(t, err, "boom")
}
