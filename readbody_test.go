package llmrouter

// Tests of how the router reads request bodies from hostile clients: a body
// that never ends must not be read past max_request_body (chunked uploads
// included), and a body that trickles or stalls must end in a 408 within
// request_body_timeout. They run net/http servers (httptest), not Caddy, and
// drive readRequestBody as serveCompletion does.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// countingListener counts the bytes the server reads from its connections.
type countingListener struct {
	net.Listener
	read atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, read: &l.read}, nil
}

type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// uploadServer serves h.readRequestBody the way serveCompletion uses it:
// a refusal is written as an OpenAI error; an accepted body gets 200 and
// "<n> bytes". after, if set, runs after the body was read, before the
// answer.
type uploadServer struct {
	*httptest.Server
	listener *countingListener
}

func startUploadServer(t *testing.T, h *LLMRouter, http2 bool, after func(w http.ResponseWriter, r *http.Request)) *uploadServer {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := h.readRequestBody(w, r)
		if err != nil {
			var ce *clientError
			if !errors.As(err, &ce) {
				t.Errorf("readRequestBody: not a client error: %v", err)
				return
			}
			_ = openaiSurface.writeError(w, ce.status, ce.errType, ce.code, ce.param, ce.message)
			return
		}
		if after != nil {
			after(w, r)
		}
		fmt.Fprintf(w, "%d bytes", len(body.buf))
		body.release()
	}))
	cl := &countingListener{Listener: srv.Listener}
	srv.Listener = cl
	if http2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return &uploadServer{Server: srv, listener: cl}
}

// uploadRouter is a router with only what reading a body needs.
func uploadRouter(limit int64, timeout time.Duration) *LLMRouter {
	return &LLMRouter{MaxRequestBody: limit, RequestBodyTimeout: caddy.Duration(timeout)}
}

// rawRequest opens a connection to s and writes an HTTP/1.1 POST head.
func rawRequest(t *testing.T, s *uploadServer, headers string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", s.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: router\r\nContent-Type: application/json\r\n%s\r\n", headers)
	require.NoError(t, err)
	return conn
}

// readAnswer reads the response on conn (giving up after 10s) and returns
// it with its body.
func readAnswer(t *testing.T, conn net.Conn) (*http.Response, string) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

// assertUploadError checks an OpenAI error answer with status and code.
func assertUploadError(t *testing.T, resp *http.Response, body string, status int, code string) {
	t.Helper()
	assert.Equal(t, status, resp.StatusCode, body)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var e struct {
		Error map[string]json.RawMessage `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	assert.Len(t, e.Error, 4, body)
	assert.Equal(t, "invalid_request_error", gjson.Get(body, "error.type").String())
	assert.Equal(t, code, gjson.Get(body, "error.code").String())
	assert.Equal(t, gjson.String, gjson.Get(body, "error.message").Type)
	assert.Equal(t, gjson.Null, gjson.Get(body, "error.param").Type)
}

const uploadTimeout = 300 * time.Millisecond

// assertOnTime checks that a 408 came about when the timeout expired.
func assertOnTime(t *testing.T, start time.Time) {
	t.Helper()
	elapsed := time.Since(start)
	assert.GreaterOrEqual(t, elapsed, uploadTimeout-50*time.Millisecond, "answered before the timeout")
	assert.Less(t, elapsed, uploadTimeout+2*time.Second, "answered long after the timeout")
}

// A client that sends its headers and 10 bytes of a 1000-byte body, then
// stalls, gets a 408 when request_body_timeout expires.
func TestUploadStallGets408(t *testing.T) {
	s := startUploadServer(t, uploadRouter(1<<20, uploadTimeout), false, nil)
	start := time.Now()
	conn := rawRequest(t, s, "Content-Length: 1000\r\n")
	_, err := conn.Write([]byte(`{"model":"`))
	require.NoError(t, err)
	resp, body := readAnswer(t, conn)
	assertUploadError(t, resp, body, http.StatusRequestTimeout, "request_timeout")
	assert.True(t, resp.Close, "the connection is not closed after the 408")
	assertOnTime(t, start)
}

// The same for a chunked upload that stalls after its first chunk.
func TestUploadChunkedStallGets408(t *testing.T) {
	s := startUploadServer(t, uploadRouter(1<<20, uploadTimeout), false, nil)
	start := time.Now()
	conn := rawRequest(t, s, "Transfer-Encoding: chunked\r\n")
	_, err := conn.Write([]byte("a\r\n{\"model\":\"\r\n"))
	require.NoError(t, err)
	resp, body := readAnswer(t, conn)
	assertUploadError(t, resp, body, http.StatusRequestTimeout, "request_timeout")
	assertOnTime(t, start)
}

// A client that trickles a byte every 20ms never stalls for long, but the
// timeout bounds the whole body: it gets a 408 too.
func TestUploadTrickleGets408(t *testing.T) {
	s := startUploadServer(t, uploadRouter(1<<20, uploadTimeout), false, nil)
	start := time.Now()
	conn := rawRequest(t, s, "Transfer-Encoding: chunked\r\n")
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := conn.Write([]byte("1\r\n \r\n")); err != nil {
				return
			}
		}
	}()
	resp, body := readAnswer(t, conn)
	assertUploadError(t, resp, body, http.StatusRequestTimeout, "request_timeout")
	assertOnTime(t, start)
}

