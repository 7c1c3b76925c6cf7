// Package llmrouter is a Caddy HTTP handler that turns Caddy into an LLM API
// gateway: clients speak the OpenAI API and each request is routed to the best
// of several vendors that serve the requested model, with automatic failover.
//
// The handler parses the request, ranks the candidate vendors (package
// selector) and hands the request to an embedded reverse_proxy, whose
// selection policy and transport are ours: the policy walks the ranked
// candidates, the transport shapes each attempt for its vendor (package
// vendors), and reverse_proxy does the forwarding, pooling, streaming and
// retry-on-failure.
package llmrouter

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"go.uber.org/zap"

	"github.com/caddy-llm/llmrouter/selector"
)

func init() {
	caddy.RegisterModule(LLMRouter{})
}

// Defaults of the handler's settings.
const (
	DefaultVendorHeader   = "vendor"
	DefaultMaxRequestBody = 16 << 20 // 16 MiB
	DefaultTTFTTimeout    = 60 * time.Second
	DefaultPathPrefix     = "/v1"
)

// LLMRouter serves the OpenAI API (`POST /v1/chat/completions`, `/v1/completions`,
// `/v1/embeddings` and `GET /v1/models`) and routes every request to one of the
// configured vendors that serve the requested model. Other requests pass to the
// next handler.
//
// Clients choose the ranking with the `routing` field of the JSON body (`perf`,
// `perf-avg` or `price`; removed before forwarding) and may pin a vendor with the
// `vendor` request header (`auto`, the default, lets the router choose and fail
// over).
//
// Every routed response carries the headers `X-LLM-Vendor` (the vendor id that
// served it), `X-LLM-Model` (the vendor-side model), `X-LLM-Routing` (the
// strategy used) and `X-LLM-Attempts` (how many vendors were tried).
type LLMRouter struct {
	// The routing strategy used when the request body has no `routing` field:
	// `perf` (default: the vendor that answers fastest for a prompt of this
	// size), `perf-avg` (best average latency over all prompt sizes) or `price`
	// (lowest expected cost for this model and prompt).
	Routing string `json:"routing,omitempty"`

	// The request header that pins a vendor. Default: `vendor`. Its value is
	// `auto` (default) or a vendor id. The header is never forwarded.
	VendorHeader string `json:"vendor_header,omitempty"`

	// The largest request body accepted, in bytes. Larger bodies get a 413.
	// Default: 16 MiB.
	MaxRequestBody int64 `json:"max_request_body,omitempty"`

	// How long one attempt may take to produce the first byte of its response
	// body before the router gives up on that vendor and fails over. Default: 60s.
	TTFTTimeout caddy.Duration `json:"ttft_timeout,omitempty"`

	// How many vendors are tried after the first one fails. Default (unset):
	// every candidate once. 0 disables failover.
	Retries *int `json:"retries,omitempty"`

	// The path prefix of the OpenAI API routes. Default: `/v1`. Use `""` to
	// serve `/chat/completions` at the root.
	PathPrefix *string `json:"path_prefix,omitempty"`

	// The vendors requests can be routed to, and the models each one serves.
	Vendors []VendorConfig `json:"vendors,omitempty"`

	routing  selector.Strategy
	prefix   string
	table    *routeTable
	proxy    *reverseproxy.Handler
	inner    *reverseproxy.HTTPTransport
	maxTries int // attempts allowed per request, including the first; 0 = no cap
	logger   *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (LLMRouter) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.llm_router",
		New: func() caddy.Module { return new(LLMRouter) },
	}
}

// Provision resolves placeholders in the vendor settings, validates them,
// builds the route table and provisions the embedded reverse proxy.
func (h *LLMRouter) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger(h)

	if h.VendorHeader == "" {
		h.VendorHeader = DefaultVendorHeader
	}
	if h.MaxRequestBody == 0 {
		h.MaxRequestBody = DefaultMaxRequestBody
	}
	if h.TTFTTimeout == 0 {
		h.TTFTTimeout = caddy.Duration(DefaultTTFTTimeout)
	}
	h.prefix = DefaultPathPrefix
	if h.PathPrefix != nil {
		h.prefix = strings.TrimSuffix(*h.PathPrefix, "/")
	}
	if h.Routing == "" {
		h.routing = selector.Perf
	} else {
		s, ok := selector.ParseStrategy(h.Routing)
		if !ok {
			return fmt.Errorf("routing: unknown strategy %q (want perf, perf-avg or price)", h.Routing)
		}
		h.routing = s
	}
	if h.MaxRequestBody < 0 {
		return fmt.Errorf("max_request_body: must be positive, got %d", h.MaxRequestBody)
	}
	if h.TTFTTimeout < 0 {
		return fmt.Errorf("ttft_timeout: must be positive, got %s", time.Duration(h.TTFTTimeout))
	}
	if h.Retries != nil && *h.Retries < 0 {
		return fmt.Errorf("retries: must be 0 or more, got %d", *h.Retries)
	}

	table, err := buildRouteTable(h.Vendors, caddy.NewReplacer(), selector.Shared)
	if err != nil {
		return err
	}
	h.table = table
	if h.Retries != nil {
		h.maxTries = *h.Retries + 1
	}
	return h.provisionProxy(ctx)
}

// Validate checks that the handler can route anything at all.
func (h *LLMRouter) Validate() error {
	if len(h.table.routes) == 0 {
		return fmt.Errorf("no vendor serves any model: add a vendor with at least one model")
	}
	return nil
}

// Cleanup releases the embedded proxy and its transport; Caddy only cleans up
// modules it loaded itself.
func (h *LLMRouter) Cleanup() error {
	var firstErr error
	if h.proxy != nil {
		if err := h.proxy.Cleanup(); err != nil {
			firstErr = err
		}
	}
	if h.inner != nil {
		if err := h.inner.Cleanup(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// ServeHTTP routes OpenAI API requests and passes everything else on.
func (h *LLMRouter) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	op, ok := h.operation(r.URL.Path)
	if !ok {
		return next.ServeHTTP(w, r)
	}
	if op == opModels {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return writeMethodNotAllowed(w, "GET")
		}
		return h.serveModels(w)
	}
	if r.Method != http.MethodPost {
		return writeMethodNotAllowed(w, "POST")
	}
	return h.serveCompletion(w, r, op)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*LLMRouter)(nil)
	_ caddy.Validator             = (*LLMRouter)(nil)
	_ caddy.CleanerUpper          = (*LLMRouter)(nil)
	_ caddyhttp.MiddlewareHandler = (*LLMRouter)(nil)
)
