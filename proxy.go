package llmrouter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
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
// our selection policy and transport, and a retry on every transport error.
// The transport turns a vendor answer that must fail over into an error
// (vendorFailoverError), so the retry decision costs nothing on a successful
// response: a matcher on response headers would run, as a CEL program, on
// every one.
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
	out := t.router.attemptRequest(ctx, req)
	tr, err := rt.vendor.Translator(vendors.Attempt{Endpoint: st.endpoint, Model: rt.vendorModel, Body: st.body,
		Stream: st.stream, Layout: st.layout, ClientWantsUsage: st.clientWantsUsage, PromptTokens: st.promptTokens})
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
		st.attempts = append(st.attempts, attemptRecord{Vendor: rt.vendor.ID(), Status: http.StatusBadRequest,
			Reason: reasonUnsupported, Message: err.Error()})
		routerMetrics.failovers.WithLabelValues(rt.vendor.ID(), rt.model, reasonUnsupported).Inc()
		return nil, unsupportedRequestError{err}
	}

	if b := st.bodyBuffer; b != nil && out.Body != nil && out.Body != http.NoBody {
		// The prepared body may be the client's own bytes: it keeps them
		// from going back to the pool until the transport closes it.
		out.Body = b.track(out.Body)
		if out.GetBody != nil {
			out.GetBody = b.trackedGetBody(out.GetBody)
		}
	}
	timer := newAttemptTimer(st.ttftTimeout, cancel)
	start := time.Now()
	resp, err := t.inner.RoundTrip(out)
	if err != nil {
		tr.Release()
		timer.stop()
		cancel()
		if timer.expired() {
			err = firstByteTimeoutError{vendor: rt.vendor.ID(), after: st.ttftTimeout}
		}
		if req.Context().Err() == nil { // not the client going away
			t.recordFailure(st, rt, 0, transportReason(err), transportMessage(err),
				selector.Failure{Kind: selector.FailureServer})
		}
		return nil, err
	}

	stripVendorHeaders(resp.Header, rt.vendor)
	if resp.StatusCode >= http.StatusBadRequest {
		timer.stop()
		defer tr.Release()
		return t.vendorError(st, rt, tr, resp, cancel)
	}
	tr.ResponseHeaders(resp)
	return t.commit(st, rt, tr, resp, start, timer, cancel, req.Context())
}

// vendorError handles an error status: it keeps the body (bounded) so the
// client can be told what happened and asks the vendor kind whether the
// request should move on. If so, the attempt becomes a vendorFailoverError,
// which reverse_proxy retries with the next route; if not, the client gets
// the vendor's answer.
func (t *attemptTransport) vendorError(st *requestState, rt *route, tr vendors.Translator, resp *http.Response,
	cancel context.CancelFunc) (*http.Response, error) {
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	cancel()
	verdict := rt.vendor.Classify(resp.StatusCode, body)
	if readErr != nil {
		verdict.Failover = true // a broken error response says nothing about the request
	}
	if !verdict.Failover {
		st.outcome = outcomeClientError
		body = tr.ErrorBody(resp.Header, resp.StatusCode, body)
	} else {
		t.recordFailure(st, rt, resp.StatusCode, verdict.Reason, rt.vendor.ErrorMessage(resp.StatusCode, body),
			selector.Failure{Kind: failureKind(verdict.Reason), RetryAfter: retryAfter(resp.Header, time.Now())})
		return nil, vendorFailoverError{vendor: rt.vendor.ID(), status: resp.StatusCode, reason: verdict.Reason}
	}
	setRouteHeaders(resp.Header, st, rt)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Del("Content-Encoding")
	return resp, nil
}

// vendorFailoverError is a vendor's error answer that moves the request to
// the next vendor (a 429, a 5xx, a key or quota problem...). It is recorded
// in the request's attempts before it is returned.
type vendorFailoverError struct {
	vendor string
	status int
	reason string
}

func (e vendorFailoverError) Error() string {
	return fmt.Sprintf("vendor %s answered %d (%s)", e.vendor, e.status, e.reason)
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
	vendorKey := h.vendorHeaderKey
	if vendorKey == "" { // a router built without Provision (tests)
		vendorKey = textproto.CanonicalMIMEHeaderKey(h.VendorHeader)
	}
	n := 0
	for _, values := range req.Header {
		n += len(values)
	}
	backing := make([]string, n)
	header := make(http.Header, len(req.Header))
	for name, values := range req.Header {
		canonical := textproto.CanonicalMIMEHeaderKey(name) // no allocation when it already is
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

// vendorOnlyHeaders are response headers about the operator's vendor account
// that clients have no business seeing, in canonical form: net/http's
// ReadResponse canonicalizes a response's keys, so a plain delete finds them
// (Header.Del would canonicalize each name again on every response).
var vendorOnlyHeaders = [...]string{"Set-Cookie", "Openai-Organization", "Openai-Project"}

func stripVendorHeaders(h http.Header, v *vendors.Vendor) {
	for _, name := range vendorOnlyHeaders {
		delete(h, name)
	}
	// The routing headers are the router's to say (a vendor that is itself
	// an llm_router would send its own).
	for _, name := range [...]string{headerVendor, headerModel, headerRouting, headerAttempts} {
		delete(h, name)
	}
	// A vendor that echoes the router's key in a header must not hand it to
	// the client.
	for name, values := range h {
		for _, value := range values {
			if v.Leaks(value) {
				delete(h, name) // this very key, however it is spelled
				break
			}
		}
	}
}

// Response headers that tell the client how its request was routed, in Go's
// canonical form (X-Llm-Vendor is how net/http writes X-LLM-Vendor anyway),
// so that setting them needs no canonicalization.
const (
	headerVendor   = "X-Llm-Vendor"
	headerModel    = "X-Llm-Model"
	headerRouting  = "X-Llm-Routing"
	headerAttempts = "X-Llm-Attempts"
)

// smallCounts are the X-LLM-Attempts values of nearly every request.
var smallCounts = [...]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// setRouteHeaders sets the routing headers; rt is nil when no vendor answered.
func setRouteHeaders(h http.Header, st *requestState, rt *route) {
	attempts := strconv.Itoa(st.tries)
	if st.tries >= 0 && st.tries < len(smallCounts) {
		attempts = smallCounts[st.tries]
	}
	// One backing array for the four values, as Header.Clone does; each
	// value's capacity is its length, so an append elsewhere copies
	// instead of overwriting its neighbour.
	v := &[4]string{st.strategy.String(), attempts}
	h[headerRouting] = v[0:1:1]
	h[headerAttempts] = v[1:2:2]
	if rt != nil {
		v[2], v[3] = rt.vendor.ID(), rt.vendorModel
		h[headerVendor] = v[2:3:3]
		h[headerModel] = v[3:4:4]
	}
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