// Once the body is in, the deadline is lifted: an answer that takes far
// longer than request_body_timeout (a stream) is neither cut nor canceled,
// and the connection serves the next request.
func TestUploadDeadlineLiftedAfterBody(t *testing.T) {
	s := startUploadServer(t, uploadRouter(1<<20, uploadTimeout), false, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		for range 4 {
			time.Sleep(uploadTimeout)
			fmt.Fprint(w, "event ")
			http.NewResponseController(w).Flush()
		}
		if err := r.Context().Err(); err != nil {
			t.Errorf("the request was canceled while answering: %v", err)
		}
	})
	conn, err := net.Dial("tcp", s.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	br := bufio.NewReader(conn)
	for i := range 2 {
		const body = `{"model":"gpt-4o"}`
		_, err := fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: router\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err, "request %d", i)
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err, "request %d", i)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "event event event event 18 bytes", string(got), "request %d", i)
	}
}

// Over HTTP/2 the deadline is the stream's: a stalled upload gets a 408.
func TestUploadStallGets408HTTP2(t *testing.T) {
	s := startUploadServer(t, uploadRouter(1<<20, uploadTimeout), true, nil)
	client := s.Client()
	client.Timeout = 10 * time.Second
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	go func() { _, _ = pw.Write([]byte(`{"model":"`)) }() // then nothing
	req, err := http.NewRequest(http.MethodPost, s.URL+"/v1/chat/completions", pr)
	require.NoError(t, err)
	start := time.Now()
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, 2, resp.ProtoMajor)
	assertUploadError(t, resp, string(body), http.StatusRequestTimeout, "request_timeout")
	assertOnTime(t, start)
}

