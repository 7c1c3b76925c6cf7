package llmrouter

import (
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/caddy-llm/llmrouter/internal/preferences"
)

// DefaultMaxIdleConnsPerHost is the router's connection pool size per vendor
// host. Caddy's default (32) makes the proxy redial under concurrency, and
// every redial to a vendor is a TLS handshake on the request's critical path.
const DefaultMaxIdleConnsPerHost = 256

// maxWriteBufferSize bounds write_buffer_size: every pooled connection keeps
// a buffer of that size.
const maxWriteBufferSize = 16 << 20

// provisionProxy builds the embedded reverse_proxy: one upstream per route,
// our selection policy and transport, and a retry on every transport error.
// The transport turns a vendor answer that must fail over into an error
// (vendorFailoverError), so the retry decision costs nothing on a successful
// response: a matcher on response headers would run, as a CEL program, on
// every one.
//
// The retry matcher is one empty matcher set, which matches every request.
// reverse_proxy consults it only for an error of the round trip (after a
// dial error it retries anyway), so every failover is retried, as
// {http.reverse_proxy.is_transport_error} == true would say; unlike that
// expression it is not searched for response placeholders on every
// response. Without any matcher, reverse_proxy would retry only GETs.
func (h *LLMRouter) provisionProxy(ctx caddy.Context) error {
	h.inner = &reverseproxy.HTTPTransport{
		// TLS on, so https vendors work; the transport sets each attempt's URL
		// scheme itself, so plain http vendors (local servers) work too.
		TLS:       &reverseproxy.TLSConfig{},
		KeepAlive: &reverseproxy.KeepAlive{MaxIdleConnsPerHost: DefaultMaxIdleConnsPerHost},
		// Attempt bodies are in memory (holdUntilWritten), so a request
		// that fits goes out with its headers in one write; the rest of a
		// larger one goes through a pooled buffer (vendorConn).
		WriteBufferSize: h.WriteBufferSize,
	}
	if err := h.inner.Provision(ctx); err != nil {
		return fmt.Errorf("provisioning vendor transport: %v", err)
	}
	// Caddy's transport dials with DialContext (TLS is layered on top by
	// net/http), so every plain connection to a vendor is a vendorConn.
	if rt := h.inner.Transport; rt != nil && rt.DialContext != nil {
		rt.DialContext = pooledCopyDialer(rt.DialContext)
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
			RetryMatchRaw:   caddyhttp.RawMatcherSets{{}},
		},
	}
	if err := h.proxy.Provision(ctx); err != nil {
		return fmt.Errorf("provisioning embedded reverse proxy: %v", err)
	}
	if !deferProxyLogFields(h.proxy) {
		h.logger.Debug("the embedded reverse proxy's logger was not found: each attempt's log fields are encoded eagerly")
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
	if st == nil || (st.plan.maxTries > 0 && st.attempts.tries >= st.plan.maxTries) {
		return nil
	}
	now := time.Now()
	for st.attempts.next < len(st.plan.ranked) {
		rt := st.plan.ranked[st.attempts.next]
		st.attempts.next++
		if !rt.upstream.Available() {
			continue
		}
		if !st.withinCost(rt, 0, now) {
			// What the earlier attempts cost leaves no room for this one.
			pp := st.plan.prefs
			pp.excluded = append(pp.excluded, preferences.Exclusion{Vendor: rt.vendor.ID(), Reason: pp.costRule})
			continue
		}
		if !p.router.selector.Admit(rt.stats, now) {
			st.attempts.setAside = append(st.attempts.setAside, rt)
			continue
		}
		return st.attempts.use(rt)
	}
	if len(st.attempts.setAside) > 0 {
		rt := st.attempts.setAside[0]
		st.attempts.setAside = st.attempts.setAside[1:]
		return st.attempts.use(rt)
	}
	return nil
}

// attempts is a request's way through its plan: which candidate comes
// next, what was tried, and what failed.
type attempts struct {
	next     int             // index in plan.ranked of the next candidate to try
	setAside []*route        // ranked routes whose breaker did not admit the request
	tries    int             // attempts started
	current  *route          // the route of the attempt in flight
	failed   []attemptRecord // failed attempts, in order
	hedge    *hedgeRun       // hedge.go: the race of a hedged request's first attempt; nil for others
}

// use makes rt the route of the next attempt.
func (a *attempts) use(rt *route) *reverseproxy.Upstream {
	a.current = rt
	a.tries++
	return rt.upstream
}

// Interface guards
var _ reverseproxy.Selector = rankedPolicy{}
