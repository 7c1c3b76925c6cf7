package llmrouter

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-llm/llmrouter/internal/meter"
	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// autoVendor is the vendor header value that lets the router choose.
const autoVendor = "auto"

// operation is the OpenAI API route a request targets.
type operation uint8

const (
	opChat operation = iota
	opCompletions
	opEmbeddings
	opModels
)

// endpoint maps a routed operation to the vendors' notion of it.
func (op operation) endpoint() vendors.Endpoint {
	switch op {
	case opCompletions:
		return vendors.Completions
	case opEmbeddings:
		return vendors.Embeddings
	default:
		return vendors.ChatCompletions
	}
}

// operation tells which OpenAI API route path is, if any.
func (h *LLMRouter) operation(path string) (operation, bool) {
	rest, ok := strings.CutPrefix(path, h.prefix)
	if !ok {
		return 0, false
	}
	switch strings.TrimSuffix(rest, "/") {
	case "/chat/completions":
		return opChat, true
	case "/completions":
		return opCompletions, true
	case "/embeddings":
		return opEmbeddings, true
	case "/models":
		return opModels, true
	}
	return 0, false
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

// clientError is a request the router refuses before contacting any vendor.
type clientError struct {
	status      int
	errType     string
	code, param string
	message     string
}

func (e *clientError) Error() string { return e.message }

func badRequest(code, param, format string, args ...any) *clientError {
	return &clientError{status: http.StatusBadRequest, errType: typeInvalidRequest, code: code, param: param,
		message: fmt.Sprintf(format, args...)}
}

func notFound(param, format string, args ...any) *clientError {
	return &clientError{status: http.StatusNotFound, errType: typeInvalidRequest, code: codeModelNotFound,
		param: param, message: fmt.Sprintf(format, args...)}
}

// codeBodyTimeout is the error code of a body that did not arrive in time.
const codeBodyTimeout = "request_timeout"

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

// inspect validates a completion request and ranks the routes that can serve
// it. It answers with a *clientError for anything the client must fix.
func (h *LLMRouter) inspect(r *http.Request, op operation, body []byte, now time.Time) (*requestState, error) {
	var fields topLevel
	if err := readTopLevel(&fields, body); err != nil {
		return nil, badRequest(codeInvalidJSON, "", "the request body must be a JSON object: %v", err)
	}
	model, routing, stream := fields.model, fields.routing, fields.stream
	if model.Type != gjson.String || model.Str == "" {
		return nil, badRequest(codeMissingModel, "model", "you must provide a model parameter")
	}

	st := &requestState{
		endpoint: op.endpoint(),
		model:    model.Str,
		body:     body,
		layout:   fields.layout,
		stream:   stream.Type == gjson.True,

		clientWantsUsage: fields.includeUsage.Type == gjson.True,
		strategy:         h.routing,
		maxTries:         h.maxTries,
		ttftTimeout:      time.Duration(h.TTFTTimeout),
	}
	if routing.Exists() {
		s, ok := selector.Strategy(0), false
		if routing.Type == gjson.String {
			s, ok = selector.ParseStrategy(routing.Str)
		}
		if !ok {
			return nil, badRequest(codeInvalidRouting, "routing",
				"invalid routing %s: use %s", routing.Raw, selector.StrategyChoices(true))
		}
		st.strategy = s
		st.body, st.layout = fields.withoutRouting(body)
	}

	candidates, pinned, err := h.candidates(r, st)
	if err != nil {
		return nil, err
	}

	maxTokens := int(fields.maxCompletionTokens.Int())
	if maxTokens <= 0 {
		maxTokens = int(fields.maxTokens.Int())
	}
	st.promptTokens = fields.estimate.Tokens()
	st.bucket = selector.BucketOf(st.promptTokens)
	st.sreq = selector.Request{Strategy: st.strategy, PromptTokens: st.promptTokens, MaxTokens: maxTokens,
		Stream: st.stream, Pinned: pinned}
	if h.logger.Core().Enabled(zapcore.InfoLevel) {
		// The decision, for the routed line (at INFO when a vendor fails).
		st.scores = st.scoreBuf[:0]
		if len(candidates) > len(st.scoreBuf) {
			st.scores = make([]selector.Score, 0, len(candidates))
		}
		st.scores = st.scores[:len(candidates)]
	}
	st.ranked, st.explored = h.rank(st.sreq, candidates, now, st.rankedBuf[:0], st.scores)
	return st, nil
}

// candidates returns the routes that serve the requested model, restricted to
// the pinned vendor when the vendor header names one.
func (h *LLMRouter) candidates(r *http.Request, st *requestState) (routes []*route, pinned bool, err error) {
	pin := strings.TrimSpace(r.Header.Get(h.VendorHeader))
	var pinnedVendor *vendors.Vendor
	if pin != "" && !strings.EqualFold(pin, autoVendor) {
		v, ok := h.table.vendor(pin)
		if !ok {
			return nil, false, badRequest(codeInvalidVendor, "",
				"unknown vendor %q in the %s header: use %q or one of: %s",
				pin, h.VendorHeader, autoVendor, strings.Join(h.table.vendorIDs(), ", "))
		}
		pinnedVendor = v
	}

	all, ok := h.table.byModel[st.model]
	if !ok {
		return nil, false, notFound("model", "the model %q does not exist or is not served by this router", st.model)
	}
	// The configuration's copy of the name: the client's is a view of the
	// pooled body buffer, which outlives neither the request nor reuse
	// (metrics keep label values for good).
	st.model = all[0].model
	routes = st.routeBuf[:0]
	if len(all) > len(st.routeBuf) {
		routes = make([]*route, 0, len(all))
	}
	for _, rt := range all {
		if pinnedVendor != nil && rt.vendor != pinnedVendor {
			continue
		}
		if !rt.vendor.Supports(st.endpoint) {
			continue
		}
		routes = append(routes, rt)
	}
	if len(routes) == 0 {
		if pinnedVendor != nil {
			return nil, true, notFound("model", "the model %q is not served by vendor %q for /%s",
				st.model, pinnedVendor.ID(), st.endpoint)
		}
		return nil, false, notFound("model", "the model %q is not available for /%s", st.model, st.endpoint)
	}
	return routes, pinnedVendor != nil, nil
}

// rank orders routes for this request, best first, appending them to dst,
// and tells whether the first one is there to explore it. Unless explain is
// nil, it also gets the score of each route, in ranked order.
func (h *LLMRouter) rank(req selector.Request, routes []*route, now time.Time, dst []*route, explain []selector.Score) ([]*route, bool) {
	const stackSize = 16
	var candBuf [stackSize]selector.Candidate
	var orderBuf [stackSize]int
	cands, order := candBuf[:0], orderBuf[:0]
	if len(routes) > stackSize {
		cands, order = make([]selector.Candidate, 0, len(routes)), make([]int, 0, len(routes))
	}
	for _, rt := range routes {
		cands = append(cands, selector.Candidate{Stats: rt.stats, Price: rt.price})
		order = append(order, 0)
	}
	explored := h.selector.RankExplained(req, cands, order, explain, now)
	for _, idx := range order {
		dst = append(dst, routes[idx])
	}
	return dst, explored
}