// An endless chunked upload gets a 413 once max_request_body is passed, and
// the server stops reading: what it consumed stays bounded by the limit
// plus what net/http drains before closing the connection (256 KiB) and
// buffers.
func TestUploadChunkedOverLimitBoundedRead(t *testing.T) {
	const limit = 64 << 10
	s := startUploadServer(t, uploadRouter(limit, 10*time.Second), false, nil)
	conn := rawRequest(t, s, "Transfer-Encoding: chunked\r\n")
	var sent atomic.Int64
	go func() {
		chunk := []byte(fmt.Sprintf("%x\r\n%s\r\n", 16<<10, strings.Repeat("x", 16<<10)))
		for sent.Load() < 256<<20 { // "endless": far more than the server may read
			n, err := conn.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	resp, body := readAnswer(t, conn)
	assertUploadError(t, resp, body, http.StatusRequestEntityTooLarge, "request_too_large")
	assert.True(t, resp.Close, "the connection is not closed after the 413")
	time.Sleep(100 * time.Millisecond) // let the server finish with the connection
	read := s.listener.read.Load()
	t.Logf("client sent %d bytes, server read %d", sent.Load(), read)
	assert.Less(t, read, int64(limit+256<<10+64<<10), "the server read far past the limit")
}

// A Content-Length over the limit is refused before any of the body is read.
func TestUploadContentLengthOverLimit(t *testing.T) {
	const limit = 64 << 10
	s := startUploadServer(t, uploadRouter(limit, 10*time.Second), false, nil)
	conn := rawRequest(t, s, fmt.Sprintf("Content-Length: %d\r\n", 1<<30))
	resp, body := readAnswer(t, conn)
	assertUploadError(t, resp, body, http.StatusRequestEntityTooLarge, "request_too_large")
	assert.Less(t, s.listener.read.Load(), int64(4<<10), "the server read the body")
}

// A body a little over the limit is drained, not left unread: the client
// gets its 413 on a connection that stays open and serves the next request.
// Closing a connection with unread data makes the kernel reset it, and the
// reset can destroy the 413 before the client has read it.
func TestUploadSlightlyOverLimitKeepsConnection(t *testing.T) {
	const limit = 2 << 10
	s := startUploadServer(t, uploadRouter(limit, 10*time.Second), false, nil)
	conn, err := net.Dial("tcp", s.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	br := bufio.NewReader(conn)
	send := func(body string) (*http.Response, string) {
		t.Helper()
		_, err := fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: router\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(got)
	}

	resp, body := send(`{"model":"` + strings.Repeat("x", 4*limit) + `"}`)
	assertUploadError(t, resp, body, http.StatusRequestEntityTooLarge, "request_too_large")
	assert.False(t, resp.Close, "the connection is closed after a small 413")

	resp, body = send(`{"model":"gpt-4o"}`)
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "18 bytes", body)
}

// hiddenWriter hides the ResponseWriter's deadline support (a wrapper
// without Unwrap), as some middleware does.
type hiddenWriter struct{ w http.ResponseWriter }

func (h hiddenWriter) Header() http.Header         { return h.w.Header() }
func (h hiddenWriter) Write(p []byte) (int, error) { return h.w.Write(p) }
func (h hiddenWriter) WriteHeader(status int)      { h.w.WriteHeader(status) }

// slowBody hands out one byte per read, pausing before each.
type slowBody struct{ pause time.Duration }

func (b slowBody) Read(p []byte) (int, error) {
	time.Sleep(b.pause)
	p[0] = ' '
	return 1, nil
}

func (slowBody) Close() error { return nil }

// Without deadline support, a trickling body still ends in a 408: the
// deadline is checked between reads.
func TestUploadTrickleWithoutDeadlineSupport(t *testing.T) {
	h := uploadRouter(1<<20, uploadTimeout)
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	req.Body, req.ContentLength = slowBody{pause: 10 * time.Millisecond}, -1
	rec := httptest.NewRecorder()
	require.ErrorIs(t, http.NewResponseController(hiddenWriter{rec}).SetReadDeadline(time.Now()), http.ErrNotSupported)
	start := time.Now()
	_, err := h.readRequestBody(hiddenWriter{rec}, req)
	var ce *clientError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, http.StatusRequestTimeout, ce.status)
	assert.Equal(t, codeBodyTimeout, ce.code)
	assertOnTime(t, start)
}

// request_body_timeout is a Caddy duration in the JSON config.
func TestUploadTimeoutJSON(t *testing.T) {
	var h LLMRouter
	require.NoError(t, json.Unmarshal([]byte(`{"request_body_timeout":"5s"}`), &h))
	assert.Equal(t, caddy.Duration(5*time.Second), h.RequestBodyTimeout)
	require.NoError(t, json.Unmarshal([]byte(`{"request_body_timeout":1000000000}`), &h))
	assert.Equal(t, caddy.Duration(time.Second), h.RequestBodyTimeout)
}
