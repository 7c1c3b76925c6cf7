package llmrouter

import (
	"io"
	"net/http"
	"os"
	"time"
)

// readRequestBody reads the client's body within max_request_body and
// request_body_timeout. The timeout is one deadline for the whole body, set
// on the connection (HTTP/1) or the stream (HTTP/2, HTTP/3) through
// http.ResponseController, so that it also interrupts a read that stalls: a
// client that sends its headers and then trickles or withholds the body gets
// a 408 instead of holding a connection and a goroutine forever.
//
// The deadline is lifted once the body is in, since the response (a stream)
// may last far longer. After a failure it stays: it then bounds what net/http
// drains of an unread HTTP/1 body before it writes the error, and the
// connection is closed after the error, so that net/http drains nothing more.
//
// Except for a body of announced length over max_request_body: net/http
// drains a small remainder (up to 256 KiB) before it writes the 413, so that
// the connection stays open, and closes the connection unread after a larger
// one. Closing it with a small remainder unread would make the kernel reset
// the connection, and the reset can destroy the 413 before the client has
// read it. A chunked body has no known remainder; net/http would drain up to
// twice 256 KiB of it, so that connection is closed at once.
//
// The body comes in a pooled buffer with one reference, the caller's, which
// must release it (also after an error).
func (h *LLMRouter) readRequestBody(w http.ResponseWriter, r *http.Request) (*bodyBuffer, error) {
	var src io.Reader = r.Body
	if src == nil {
		src = http.NoBody
	}
	timeout := time.Duration(h.RequestBodyTimeout)
	rc := http.NewResponseController(w)
	armed := timeout > 0 && src != http.NoBody
	if armed {
		deadline := time.Now().Add(timeout)
		if rc.SetReadDeadline(deadline) != nil {
			// A ResponseWriter that cannot take a deadline
			// (http.ErrNotSupported: a wrapper without Unwrap). Checking the
			// deadline between reads still ends a trickle; a read that
			// stalls is left to the server's own timeouts.
			armed = false
			src = &deadlineReader{r: src, deadline: deadline}
		}
	}
	body := getBodyBuffer()
	err := body.readLimited(src, r.ContentLength, h.MaxRequestBody)
	switch {
	case err == nil && armed:
		_ = rc.SetReadDeadline(time.Time{})
	case err != nil && r.ProtoMajor == 1 && !(r.ContentLength >= 0 && isTooLarge(err)):
		w.Header().Set("Connection", "close")
	}
	return body, err
}

func isTooLarge(err error) bool {
	ce, ok := err.(*clientError)
	return ok && ce.status == http.StatusRequestEntityTooLarge
}

// deadlineReader fails the reads that start after its deadline.
type deadlineReader struct {
	r        io.Reader
	deadline time.Time
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if !time.Now().Before(d.deadline) {
		return 0, os.ErrDeadlineExceeded
	}
	return d.r.Read(p)
}

// Interface guards
var _ io.Reader = (*deadlineReader)(nil)
