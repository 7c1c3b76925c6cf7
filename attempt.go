package llmrouter

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// maxErrorBody bounds how much of a vendor's error response is kept to tell the
// client what went wrong.
const maxErrorBody = 64 << 10

// attemptTransport shapes each attempt for the selected vendor, round-trips it
// through Caddy's HTTP transport, and classifies the outcome.
type attemptTransport struct {
	router *LLMRouter
	inner  http.RoundTripper
}

// RoundTrip makes one attempt, in the order its steps happen: the request
// in the vendor's terms (attemptRequest and the vendor's translator), the
// round trip, then the answer: an error status (vendorError) or a success,
// held until its first content token (commit, commit.go). Every failure is
// returned as a transport error, which makes reverse_proxy try the next
// route. It works on a clone: the request it is given shares its URL and
// headers with the proxy loop's next attempt. A request the plan hedges
// races two attempts instead (hedge.go).
func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st := stateFrom(req.Context())
	if st == nil || st.attempts.current == nil {
		return nil, errors.New("llm_router: attempt without a selected route")
	}
	if st.plan.hedge.delay > 0 && st.attempts.hedge == nil {
		return t.hedged(req, st)
	}
	rt := st.attempts.current
	var o attemptOutcome
	resp, err := t.try(req, st, rt, &o, nil)
	st.record(rt, &o)
	return resp, err
}

// attemptOutcome is what one attempt did to the request, which the
// request's goroutine writes into its state (requestState.record): an
// attempt itself only reads the state, so that two hedged attempts can run
// at once.
type attemptOutcome struct {
	failure  attemptRecord // when failed
	failed   bool
	used     billing.Usage // what a failed attempt consumed, as far as it got
	absorb   bool          // used is the router's to absorb (not when the client left)
	refusal  *http.Response
	answered *meteredBody // the committed answer
}

// record writes what an attempt on rt did into the request's state.
func (st *requestState) record(rt *route, o *attemptOutcome) {
	if o.failed {
		st.attempts.failed = append(st.attempts.failed, o.failure)
	}
	if o.absorb {
		st.result.absorb(rt, o.used)
	}
	switch {
	case o.refusal != nil:
		st.result.outcome = outcomeClientError
		setRouteHeaders(o.refusal.Header, st, rt)
	case o.answered != nil:
		st.result.served, st.result.ttft = rt, o.answered.ttft
		rt.ttftSeries().Observe(o.answered.ttft.Seconds())
		if st.clientHeader != nil {
			// Straight into the client's response: reverse_proxy copies the
			// vendor's headers next to them, and it would also turn each header
			// of resp into a placeholder, which costs allocations per request.
			setRouteHeaders(st.clientHeader, st, rt)
		} else {
			setRouteHeaders(o.answered.resp.Header, st, rt)
		}
	}
}

// try makes one attempt on rt, reading the request's state but not writing
// it: what it did goes into o. streamed, when not nil, is the request a
// hedge's leg sends for a client that asked for a JSON answer (the vendor
// streams it with its usage; hedgeanswer.go).
func (t *attemptTransport) try(req *http.Request, st *requestState, rt *route, o *attemptOutcome,
	streamed *streamedRequest) (*http.Response, error) {
	p := &st.plan
	ctx, cancel := context.WithCancel(req.Context())
	out := t.router.attemptRequest(ctx, req)
	a := vendors.Attempt{Endpoint: p.endpoint, Model: rt.vendorModel, Body: p.body,
		Stream: p.stream, Layout: p.layout, ClientWantsUsage: p.clientWantsUsage, PromptTokens: p.promptTokens,
		ResponseIDs: t.router.ids(), TokenCapAdded: p.tokenCapAdded}
	if streamed != nil {
		a.Body, a.Layout, a.Stream, a.ClientWantsUsage = streamed.body, streamed.layout, true, true
	}
	tr, err := rt.vendor.Translator(a)
	if err == nil {
		if err = tr.Request(out); err != nil {
			tr.Release()
		}
	}
	if err != nil {
		// The request cannot be said in this vendor's API (n > 1 for
		// Anthropic, an image URL for Bedrock...): not the vendor's fault,
		// but another vendor may take it.
		cancel()
		o.failed = true
		o.failure = attemptRecord{Vendor: rt.vendor.ID(), Status: http.StatusBadRequest,
			Reason: vendors.ReasonUnsupported, Message: err.Error()}
		routerMetrics.failovers.WithLabelValues(rt.vendor.ID(), rt.model, vendors.ReasonUnsupported).Inc()
		return nil, unsupportedRequestError{err}
	}

	if b := st.bodyBuffer; b != nil && out.Body != nil && out.Body != http.NoBody {
		if out.ContentLength > 0 && out.ContentLength <= maxCopiedAttemptBody {
			copyAttemptBody(out)
		} else {
			// The prepared body may be the client's own bytes: they stay
			// out of the pool until the transport has written them.
			out = b.holdUntilWritten(out)
			if out.GetBody != nil {
				out.GetBody = b.trackedGetBody(out.GetBody)
			}
		}
	}
	start := time.Now()
	timer := newAttemptTimer(start, p.ttftTimeout, cancel)
	resp, err := t.inner.RoundTrip(out)
	if err != nil {
		tr.Release()
		timer.stop()
		cancel()
		if timer.expired() {
			err = firstByteTimeoutError{vendor: rt.vendor.ID(), after: p.ttftTimeout}
		}
		if req.Context().Err() == nil { // not the client going away
			reason := transportReason(err)
			t.recordFailure(o, rt, 0, reason, transportMessage(err), selector.Failure{Kind: failureKind(reason)})
		}
		return nil, err
	}

	stripVendorHeaders(resp.Header, rt.vendor)
	if resp.StatusCode >= http.StatusBadRequest {
		timer.stop()
		defer tr.Release()
		return t.vendorError(o, rt, tr, resp, cancel)
	}
	tr.ResponseHeaders(resp)
	mb := &meteredBody{body: resp.Body, tr: tr, sel: t.router.selector, st: st, route: rt, start: start,
		timer: timer, cancel: cancel, clientCx: req.Context()}
	return t.commit(o, rt, mb, resp)
}

