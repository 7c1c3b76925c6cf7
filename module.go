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
	"net/textproto"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"go.uber.org/zap"

	"github.com/caddy-llm/llmrouter/internal/ledger"
	"github.com/caddy-llm/llmrouter/internal/limits"
	"github.com/caddy-llm/llmrouter/internal/preferences"
	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

func init() {
	caddy.RegisterModule(LLMRouter{})
}

// Defaults of the handler's settings.
const (
	DefaultVendorHeader      = "vendor"
	DefaultMaxRequestBody    = 16 << 20 // 16 MiB
	DefaultTTFTTimeout       = 60 * time.Second
	DefaultStreamIdleTimeout = 60 * time.Second
	DefaultPathPrefix        = "/v1"
	DefaultWriteBufferSize   = 4 << 10 // 4 KiB, Go's own
)

// DefaultRequestBodyTimeout is the default of request_body_timeout.
const DefaultRequestBodyTimeout = 30 * time.Second

// LLMRouter serves the OpenAI API (`POST /v1/chat/completions`, `/v1/completions`,
// `/v1/embeddings`, `/v1/responses` and `GET /v1/models`) and routes every request to one of the
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

	// The size of the buffer through which each connection to a vendor over
	// HTTP/1.1 writes its requests. A request whose headers and body fit goes
	// out in one write; a larger one in two (the first buffer-full, then the
	// rest). Each connection keeps its buffer for as long as it lives, while
	// it streams an answer and while it idles in the pool, so a larger one
	// costs that much memory per concurrent vendor connection: 64KiB saves a
	// write system call per request for prompts of up to about 60 KiB.
	// Connections over HTTP/2 frame their writes themselves and do not use it.
	// Default: 4KiB.
	WriteBufferSize int `json:"write_buffer_size,omitempty"`

	// How long a client may take to send its whole request body, from the
	// moment the router starts reading it. A client that trickles or
	// withholds its body (a slow-loris upload) gets a 408 with code
	// `request_timeout` when it expires. Raise it for clients that upload
	// large images over slow links.
	// Default: 30s.
	RequestBodyTimeout caddy.Duration `json:"request_body_timeout,omitempty"`

	// How long one attempt may take to produce the first byte of its response
	// body before the router gives up on that vendor and fails over. Default: 60s.
	TTFTTimeout caddy.Duration `json:"ttft_timeout,omitempty"`

	// How long a stream may go without an event once it has started. A vendor
	// that stalls longer is given up: the client gets an error event and the
	// stream ends. Default: 60s.
	StreamIdleTimeout caddy.Duration `json:"stream_idle_timeout,omitempty"`

	// How many vendors are tried after the first one fails. Default (unset):
	// every candidate once. 0 disables failover.
	Retries *int `json:"retries,omitempty"`

	// The path prefix of the OpenAI API routes. Default: `/v1`. Use `""` to
	// serve `/chat/completions` at the root.
	PathPrefix *string `json:"path_prefix,omitempty"`

	// The vendors requests can be routed to, and the models each one serves.
	Vendors []VendorConfig `json:"vendors,omitempty"`

	// How quickly measurements fade: a latency sample's weight halves after
	// this long, so a vendor that got faster, or recovered, can win again.
	// Default: 5m.
	HalfLife caddy.Duration `json:"half_life,omitempty"`

	// The share of requests, from 0 to 1, sent to a healthy vendor that is not
	// the best, so that every vendor's measurements stay true. Default: 0.02.
	// 0 disables it. Requests that pin a vendor are never explored.
	Exploration *float64 `json:"exploration,omitempty"`

	// A healthy vendor whose newest measurement is older than this gets one
	// exploration request. Default: 10m.
	StaleAfter caddy.Duration `json:"stale_after,omitempty"`

	// How many failures in a row open a vendor's breaker for a model. An open
	// breaker ranks the vendor last until its cooldown ends; then one request
	// probes it. Rate limits with Retry-After, bad keys and missing models open
	// it at once. Default: 3.
	FailureThreshold int `json:"failure_threshold,omitempty"`

	// The first cooldown of an opened breaker; it doubles each time the
	// breaker opens again without a success in between. Default: 5s.
	CooldownBase caddy.Duration `json:"cooldown_base,omitempty"`

	// The longest cooldown (a vendor's Retry-After may ask for longer, up to
	// quota_cooldown). Default: 5m.
	CooldownMax caddy.Duration `json:"cooldown_max,omitempty"`

	// The cooldown after a vendor says the account is out of quota or money
	// (OpenAI insufficient_quota, DeepSeek 402, Volcengine AccountOverdueError).
	// Default: 1h.
	QuotaCooldown caddy.Duration `json:"quota_cooldown,omitempty"`

	// The placeholder that names the client in the spend ledger (see the
	// admin API's /llm_router/stats). Default: `{http.auth.user.id}`, the
	// user an authentication handler identified. When it is empty, the client
	// is a hash of its bearer token or API key (never the token itself).
	LedgerKey string `json:"ledger_key,omitempty"`

	// Where every request's usage and cost are kept. Default: an SQLite
	// database under Caddy's data directory.
	Ledger *LedgerConfig `json:"ledger,omitempty"`

	// State shared with the other instances of a fleet (breakers, latency
	// statistics, the counters of limits). Default: none; each instance
	// learns on its own.
	Shared *SharedConfig `json:"shared,omitempty"`

	// Per-client rate limits and budgets. Default: none.
	Limits *limits.Config `json:"limits,omitempty"`

	// The operator's bounds on where requests may go, which clients'
	// `routing` objects and `vendor` headers can only narrow. Default: none.
	RoutingPolicy *RoutingPolicy `json:"routing_policy,omitempty"`

	// Hedged requests: a second attempt on another vendor when the first
	// is slow to start. Default: off.
	Hedge *HedgeConfig `json:"hedge,omitempty"`

	// The key that signs the ids of Responses API answers, which name the
	// vendor that produced them (a `previous_response_id` or a `GET
	// /v1/responses/{id}` goes to that vendor, and a client cannot forge one
	// to steer a request). Default: a random key per process, so ids open
	// only in the process that made them, until it restarts; a fleet behind
	// one load balancer, or ids that must outlive a restart, need one key
	// set on every instance (placeholders such as `{env.RESPONSE_ID_KEY}`
	// are resolved). At least 16 bytes.
	ResponseIDKey string `json:"response_id_key,omitempty"`

	routing  selector.Strategy
	selector *selector.Selector
	// policy is RoutingPolicy compiled; nil without one. clientPrefsOff
	// refuses routing objects.
	policy         *preferences.Prefs
	clientPrefsOff bool
	// hedge is Hedge provisioned; nil when off.
	hedge     *hedger
	ledgerKey string
	// ledgerPlaceholder is ledgerKey's name when ledgerKey is exactly one
	// placeholder ({http.auth.user.id}: "http.auth.user.id"), else "".
	ledgerPlaceholder string
	// ledger records every settled request; ledgerKeyInPool is its key in
	// the ledgers pool, "" once released.
	ledger          ledger.Ledger
	ledgerKeyInPool string
	// store keeps what the routes learn: routePool, or a shared store whose
	// key in sharedStores is sharedKeyInPool ("" for none).
	store           selector.Store
	sharedKeyInPool string
	// limitPolicy is the compiled Limits; limiter counts for it, kept in
	// the limiters pool under limiterKeyInPool ("" for none).
	limitPolicy      *limits.Policy
	limiter          limits.Limiter
	limiterKeyInPool string
	// Whether the ledger's Record and the limiter's Settle may wait on the
	// network (settleMayWait).
	ledgerWaits, limiterWaits bool

	prefix string
	// vendorHeaderKey is VendorHeader in canonical form.
	vendorHeaderKey string
	table           *routeTable
	responseIDs     *vendors.ResponseIDs // signs Responses API ids
	proxy           *reverseproxy.Handler
	inner           *reverseproxy.HTTPTransport
	probes          *prober // probe.go; nil when no vendor is probed
	maxTries        int     // attempts allowed per request, including the first; 0 = no cap
	logger          *zap.Logger
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
	h.vendorHeaderKey = textproto.CanonicalMIMEHeaderKey(h.VendorHeader)
	if h.MaxRequestBody == 0 {
		h.MaxRequestBody = DefaultMaxRequestBody
	}
	if h.RequestBodyTimeout == 0 {
		h.RequestBodyTimeout = caddy.Duration(DefaultRequestBodyTimeout)
	}
	if h.WriteBufferSize == 0 {
		h.WriteBufferSize = DefaultWriteBufferSize
	}
	if h.TTFTTimeout == 0 {
		h.TTFTTimeout = caddy.Duration(DefaultTTFTTimeout)
	}
	if h.StreamIdleTimeout == 0 {
		h.StreamIdleTimeout = caddy.Duration(DefaultStreamIdleTimeout)
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
			return fmt.Errorf("routing: unknown strategy %q (want %s)", h.Routing, selector.StrategyChoices(false))
		}
		h.routing = s
	}
	if h.MaxRequestBody < 0 {
		return fmt.Errorf("max_request_body: must be positive, got %d", h.MaxRequestBody)
	}
	if h.WriteBufferSize < 0 || h.WriteBufferSize > maxWriteBufferSize {
		return fmt.Errorf("write_buffer_size: must be between 1 and %d bytes, got %d", maxWriteBufferSize, h.WriteBufferSize)
	}
	if h.RequestBodyTimeout < 0 {
		return fmt.Errorf("request_body_timeout: must be positive, got %s", time.Duration(h.RequestBodyTimeout))
	}
	if h.StreamIdleTimeout < 0 {
		return fmt.Errorf("stream_idle_timeout: must be positive, got %s", time.Duration(h.StreamIdleTimeout))
	}
	if h.TTFTTimeout < 0 {
		return fmt.Errorf("ttft_timeout: must be positive, got %s", time.Duration(h.TTFTTimeout))
	}
	if h.Retries != nil && *h.Retries < 0 {
		return fmt.Errorf("retries: must be 0 or more, got %d", *h.Retries)
	}

	h.ledgerKey = h.LedgerKey
	if h.ledgerKey == "" {
		h.ledgerKey = DefaultLedgerKey
	}
	h.ledgerPlaceholder, _ = singlePlaceholder(h.ledgerKey)
	if err := initMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering metrics: %v", err)
	}
	ledgerPlan, err := h.planLedger()
	if err != nil {
		return fmt.Errorf("ledger: %v", err)
	}
	sel, err := h.newSelector()
	if err != nil {
		return err
	}
	h.selector = sel
	if h.store, err = h.provisionStore(); err != nil {
		return err
	}

	table, err := buildRouteTable(h.Vendors, caddy.NewReplacer(), h.store)
	if err != nil {
		return err
	}
	h.table = table
	if h.responseIDs, err = provisionResponseIDs(h.ResponseIDKey); err != nil {
		return err
	}
	if h.Retries != nil {
		h.maxTries = *h.Retries + 1
	}
	if h.policy, err = compilePolicy(h.RoutingPolicy, table); err != nil {
		return fmt.Errorf("routing_policy: %v", err)
	}
	if rp := h.RoutingPolicy; rp != nil && rp.ClientPreferences != nil {
		h.clientPrefsOff = !*rp.ClientPreferences
	}
	if h.hedge, err = newHedger(h.Hedge, table); err != nil {
		return fmt.Errorf("hedge: %v", err)
	}
	probes, err := h.planProbes()
	if err != nil {
		return err
	}
	if err := h.provisionProxy(ctx); err != nil {
		return err
	}
	// Last, once the config is known to be good: it may open a database.
	if err := h.openLedger(ctx, ledgerPlan); err != nil {
		return fmt.Errorf("ledger: %v", err)
	}
	if err := h.provisionLimits(); err != nil {
		return fmt.Errorf("limits: %v", err)
	}
	if sql, ok := h.ledger.(*ledger.SQL); ok {
		h.ledgerWaits = sql.RecordWaits()
	}
	if _, local := h.limiter.(*limits.Memory); h.limiter != nil && !local {
		h.limiterWaits = true
	}
	h.startProbes(probes)
	liveRouters.add(h)
	return nil
}

