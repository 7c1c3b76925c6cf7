package llmrouter

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The request's reference and each tracked attempt body keep the buffer; it
// is released once, when the last of them lets go, however often a body is
// closed.
func TestBodyBufferReferences(t *testing.T) {
	b := getBodyBuffer()
	require.NoError(t, b.readLimited(strings.NewReader(`{"model":"m"}`), 13, 1<<10))
	first := b.track(io.NopCloser(bytes.NewReader(b.buf)))
	getBody := b.trackedGetBody(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.buf)), nil })
	rewound, err := getBody()
	require.NoError(t, err)
	assert.EqualValues(t, 3, b.refs.Load())

	b.release() // the request is done; the transport still holds two bodies
	assert.EqualValues(t, 2, b.refs.Load())
	got, err := io.ReadAll(first)
	require.NoError(t, err)
	assert.Equal(t, `{"model":"m"}`, string(got), "a body still being written sees the client's bytes")
	require.NoError(t, first.Close())
	require.NoError(t, first.Close())
	assert.EqualValues(t, 1, b.refs.Load(), "a second Close releases nothing")
	require.NoError(t, rewound.Close())
	assert.EqualValues(t, 0, b.refs.Load())
	assert.Panics(t, b.release, "releasing a released buffer is a bug, not a silent reuse")
}

func TestBodyBufferLimits(t *testing.T) {
	cases := []struct {
		name          string
		body          string
		contentLength int64
		status        int // 0: accepted
	}{
		{"announced size", "0123456789", 10, 0},
		{"unknown size", strings.Repeat("x", 9000), -1, 0},
		{"exactly the limit", strings.Repeat("x", 100), -1, 0},
		{"one byte over, chunked", strings.Repeat("x", 101), -1, http.StatusRequestEntityTooLarge},
		{"announced over", "x", 101, http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			limit := int64(100)
			if c.name == "unknown size" {
				limit = 10000
			}
			b := getBodyBuffer()
			defer b.release()
			err := b.readLimited(strings.NewReader(c.body), c.contentLength, limit)
			if c.status == 0 {
				require.NoError(t, err)
				assert.Equal(t, c.body, string(b.buf))
				return
			}
			var ce *clientError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, c.status, ce.status)
			assert.LessOrEqual(t, int64(len(b.buf)), limit+1, "never reads more than one byte past the limit")
		})
	}
}

// A small attempt body is a copy of its own: the client's pooled bytes may
// be reused at once, the copy and its rewinds still read the same, and Go's
// transport sees an in-memory body, which it writes together with the
// headers.
func TestCopyAttemptBody(t *testing.T) {
	b := getBodyBuffer()
	require.NoError(t, b.readLimited(strings.NewReader(`{"model":"m"}`), 13, 1<<10))
	out := httptestRequestWithBody(b.buf)
	copyAttemptBody(out)
	b.release()
	copy(b.buf, `XXXXXXXXXXXXX`) // the pool hands the buffer to the next request
	for range 2 {
		got, err := io.ReadAll(out.Body)
		require.NoError(t, err)
		assert.Equal(t, `{"model":"m"}`, string(got))
		assert.EqualValues(t, 13, out.ContentLength)
		out.Body, err = out.GetBody()
		require.NoError(t, err)
	}
	_, tracked := out.Body.(*trackedBody)
	assert.False(t, tracked)
	// The in-memory check of net/http (isKnownInMemoryReader) unwraps
	// io.NopCloser to its reader.
	assert.IsType(t, io.NopCloser(bytes.NewReader(nil)), out.Body)

	// A body shorter than its length stays short, for the transport to refuse.
	short := httptestRequestWithBody([]byte(`{}`))
	short.ContentLength = 5
	copyAttemptBody(short)
	got, err := io.ReadAll(short.Body)
	require.NoError(t, err)
	assert.Equal(t, `{}`, string(got))
}

func httptestRequestWithBody(body []byte) *http.Request {
	out, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/v1/chat/completions", nil)
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	return out
}