// vendorError handles an error status: it keeps the body (bounded) so the
// client can be told what happened and asks the vendor kind whether the
// request should move on. If so, the attempt becomes a vendorFailoverError,
// which reverse_proxy retries with the next route; if not, the client gets
// the vendor's answer.
func (t *attemptTransport) vendorError(o *attemptOutcome, rt *route, tr vendors.Translator, resp *http.Response,
	cancel context.CancelFunc) (*http.Response, error) {
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	cancel()
	verdict := rt.vendor.ClassifyResponse(resp.StatusCode, resp.Header, body)
	if readErr != nil {
		verdict.Failover = true // a broken error response says nothing about the request
	}
	if !verdict.Failover {
		body = tr.ErrorBody(resp.Header, resp.StatusCode, body)
	} else {
		t.recordFailure(o, rt, resp.StatusCode, verdict.Reason, rt.vendor.ErrorMessage(resp.StatusCode, body),
			selector.Failure{Kind: failureKind(verdict.Reason), RetryAfter: retryAfter(resp.Header, time.Now())})
		return nil, vendorFailoverError{vendor: rt.vendor.ID(), status: resp.StatusCode, reason: verdict.Reason}
	}
	o.refusal = resp
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Del("Content-Encoding")
	return resp, nil
}

// recordFailure notes a failed attempt for the client's error (in o) and
// for the route's health.
func (t *attemptTransport) recordFailure(o *attemptOutcome, rt *route, status int, reason, msg string, f selector.Failure) {
	o.failed = true
	o.failure = attemptRecord{Vendor: rt.vendor.ID(), Status: status, Reason: reason, Message: msg}
	t.router.selector.ObserveFailure(rt.stats, f, time.Now())
	routerMetrics.failovers.WithLabelValues(rt.vendor.ID(), rt.model, reason).Inc()
}

// clientOnlyHeaders are request headers that belong to the client's
// relationship with the router, never to the vendor: its credentials, its
// cookies, the router's own controls, and where it connects from.
var clientOnlyHeaders = []string{
	"Authorization", "Proxy-Authorization", "Api-Key", "X-Api-Key", "X-Goog-Api-Key", "Cookie",
	"Openai-Organization", "Openai-Project",
	"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip", "Via",
	// Go's transport then asks for gzip itself and decompresses, so the
	// router always sees plain JSON or SSE.
	"Accept-Encoding",
	// The body is already in memory: waiting for a 100 Continue from the
	// vendor would only add a round trip.
	"Expect",
}

// isClientOnlyHeader is clientOnlyHeaders as a set.
var isClientOnlyHeader = func() map[string]bool {
	set := make(map[string]bool, len(clientOnlyHeaders))
	for _, name := range clientOnlyHeaders {
		set[name] = true
	}
	return set
}()

// attemptRequest is the request of one attempt: a shallow copy of the proxy
// loop's request, with ctx and its own copy of the header, without the
// client's credentials and controls (clientOnlyHeaders, the vendor header)
// and AWS signing headers, which are the router's to set for Bedrock. The
// URL and body are shared; the attempt's translator replaces both.
//
// It is http.Request.Clone minus the copies the translator makes pointless (the URL,
// the header values it deletes next) in one pass over the header.
func (h *LLMRouter) attemptRequest(ctx context.Context, req *http.Request) *http.Request {
	out := req.WithContext(ctx)
	vendorKey := h.vendorKey()
	n := 0
	for _, values := range req.Header {
		n += len(values)
	}
	backing := make([]string, n)
	header := make(http.Header, len(req.Header))
	for name, values := range req.Header {
		canonical := canonicalHeaderKey(name) // no allocation when it already is
		if isClientOnlyHeader[canonical] || canonical == vendorKey || strings.HasPrefix(canonical, "X-Amz-") {
			continue
		}
		n := copy(backing, values)
		header[name] = backing[:n:n]
		backing = backing[n:]
	}
	out.Header = header
	return out
}

// commit holds a successful answer back until its first content token
// (mb.commit, commit.go): what fails before it is recorded against the route
// and becomes a failover; what commits is the attempt's answer.
func (t *attemptTransport) commit(o *attemptOutcome, rt *route, mb *meteredBody, resp *http.Response) (*http.Response, error) {
	if err := mb.commit(resp, time.Duration(t.router.StreamIdleTimeout)); err != nil {
		var (
			timeout  firstByteTimeoutError
			noCommit noCommitError
		)
		switch {
		case errors.As(err, &timeout):
			t.recordFailure(o, rt, http.StatusOK, vendors.ReasonTimeout, transportMessage(err),
				selector.Failure{Kind: selector.FailureServer})
		case errors.As(err, &noCommit):
			t.recordFailure(o, rt, http.StatusOK, noCommit.reason, noCommit.message,
				selector.Failure{Kind: selector.FailureServer})
		}
		o.used, o.absorb = mb.usage(), mb.clientCx.Err() == nil
		mb.release()
		return nil, err
	}
	mb.resp = resp
	o.answered = mb
	return resp, nil
}

// Interface guards
var _ http.RoundTripper = (*attemptTransport)(nil)
