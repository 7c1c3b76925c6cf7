package llmrouter

import (
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/caddy-llm/llmrouter/internal/preferences"
	"github.com/caddy-llm/llmrouter/vendors"
)

// vendorRateLimitPrefix starts the headers in which OpenAI and the vendors
// that copy it describe the rate limits of the operator's account
// (x-ratelimit-limit-requests, -remaining-tokens...).
const vendorRateLimitPrefix = "X-Ratelimit-"

// routerHeaderPrefix starts the headers in which the router tells the client
// how its request was routed (headerVendor...), and what a translation left
// out (vendors.HeaderDroppedTools...), in canonical form.
const routerHeaderPrefix = "X-Llm-"

// stripVendorHeaders removes from a vendor's response header what must not
// reach the client: the vendor account's own headers, the router's headers
// (the router's to say: a vendor that is itself an llm_router would send its
// own), and any header that carries the vendor's key.
//
// The account's rate limits (vendorRateLimitPrefix) go too. They are not the
// client's: they count every client of the router on that key, they reveal
// the operator's usage tier, and they change with the vendor that happened
// to answer. A router with client limits writes the client's own under
// those names instead. Dropping them also keeps an answer's header small:
// above 14 entries Go's header map grows to 32 slots, and cloning and
// sorting it when the status is written cost every request microseconds.
//
// It reads each of the answer's headers once, rather than deleting a list
// of names, most of them absent, each a hash and a lookup.
func stripVendorHeaders(h http.Header, v *vendors.Vendor) {
	for name, values := range h {
		if vendorOnlyHeader(name) {
			delete(h, name)
			continue
		}
		for _, value := range values {
			if v.Leaks(value) {
				delete(h, name) // this very key, however it is spelled
				break
			}
		}
	}
}

// vendorOnlyHeader reports whether a vendor's response header, named in
// canonical form (net/http's ReadResponse canonicalizes a response's keys),
// is one stripVendorHeaders drops whatever its value: about the operator's
// account, or the router's own.
func vendorOnlyHeader(name string) bool {
	switch name {
	case "Set-Cookie", "Openai-Organization", "Openai-Project":
		return true
	}
	return strings.HasPrefix(name, vendorRateLimitPrefix) || strings.HasPrefix(name, routerHeaderPrefix)
}

// headerValue is h.Get(name) for a name already in canonical form. h.Get
// canonicalizes its argument on every call: for a constant name, work for
// nothing, about as much as the lookup itself.
func headerValue(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// canonicalHeaderKey is textproto.CanonicalMIMEHeaderKey(name) at half the
// cost for a name already canonical, as Go's servers store every request
// header: it looks only at the case of each byte, where the standard one
// also checks each byte against the table of valid ones (a name whose case
// is canonical is returned as it is either way).
func canonicalHeaderKey(name string) string {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return textproto.CanonicalMIMEHeaderKey(name)
		}
		upper = c == '-'
	}
	return name
}

// Response headers that tell the client how its request was routed, in Go's
// canonical form (X-Llm-Vendor is how net/http writes X-LLM-Vendor anyway),
// so that setting them needs no canonicalization.
const (
	headerVendor   = "X-Llm-Vendor"
	headerModel    = "X-Llm-Model"
	headerRouting  = "X-Llm-Routing"
	headerAttempts = "X-Llm-Attempts"
	headerExcluded = "X-Llm-Excluded" // vendor=rule pairs; only when preferences filtered some
	headerHedged   = "X-Llm-Hedged"   // only on hedged requests (hedge.go)
)

// smallCounts are the X-LLM-Attempts values of nearly every request.
var smallCounts = [...]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// setRouteHeaders sets the routing headers; rt is nil when no vendor answered.
func setRouteHeaders(h http.Header, st *requestState, rt *route) {
	attempts := strconv.Itoa(st.attempts.tries)
	if st.attempts.tries >= 0 && st.attempts.tries < len(smallCounts) {
		attempts = smallCounts[st.attempts.tries]
	}
	// One backing array for the four values, as Header.Clone does; each
	// value's capacity is its length, so an append elsewhere copies
	// instead of overwriting its neighbour.
	v := &[4]string{st.plan.strategy.String(), attempts}
	h[headerRouting] = v[0:1:1]
	h[headerAttempts] = v[1:2:2]
	if rt != nil {
		v[2], v[3] = rt.vendor.ID(), rt.vendorModel
		h[headerVendor] = v[2:3:3]
		h[headerModel] = v[3:4:4]
	}
	if pp := st.plan.prefs; pp != nil && len(pp.excluded) > 0 {
		h[headerExcluded] = []string{preferences.Header(pp.excluded)}
	}
	if st.attempts.hedge.wasStarted() {
		h[headerHedged] = []string{st.attempts.hedge.headerValue()}
	}
}

// vendorKey is the vendor header's name in canonical form, as requests
// carry it.
func (h *LLMRouter) vendorKey() string {
	if h.vendorHeaderKey == "" { // a router built without Provision (tests)
		return textproto.CanonicalMIMEHeaderKey(h.VendorHeader)
	}
	return h.vendorHeaderKey
}
