package llmrouter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// DefaultMaxIdleConnsPerHost is the router's connection pool size per vendor
// host. Caddy's default (32) makes the proxy redial under concurrency, and
// every redial to a vendor is a TLS handshake on the request's critical path.
const DefaultMaxIdleConnsPerHost = 256

// failoverHeader is set by the transport on a vendor response that must move
// the request to the next vendor; the response retry matcher looks for it. It
// never reaches a client: reverse_proxy discards responses it retries.
const failoverHeader = "X-Llm-Router-Failover"

// Failure reasons the transport records besides the vendors' own verdicts.
const (
	reasonTimeout     = "timeout"
	reasonTransport   = "connection_error"
	reasonUnsupported = "unsupported_request" // the request cannot be expressed in the vendor's API
)

// unsupportedRequestError is an attempt the vendor's API cannot express. It is
// a transport error for reverse_proxy, so the next vendor is tried.
type unsupportedRequestError struct{ err error }

func (e unsupportedRequestError) Error() string { return e.err.Error() }

// maxErrorBody bounds how much of a vendor's error response is kept to tell the
// client what went wrong.
const maxErrorBody = 64 << 10

// provisionProxy builds the embedded reverse_proxy: one upstream per route,
// our selection policy and transport, and retries driven by two matcher sets,
// transport errors first, then responses the transport marked for failover.
func (h *LLMRouter) provisionProxy(ctx caddy.Context) error {
	h.inner = &reverseproxy.HTTPTransport{
		// TLS on, so https vendors work; the transport sets each attempt's URL
		// scheme itself, so plain http vendors (local servers) work too.
		TLS:       &reverseproxy.TLSConfig{},
		KeepAlive: &reverseproxy.KeepAlive{MaxIdleConnsPerHost: DefaultMaxIdleConnsPerHost},
	}
	if err := h.inner.Provision(ctx); err != nil {
		return fmt.Errorf("provisioning vendor transport: %v", err)
	}

	pool := make(reverseproxy.UpstreamPool, 0, len(h.table.routes))
	mostCandidates := 0
	for _, rt := range h.table.routes {
		pool = append(pool, rt.upstream)
		mostCandidates = max(mostCandidates, len(h.table.byModel[rt.model]))
	}
	retries := mostCandidates - 1
	if h.maxTries > 0 {
		retries = min(retries, h.maxTries-1)
	}

	h.proxy = &reverseproxy.Handler{
		Upstreams: pool,
		Transport: &attemptTransport{router: h, inner: h.inner},
		LoadBalancing: &reverseproxy.LoadBalancing{
			Retries:         max(retries, 0),
			SelectionPolicy: rankedPolicy{router: h},
			RetryMatchRaw: caddyhttp.RawMatcherSets{
				{"expression": json.RawMessage(`"{http.reverse_proxy.is_transport_error} == true"`)},
				{"expression": json.RawMessage(`"{http.reverse_proxy.header.` + failoverHeader + `} == \"1\""`)},
			},
		},
	}
	if err := h.proxy.Provision(ctx); err != nil {
		return fmt.Errorf("provisioning embedded reverse proxy: %v", err)
	}
	return nil
}

// rankedPolicy is the embedded proxy's selection policy: it hands out the
// request's ranked routes in order, each once.
type rankedPolicy struct{ router *LLMRouter }

// Select returns the next untried route of the request, or nil when none is
// left or the retries cap is reached. A route whose breaker does not admit the
// request (open, or half-open with its probe already out) is set aside and
// used only when nothing else is left.
func (p rankedPolicy) Select(_ reverseproxy.UpstreamPool, r *http.Request, _ http.ResponseWriter) *reverseproxy.Upstream {
	st := stateFrom(r.Context())
	if st == nil || (st.maxTries > 0 && st.tries >= st.maxTries) {
		return nil
	}
	now := time.Now()
	for st.next < len(st.ranked) {
		rt := st.ranked[st.next]
		st.next++
		if !rt.upstream.Available() {
			continue
		}
		if !p.router.selector.Admit(rt.stats, now) {
			st.setAside = append(st.setAside, rt)
			continue
		}
		return st.use(rt)
	}
	if len(st.setAside) > 0 {
		rt := st.setAside[0]
		st.setAside = st.setAside[1:]
		return st.use(rt)
	}
	return nil
}

// use makes rt the route of the next attempt.
func (st *requestState) use(rt *route) *reverseproxy.Upstream {
	st.current = rt
	st.tries++
	return rt.upstream
}

// attemptTransport shapes each attempt for the selected vendor, round-trips it
// through Caddy's HTTP transport, and classifies the outcome.
type attemptTransport struct {
	router *LLMRouter
	inner  http.RoundTripper
}

