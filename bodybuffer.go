package llmrouter

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"sync"
	"sync/atomic"
)

// bodyBuffer holds a client's request body, read whole: the router must see
// the model before it can pick a vendor, and every attempt sends the same
// bytes. Buffers are pooled. A fresh 32 KiB buffer per request has to be
// zeroed, is cold in the cache, and is garbage a moment later; on a mix with
// long prompts that was a measurable share of the router's CPU time.
//
// A buffer is shared: the request state holds one reference, and so does
// every outgoing attempt that may read it (holdUntilWritten, and track for
// the bodies of the transport's rewinds). Go's transport can still be writing
// an attempt's body after RoundTrip returned (a vendor that answers before it
// has read the request), so the buffer returns to the pool only once the last
// holder has let go. Nothing may keep a slice or an unsafe string view of it
// beyond that: values read from the body that outlive the request (the model
// name) are copied.
type bodyBuffer struct {
	buf  []byte
	refs atomic.Int32
}

// maxPooledBody is the largest buffer the pool keeps; bigger bodies are left
// to the garbage collector, so that one huge upload does not pin its memory.
const maxPooledBody = 1 << 20

var bodyPool = sync.Pool{New: func() any { return &bodyBuffer{buf: make([]byte, 0, 4<<10)} }}

// getBodyBuffer returns an empty buffer with one reference, the caller's.
func getBodyBuffer() *bodyBuffer {
	b := bodyPool.Get().(*bodyBuffer)
	b.buf = b.buf[:0]
	b.refs.Store(1)
	return b
}

// release drops a reference; the last one returns the buffer to the pool.
func (b *bodyBuffer) release() {
	switch n := b.refs.Add(-1); {
	case n == 0 && cap(b.buf) <= maxPooledBody:
		bodyPool.Put(b)
	case n < 0:
		panic("llm_router: request body buffer released twice")
	}
}

// maxCopiedAttemptBody is the largest attempt body that copyAttemptBody
// copies rather than tracks: a body that fits, with the request's headers, in
// the transport's 4 KiB write buffer.
const maxCopiedAttemptBody = 3 << 10

// copyAttemptBody gives out, a request with a small body of known length, a
// copy of that body which Go's transport recognises as in memory. The
// transport writes the headers on their own before any other body (it
// might block, and the vendor may need the headers first) and only then
// the body: two write system calls and two TCP segments per attempt. An
// in-memory body goes out with the headers in one. The copy holds no
// reference to the client's pooled buffer, so it needs no tracking either.
func copyAttemptBody(out *http.Request) {
	buf := make([]byte, out.ContentLength)
	n, _ := io.ReadFull(out.Body, buf)
	out.Body.Close()
	// A body shorter than its ContentLength stays short, and the transport
	// reports the mismatch as it would have.
	buf = buf[:n]
	out.Body = io.NopCloser(bytes.NewReader(buf))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
}

// holdUntilWritten returns out (an attempt whose body may read b) holding a
// reference to b until Go's transport reports the request written (httptrace's
// WroteRequest, called once the body has been read to its end or the write
// failed, for HTTP/1 and HTTP/2 alike). The body itself stays the in-memory
// reader the vendor's translation gave it: a body the transport does not
// recognise as in memory (a tracking wrapper, say) makes it write the headers
// on their own and then copy the body through a 32 KiB buffer it allocates for
// every request, where an in-memory one goes out with the headers through the
// connection's write buffer: for a 32 KiB prompt one write instead of three,
// and no allocation (the vendor transport's WriteBufferSize).
//
// Only a write that succeeded lets go. After a failed one the transport may
// send the same body again on a fresh connection (it does when the failure
// came before any of the body was read; a body it had read is replaced by
// one from GetBody, which holds its own reference: trackedGetBody). A
// transport that gives up, before writing or after a failed write, never
// reports success, and b is left to the garbage collector instead of the
// pool: safe, since nothing returns it early.
func (b *bodyBuffer) holdUntilWritten(out *http.Request) *http.Request {
	b.refs.Add(1)
	h := &writtenHold{owner: b}
	h.trace.WroteRequest = h.wrote
	return out.WithContext(httptrace.WithClientTrace(out.Context(), &h.trace))
}

// writtenHold is an attempt's reference to the client's body buffer, let go
// when the transport reports the request written without error. A transport
// that writes a request more than once reports each write; the first success
// lets go.
type writtenHold struct {
	trace httptrace.ClientTrace
	owner *bodyBuffer
	done  atomic.Bool
}

func (h *writtenHold) wrote(info httptrace.WroteRequestInfo) {
	if info.Err == nil && h.done.CompareAndSwap(false, true) {
		h.owner.release()
	}
}

// track returns rc (an attempt body that may read b) holding a reference to b
// until it is closed.
func (b *bodyBuffer) track(rc io.ReadCloser) io.ReadCloser {
	b.refs.Add(1)
	return &trackedBody{ReadCloser: rc, owner: b}
}

// trackedGetBody makes every body that get returns hold a reference to b, for
// the transport's own rewinds (a request retried on a fresh connection).
func (b *bodyBuffer) trackedGetBody(get func() (io.ReadCloser, error)) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		rc, err := get()
		if err != nil {
			return nil, err
		}
		return b.track(rc), nil
	}
}

type trackedBody struct {
	io.ReadCloser
	owner  *bodyBuffer
	closed atomic.Bool
}

func (t *trackedBody) Close() error {
	err := t.ReadCloser.Close()
	if t.closed.CompareAndSwap(false, true) {
		t.owner.release()
	}
	return err
}

// readLimited reads body, of announced size contentLength (-1: unknown), into
// b, up to limit bytes, refusing more. The limit holds for chunked uploads too,
// since it counts what is read. A read deadline that expires
// (request_body_timeout, or one of the server's read timeouts) is a 408.
func (b *bodyBuffer) readLimited(body io.Reader, contentLength, limit int64) error {
	if contentLength > limit {
		return tooLargeError(limit)
	}
	// Room for the announced size plus one byte, so that the read which
	// returns EOF needs no growth. Unknown or large sizes grow as data really
	// arrives: a client that announces 16 MiB and sends nothing gets no 16 MiB
	// buffer.
	if want := int(min(contentLength, 1<<20)) + 1; contentLength >= 0 && cap(b.buf) < want {
		b.buf = make([]byte, 0, want)
	}
	buf := b.buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow, as append does
		}
		// Never read more than one byte past the limit.
		end := cap(buf)
		if room := limit + 1 - int64(len(buf)); room < int64(end-len(buf)) {
			end = len(buf) + int(room)
		}
		n, err := body.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		b.buf = buf
		if int64(len(buf)) > limit {
			return tooLargeError(limit)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var maxErr *http.MaxBytesError
			if errors.As(err, &maxErr) {
				return tooLargeError(limit)
			}
			var netErr net.Error
			if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout() {
				return &clientError{status: http.StatusRequestTimeout, errType: typeInvalidRequest,
					code: codeBodyTimeout, message: "the request body did not arrive in time"}
			}
			return badRequest("invalid_body", "", "could not read the request body: %v", err)
		}
	}
}

// Interface guards
var _ io.ReadCloser = (*trackedBody)(nil)