// newSelector builds the ranking and health policy from the handler's knobs.
func (h *LLMRouter) newSelector() (*selector.Selector, error) {
	cfg := selector.Config{
		HalfLife:         time.Duration(h.HalfLife),
		StaleAfter:       time.Duration(h.StaleAfter),
		FailureThreshold: h.FailureThreshold,
		CooldownBase:     time.Duration(h.CooldownBase),
		CooldownMax:      time.Duration(h.CooldownMax),
		QuotaCooldown:    time.Duration(h.QuotaCooldown),
	}
	if h.Exploration != nil {
		cfg.ExplorationShare = *h.Exploration
		if *h.Exploration == 0 {
			cfg.ExplorationShare = -1 // the selector reads 0 as "default"
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return selector.New(cfg), nil
}

// Validate checks that the handler can route anything at all.
func (h *LLMRouter) Validate() error {
	if len(h.table.routes) == 0 {
		return fmt.Errorf("no vendor serves any model: add a vendor with at least one model")
	}
	return nil
}

// Cleanup releases the routes' stats, the ledger, the shared store, the
// embedded proxy and its transport;
// Caddy only cleans up modules it loaded itself. Caddy calls it once, also
// when Provision or Validate failed.
func (h *LLMRouter) Cleanup() error {
	liveRouters.remove(h)
	h.stopProbes()
	if h.table != nil {
		h.table.release(h.store)
	}
	firstErr := h.cleanupLimits()
	if err := h.cleanupLedger(); err != nil && firstErr == nil {
		firstErr = err
	}
	if err := h.cleanupStore(); err != nil && firstErr == nil {
		firstErr = err
	}
	if h.proxy != nil {
		if err := h.proxy.Cleanup(); err != nil && firstErr == nil {
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
		if h.underPrefix(r.URL.Path) {
			return writeUnknownURL(w, r)
		}
		return next.ServeHTTP(w, r)
	}
	if op == opModels {
		sf := surfaceOfRequest(r)
		switch {
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			return sf.writeMethodNotAllowed(w, "GET")
		case sf == &anthropicSurface:
			return h.serveAnthropicModels(w)
		}
		return h.serveModels(w)
	}
	if op == opStoredResponse {
		return h.serveStoredResponse(w, r)
	}
	if r.Method != http.MethodPost {
		return surfaceOf(op.endpoint()).writeMethodNotAllowed(w, "POST")
	}
	if op == opCountTokens {
		return h.serveCountTokens(w, r)
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
