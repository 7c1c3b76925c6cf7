package llmrouter

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/testservices"
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

// vendorTransport is an HTTP/1.1 transport with the given write buffer,
// counting its writes.
func vendorTransport(writes *atomic.Int64, writeBuffer int) *http.Transport {
	tr := &http.Transport{WriteBufferSize: writeBuffer}
	testservices.CountWrites(tr, writes)
	return tr
}

// An attempt body held until written stays the transport's in-memory
// reader: with a write buffer that holds it (write_buffer 64KiB), a 33 KiB
// request leaves in one write (a body the transport cannot see into took
// three: the headers, 32 KiB, the rest), and the reference is let go once it
// has been written.
func TestHoldUntilWrittenOneWrite(t *testing.T) {
	prompt := strings.Repeat("0123456789abcdef", 33<<10/16)
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got.Store(string(body))
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	var writes atomic.Int64
	tr := vendorTransport(&writes, 64<<10)
	defer tr.CloseIdleConnections()

	b, out := heldAttempt(t, srv.URL, []byte(prompt))
	assert.EqualValues(t, 2, b.refs.Load())

	resp, err := tr.RoundTrip(out)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, prompt, got.Load())
	assert.EqualValues(t, 1, writes.Load(), "headers and body in one write")
	require.Eventually(t, func() bool { return b.refs.Load() == 1 }, 5*time.Second, time.Millisecond,
		"the written body lets go of the buffer")

	// A transport that reports a request written twice lets go once.
	trace := httptrace.ContextClientTrace(out.Context())
	trace.WroteRequest(httptrace.WroteRequestInfo{})
	assert.EqualValues(t, 1, b.refs.Load())
	b.release()
	assert.EqualValues(t, 0, b.refs.Load())
}

// A failed write keeps the hold: the transport may send the same body again
// on a fresh connection, and only a successful write lets go.
func TestHoldUntilWrittenFailedWriteKeepsHold(t *testing.T) {
	b := getBodyBuffer()
	require.NoError(t, b.readLimited(strings.NewReader(`{"model":"m"}`), 13, 1<<10))
	out := b.holdUntilWritten(httptestRequestWithBody(b.buf))
	trace := httptrace.ContextClientTrace(out.Context())
	trace.WroteRequest(httptrace.WroteRequestInfo{Err: errors.New("broken pipe")})
	assert.EqualValues(t, 2, b.refs.Load())
	trace.WroteRequest(httptrace.WroteRequestInfo{})
	assert.EqualValues(t, 1, b.refs.Load())
	b.release()
}

// Go's transport may still be writing a body after RoundTrip returned (a
// vendor that answers before it has read the request), over HTTP/1.1 and
// HTTP/2 (TLS vendors): the buffer is held until the last byte is out, and
// the vendor reads the client's bytes, not the next request's.
func TestHoldUntilWrittenOutlivesRoundTrip(t *testing.T) {
	// Larger than loopback's socket buffers and HTTP/2's flow control
	// windows, so that the write blocks until the server reads.
	prompt := bytes.Repeat([]byte("0123456789abcdef"), 16<<20/16)
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		t.Run(proto, func(t *testing.T) {
			proceed := make(chan struct{})
			readBack := make(chan []byte, 1)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, proto, r.Proto)
				if r.ProtoMajor == 1 {
					assert.NoError(t, http.NewResponseController(w).EnableFullDuplex())
				}
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush()
				<-proceed
				body, _ := io.ReadAll(r.Body)
				readBack <- body
			}))
			var tr *http.Transport
			if proto == "HTTP/2.0" {
				srv.EnableHTTP2 = true
				srv.StartTLS()
				tr = srv.Client().Transport.(*http.Transport)
			} else {
				srv.Start()
				var writes atomic.Int64
				tr = vendorTransport(&writes, DefaultWriteBufferSize)
			}
			defer srv.Close()
			defer tr.CloseIdleConnections()

			b, out := heldAttempt(t, srv.URL, prompt)

			resp, err := tr.RoundTrip(out)
			require.NoError(t, err)
			b.release() // the request is done with its body
			assert.EqualValues(t, 1, b.refs.Load(), "the transport is still writing: the buffer is held")
			close(proceed)
			assert.True(t, bytes.Equal(prompt, <-readBack), "the vendor read the client's bytes")
			resp.Body.Close()
			require.Eventually(t, func() bool { return b.refs.Load() == 0 }, 5*time.Second, time.Millisecond,
				"written: the buffer goes back to the pool")
		})
	}
}

// A transport that fails before writing never reports the request
// written: the reference stays, and the buffer goes to the garbage
// collector rather than back to the pool while something might read it.
func TestHoldUntilWrittenDialFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	var writes atomic.Int64
	tr := vendorTransport(&writes, DefaultWriteBufferSize)

	b, out := heldAttempt(t, "http://"+addr, []byte(`{"model":"m"}`))
	_, err = tr.RoundTrip(out)
	require.Error(t, err)
	assert.EqualValues(t, 2, b.refs.Load())
	assert.Zero(t, writes.Load())
}

// heldAttempt reads body into a pooled buffer and returns the buffer and a
// request to url whose in-memory body is that buffer, held until written.
func heldAttempt(t *testing.T, url string, body []byte) (*bodyBuffer, *http.Request) {
	t.Helper()
	b := getBodyBuffer()
	require.NoError(t, b.readLimited(bytes.NewReader(body), int64(len(body)), 32<<20))
	out, err := http.NewRequest(http.MethodPost, url, nil)
	require.NoError(t, err)
	out.Body = io.NopCloser(bytes.NewReader(b.buf))
	out.ContentLength = int64(len(b.buf))
	return b, b.holdUntilWritten(out)
}