// RoundTrip sends one attempt. It works on a clone: the request it is given
// shares its URL and headers with the proxy loop's next attempt.
func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st := stateFrom(req.Context())
	if st == nil || st.current == nil {
		return nil, errors.New("llm_router: attempt without a selected route")
	}
	rt := st.current

	ctx, cancel := context.WithCancel(req.Context())
	out := req.Clone(ctx)
	stripClientHeaders(out.Header, t.router.VendorHeader)
	attempt := vendors.Attempt{Endpoint: st.endpoint, Model: rt.vendorModel, Body: st.body, Stream: st.stream,
		Validated: true}
	if err := rt.vendor.Prepare(out, attempt); err != nil {
		// The request cannot be said in this vendor's API (n > 1 for
		// Anthropic, an image URL for Bedrock...): not the vendor's fault,
		// but another vendor may take it.
		cancel()
		st.attempts = append(st.attempts, attemptRecord{Vendor: rt.vendor.ID(), Status: http.StatusBadRequest,
			Reason: reasonUnsupported, Message: err.Error()})
		routerMetrics.failovers.WithLabelValues(rt.vendor.ID(), rt.model, reasonUnsupported).Inc()
		return nil, unsupportedRequestError{err}
	}

	deadline := newFirstByteDeadline(st.ttftTimeout, cancel)
	start := time.Now()
	resp, err := t.inner.RoundTrip(out)
	if err != nil {
		deadline.stop()
		cancel()
		if deadline.expired() {
			err = firstByteTimeoutError{vendor: rt.vendor.ID(), after: st.ttftTimeout}
		}
		if req.Context().Err() == nil { // not the client going away
			t.recordFailure(st, rt, 0, transportReason(err), transportMessage(err),
				selector.Failure{Kind: selector.FailureServer})
		}
		return nil, err
	}

	resp.Header.Del(failoverHeader) // only ever ours
	stripVendorHeaders(resp.Header, rt.vendor)
	if resp.StatusCode >= http.StatusBadRequest {
		deadline.stop()
		return t.vendorError(st, rt, resp, cancel)
	}
	rt.vendor.TranslateResponse(resp, attempt)
	return t.commit(st, rt, resp, start, deadline, cancel, req.Context())
}

// vendorError handles an error status: it keeps the body (bounded) so the
// client can be told what happened, asks the vendor kind whether the request
// should move on, and marks the response for the retry matcher if so.
func (t *attemptTransport) vendorError(st *requestState, rt *route, resp *http.Response, cancel context.CancelFunc) (*http.Response, error) {
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	cancel()
	verdict := rt.vendor.Classify(resp.StatusCode, body)
	if readErr != nil {
		verdict.Failover = true // a broken error response says nothing about the request
	}
	if !verdict.Failover {
		st.outcome = outcomeClientError
		body = rt.vendor.RedactBody(body)
		if rt.vendor.Native() {
			body = rt.vendor.TranslateError(resp.StatusCode, body)
			resp.Header.Set("Content-Type", "application/json")
		}
	} else {
		t.recordFailure(st, rt, resp.StatusCode, verdict.Reason, rt.vendor.ErrorMessage(resp.StatusCode, body),
			selector.Failure{Kind: failureKind(verdict.Reason), RetryAfter: retryAfter(resp.Header, time.Now())})
		resp.Header.Set(failoverHeader, "1")
	}
	setRouteHeaders(resp.Header, st, rt)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Del("Content-Encoding")
	return resp, nil
}

// recordFailure notes a failed attempt for the client's error and for the
// route's health.
func (t *attemptTransport) recordFailure(st *requestState, rt *route, status int, reason, msg string, f selector.Failure) {
	st.attempts = append(st.attempts, attemptRecord{Vendor: rt.vendor.ID(), Status: status, Reason: reason, Message: msg})
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

func stripClientHeaders(h http.Header, vendorHeader string) {
	for _, name := range clientOnlyHeaders {
		h.Del(name)
	}
	h.Del(vendorHeader)
	// AWS credentials and signing headers (X-Amz-Security-Token, X-Amz-Date,
	// ...) are the router's to set, for Bedrock; a client's go nowhere.
	for name := range h {
		if strings.HasPrefix(name, "X-Amz-") {
			delete(h, name)
		}
	}
}

// vendorOnlyHeaders are response headers about the operator's vendor account
// that clients have no business seeing.
var vendorOnlyHeaders = []string{"Set-Cookie", "Openai-Organization", "Openai-Project"}

func stripVendorHeaders(h http.Header, v *vendors.Vendor) {
	for _, name := range vendorOnlyHeaders {
		h.Del(name)
	}
	// A vendor that echoes the router's key in a header must not hand it to
	// the client.
	for name, values := range h {
		for _, value := range values {
			if v.Leaks(value) {
				h.Del(name)
				break
			}
		}
	}
}

// Response headers that tell the client how its request was routed.
const (
	headerVendor   = "X-LLM-Vendor"
	headerModel    = "X-LLM-Model"
	headerRouting  = "X-LLM-Routing"
	headerAttempts = "X-LLM-Attempts"
)

// setRouteHeaders sets the routing headers; rt is nil when no vendor answered.
func setRouteHeaders(h http.Header, st *requestState, rt *route) {
	if rt != nil {
		h.Set(headerVendor, rt.vendor.ID())
		h.Set(headerModel, rt.vendorModel)
	}
	h.Set(headerRouting, st.strategy.String())
	h.Set(headerAttempts, strconv.Itoa(st.tries))
}

// firstByteTimeoutError is the error of an attempt whose vendor sent nothing
// within ttft_timeout. It is a net.Error with Timeout() true, so a total
// failure maps to 504, and it deliberately does not wrap context.Canceled:
// reverse_proxy would take that for the client going away and stop retrying.
type firstByteTimeoutError struct {
	vendor string
	after  time.Duration
}

func (e firstByteTimeoutError) Error() string {
	return fmt.Sprintf("vendor %s sent nothing within %s", e.vendor, e.after)
}
func (firstByteTimeoutError) Timeout() bool   { return true }
func (firstByteTimeoutError) Temporary() bool { return true }

func transportReason(err error) string {
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return reasonTimeout
	}
	return reasonTransport
}

// transportMessage describes a transport failure without addresses or other
// details of the vendor connection.
func transportMessage(err error) string {
	var ft firstByteTimeoutError
	switch {
	case errors.As(err, &ft):
		return fmt.Sprintf("no response within %s", ft.after)
	case transportReason(err) == reasonTimeout:
		return "timed out"
	default:
		var de reverseproxy.DialError
		if errors.As(err, &de) {
			return "could not connect"
		}
		return "connection failed"
	}
}
