package llmrouter

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/caddy-llm/llmrouter/internal/meter"
	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// serveCompletion routes one completion request: read and check the body, rank
// the vendors, then let the embedded reverse proxy try them in order.
func (h *LLMRouter) serveCompletion(w http.ResponseWriter, r *http.Request, op operation) error {
	body, err := h.readRequestBody(w, r)
	defer body.release()
	if err == nil {
		var st *requestState
		st, err = h.inspect(r, op, body.buf, time.Now())
		if err == nil {
			st.bodyBuffer = body
			return h.forward(w, r, st)
		}
	}
	var ce *clientError
	if errors.As(err, &ce) {
		return writeError(w, ce.status, ce.errType, ce.code, ce.param, ce.message)
	}
	return err
}

// requestState is what the router knows about one client request while the
// embedded proxy works on it. The proxy runs the selection policy and the
// transport in the request's goroutine, one attempt at a time, so the state
// needs no locking.
type requestState struct {
	endpoint     vendors.Endpoint
	model        string
	body         []byte         // the client's body without router-only fields; never modified
	layout       vendors.Layout // where body's model and stream_options are
	proxyBody    readerBody     // the embedded proxy's view of body
	clientHeader http.Header    // the client's response header
	// bodyBuffer holds the client's body; attempts that may read it hold a
	// reference of their own (see bodyBuffer).
	bodyBuffer *bodyBuffer
	stream     bool
	strategy   selector.Strategy
	bucket     int

	// Buffers for the candidates, their ranking and its explanation, so
	// that a model with a few vendors costs no allocation for them.
	routeBuf, rankedBuf [4]*route
	scoreBuf            [4]selector.Score

	ranked   []*route // best first
	next     int      // index in ranked of the next candidate to try
	setAside []*route // ranked routes whose breaker did not admit the request
	maxTries int      // 0 = no cap
	tries    int      // attempts started
	current  *route   // the route of the attempt in flight

	attempts []attemptRecord // failed attempts, in order

	ttftTimeout      time.Duration
	promptTokens     int  // estimated
	clientWantsUsage bool // stream_options.include_usage
	sreq             selector.Request
	explored         bool
	scores           []selector.Score // how the ranking saw st.ranked; only when the decision is logged

	// What reached the client, filled in by the committed attempt.
	served    *route
	usage     meter.Usage
	ttft      time.Duration
	completed bool // the served response ended cleanly
	outcome   string

	// What the failed attempts cost (zero completion insurance): never billed.
	absorbed     meter.Usage
	absorbedCost float64
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
