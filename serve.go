package llmrouter

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// serveCompletion routes one completion request: read and check the body, rank
// the vendors, then let the embedded reverse proxy try them in order.
func (h *LLMRouter) serveCompletion(w http.ResponseWriter, r *http.Request, op operation) error {
	body, err := h.readRequestBody(w, r)
	defer body.release()
	if err == nil {
		var st *requestState
		st, err = h.inspect(r, op, body.buf, time.Now())
		if err == nil && h.limiter != nil {
			var refused bool
			if refused, err = h.admit(w, r, st); refused {
				return err
			}
		}
		if err == nil {
			st.bodyBuffer = body
			return h.forward(w, r, st)
		}
	}
	var ce *clientError
	if errors.As(err, &ce) {
		s := surfaceOf(op.endpoint())
		if ce.excluded != nil {
			return s.writeExcludedError(w, ce)
		}
		return s.writeError(w, ce.status, ce.errType, ce.code, ce.param, ce.message)
	}
	return err
}

// requestState is what the router knows about one client request while the
// embedded proxy works on it, in three parts that follow the request: its
// plan (what was decided before any vendor was contacted), its attempts (the
// proxy loop's way through the plan) and its result (what reached the client
// and what it cost). The proxy runs the selection policy and the transport in
// the request's goroutine, one attempt at a time, so the state needs no
// locking.
type requestState struct {
	plan     plan        // plan.go; not changed once made
	attempts attempts    // proxy.go, attempt.go
	result   result      // commit.go, settle.go
	limit    *limitState // limits.go: the client's admission; nil without limits

	// The plumbing between the handler, the proxy and the transport.
	proxyBody    readerBody  // the embedded proxy's view of plan.body
	clientHeader http.Header // the client's response header
	// client is the client's response writer as the proxy sees it
	// (clientwriter.go).
	client clientWriter
	// bodyBuffer holds the client's body; attempts that may read it hold a
	// reference of their own (see bodyBuffer).
	bodyBuffer *bodyBuffer
}

// readerBody is a request body over bytes in memory; a value, so that the
// request state carries it without an allocation of its own.
type readerBody struct{ bytes.Reader }

func (*readerBody) Close() error { return nil }

type stateCtxKey struct{}

// stateFrom returns the request state stored by serveCompletion, or nil.
func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateCtxKey{}).(*requestState)
	return st
}

// Interface guards
var _ io.ReadCloser = (*readerBody)(nil)
