// Package vendors knows each kind of LLM vendor the router can send an
// OpenAI-style request to: its default base URL, how its paths are laid out,
// how it authenticates, where the model name goes, and how to read its errors.
//
// The package is deliberately free of Caddy imports so that it can be tested
// (and reused) as plain Go: the router turns a [Config] into a [Vendor] once,
// at provision time, and then calls [Vendor.Prepare] on every attempt and
// [Vendor.Classify] / [Vendor.ErrorMessage] on every error response.
package vendors

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Endpoint is the OpenAI API operation a request targets.
type Endpoint uint8

// The OpenAI API operations the router forwards.
const (
	ChatCompletions Endpoint = iota // POST /v1/chat/completions
	Completions                     // POST /v1/completions (legacy)
	Embeddings                      // POST /v1/embeddings
	numEndpoints
)

// String returns the endpoint's path below the /v1 prefix, which is also the
// path every OpenAI-compatible vendor appends to its base URL.
func (e Endpoint) String() string {
	switch e {
	case ChatCompletions:
		return "chat/completions"
	case Completions:
		return "completions"
	case Embeddings:
		return "embeddings"
	}
	return "Endpoint(" + strconv.Itoa(int(e)) + ")"
}

// endpointSet is a bit set of Endpoints.
type endpointSet uint8

func endpointsOf(es ...Endpoint) endpointSet {
	var s endpointSet
	for _, e := range es {
		s |= 1 << e
	}
	return s
}

func (s endpointSet) has(e Endpoint) bool { return e < numEndpoints && s&(1<<e) != 0 }

// Config is one vendor as the operator declared it. All placeholders are
// already resolved by the caller.
type Config struct {
	ID         string      // what clients name in the vendor header, e.g. "azure-eu"
	Kind       string      // one of Kinds(); the caller already defaulted it (kind = id when id is a known kind)
	BaseURL    string      // "" = the kind's default
	APIKey     string      // the vendor credential; never logged or echoed
	APIVersion string      // azure only
	Headers    http.Header // extra headers sent to this vendor on every attempt

	// Native kinds (anthropic, aws, google, vertex) take more:
	Region           string // aws: the Bedrock region (us-east-1...); vertex: the location (us-central1, global)
	AccessKeyID      string // aws SigV4 credentials; empty: the standard AWS environment variables
	SecretAccessKey  string
	SessionToken     string
	Project          string // vertex: the Google Cloud project id
	CredentialsJSON  []byte // vertex: a service account key (JSON); empty: GOOGLE_APPLICATION_CREDENTIALS
	DefaultMaxTokens int    // anthropic, aws, vertex Claude: max_tokens when the client sends none (default 4096)
	API              string // google: "native" (default: generateContent) or "openai" (the OpenAI-compatible endpoint)
}

// ConfigError reports an invalid Config field. Field uses the operator-facing
// (Caddyfile/JSON) name, e.g. "base_url", so the message can point at the
// line to fix.
type ConfigError struct {
	Field   string
	Message string
}

// Error returns "<field>: <message>"; the caller prefixes `vendor "<id>": `.
func (e *ConfigError) Error() string { return e.Field + ": " + e.Message }

// authScheme is how a kind presents the API key.
type authScheme uint8

const (
	authBearer authScheme = iota // Authorization: Bearer <key>
	authAPIKey                   // api-key: <key> (Azure)
)

// streamUsage is how a kind handles OpenAI's stream_options.
type streamUsage uint8

const (
	// usageRequested: the kind accepts stream_options, so the router asks for
	// the usage chunk on every streamed request.
	usageRequested streamUsage = iota
	// usagePassThrough: the kind's support is unknown (any OpenAI-shaped
	// server): the client's stream_options go as they are, nothing is added.
	usagePassThrough
	// usageRejected: the kind refuses stream_options (Mistral: 422
	// extra_forbidden) but reports usage on its last chunk anyway, so the
	// field is removed.
	usageRejected
)

// credentialHeaders are every header any vendor (or client SDK) uses for a
// credential. Prepare clears them all so that a client's credential can never
// reach a vendor and a vendor never sees two competing credentials.
var credentialHeaders = []string{"Authorization", "Api-Key", "X-Api-Key", "X-Goog-Api-Key"}

// kind describes everything that is the same for every vendor of one kind.
// Each kind lives in its own file.
type kind struct {
	name           string
	defaultBaseURL string // "" when every deployment has its own URL (azure, openai_compatible)
	keyOptional    bool   // only self-hosted servers may run without auth
	endpoints      endpointSet
	auth           authScheme
	// streamUsage is how the kind takes stream_options.include_usage, which
	// the router needs to meter streamed requests.
	streamUsage streamUsage
	// configure applies kind-specific settings (api_version) to a vendor being
	// built. nil means the kind takes no api_version.
	configure func(v *Vendor, c Config) *ConfigError
	// classify lets a kind recognise vendor-specific error bodies (for example
	// an auth failure reported as a 400). ok=false keeps the generic verdict.
	classify func(status int, body []byte) (verdict Verdict, ok bool)
	// native is set for kinds that speak their own API rather than OpenAI's
	// chat completions; see translate.go.
	native *nativeAPI
	// sanitize fixes, for OpenAI-compatible kinds, what the kind's API would
	// reject in a body written for OpenAI (see sanitize.go). nil: leave the
	// body as it is (OpenAI itself, Azure, unknown compatible servers).
	sanitize func(body []byte, a Attempt) ([]byte, error)
}

// registry maps kind names to kinds.
var registry = func() map[string]*kind {
	m := make(map[string]*kind)
	for _, k := range []*kind{
		openaiKind, azureKind, mistralKind, deepseekKind,
		volcengineKind, xKind, googleKind, compatibleKind, anthropicKind, awsKind, vertexKind,
	} {
		m[k.name] = k
	}
	return m
}()

var kindNames = func() []string {
	names := make([]string, 0, len(registry))
	for name := range registry {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}()

// Kinds lists the known kind names, sorted.
func Kinds() []string { return slices.Clone(kindNames) }

// IsKind reports whether name is a known kind. Names are case-sensitive, like
// every other config keyword.
func IsKind(name string) bool {
	_, ok := registry[name]
	return ok
}

// Vendor is a validated, ready vendor. It is immutable after New and
// therefore safe for concurrent use.
type Vendor struct {
	id   string
	kind *kind
	key  string

	// base is the effective base URL (azure may extend the configured path).
	base url.URL
	// basePath and baseRawPath are base's decoded and escaped paths without
	// trailing slashes, ready for "/" + endpoint path to be appended.
	basePath    string
	baseRawPath string
	dial        string

	headers   http.Header // canonical keys, owned by the Vendor
	endpoints endpointSet

	// query is the RawQuery every request carries (azure classic api-version).
	query string
	// paths are each endpoint's URL path and raw path, worked out once
	// (Azure classic puts the deployment in the path instead); bearer is
	// the Authorization value. Building them per attempt cost three
	// allocations.
	paths  [numEndpoints]struct{ path, rawPath string }
	bearer string
	// keyEscaped is the key as it appears in a URL query, the other form
	// Leaks and Redact look for; empty when escaping leaves the key as it is.
	keyEscaped string
	// deploymentInPath selects Azure's classic layout, where the model
	// (deployment) name is a path segment rather than only a body field.
	deploymentInPath bool

	// native is the kind's translation, possibly replaced per vendor by
	// configure (google's "openai" API turns it off); ext holds a native
	// kind's own state (credentials, token source...).
	native           *nativeAPI
	ext              any
	defaultMaxTokens int
}

// New validates c and returns the vendor. Errors are *ConfigError naming the
// field: unknown kind ("kind"), bad or missing base_url ("base_url"), missing
// key where the kind needs one ("api_key"), an api_version the kind cannot use
// ("api_version") and malformed extra headers ("headers").
func New(c Config) (*Vendor, error) {
	k, ok := registry[c.Kind]
	if !ok {
		return nil, &ConfigError{"kind", fmt.Sprintf("unknown kind %q (known kinds: %s)",
			c.Kind, strings.Join(kindNames, ", "))}
	}

	raw := strings.TrimSpace(c.BaseURL)
	if raw == "" {
		raw = k.defaultBaseURL
	}
	if raw == "" {
		return nil, &ConfigError{"base_url", fmt.Sprintf("is required for kind %q (it has no default)", k.name)}
	}
	base, cerr := parseBaseURL(raw)
	if cerr != nil {
		return nil, cerr
	}

	// Keys pasted from files or env vars often carry a trailing newline; no
	// vendor issues keys with surrounding whitespace, so trimming is safe.
	key := strings.TrimSpace(c.APIKey)
	if key == "" && !k.keyOptional {
		return nil, &ConfigError{"api_key", fmt.Sprintf("is required for kind %q", k.name)}
	}
	if strings.IndexFunc(key, isCTL) >= 0 {
		// Never echo the key itself.
		return nil, &ConfigError{"api_key", "contains control characters"}
	}

	headers, cerr := cleanHeaders(c.Headers)
	if cerr != nil {
		return nil, cerr
	}

	v := &Vendor{
		id:               c.ID,
		kind:             k,
		key:              key,
		headers:          headers,
		endpoints:        k.endpoints,
		native:           k.native,
		defaultMaxTokens: c.DefaultMaxTokens,
	}
	if v.defaultMaxTokens <= 0 {
		v.defaultMaxTokens = DefaultMaxTokens
	}
	v.setBase(base)

	if k.configure != nil {
		if cerr := k.configure(v, c); cerr != nil {
			return nil, cerr
		}
	} else if strings.TrimSpace(c.APIVersion) != "" {
		return nil, &ConfigError{"api_version", fmt.Sprintf("is not used by kind %q (only azure takes an api_version)", k.name)}
	}

	port := v.base.Port()
	if port == "" {
		port = "443"
		if v.base.Scheme == "http" {
			port = "80"
		}
	}
	v.dial = net.JoinHostPort(v.base.Hostname(), port)
	for e := range numEndpoints {
		rel := e.String()
		v.paths[e].path = v.basePath + "/" + rel
		v.paths[e].rawPath = rawPathIfNeeded(v.paths[e].path, v.baseRawPath+"/"+rel)
	}
	if v.key != "" {
		v.bearer = "Bearer " + v.key
	}
	if esc := url.QueryEscape(v.key); esc != v.key {
		v.keyEscaped = esc
	}
	return v, nil
}

// parseBaseURL checks that raw is an absolute http(s) URL that can be used as
// a prefix: no query or fragment (they would be silently dropped or end up in
// the middle of the path) and no userinfo (credentials belong in api_key, and
// Go would turn them into Basic auth behind the operator's back).
//
// Messages never quote raw: it may contain credentials.
func parseBaseURL(raw string) (*url.URL, *ConfigError) {
	bad := func(msg string) (*url.URL, *ConfigError) { return nil, &ConfigError{"base_url", msg} }
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return bad("is not a valid URL: " + err.Error())
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad("scheme must be http or https")
	}
	if u.Opaque != "" {
		return bad("must be an absolute URL such as https://host/path")
	}
	if u.User != nil {
		return bad("must not contain user info (put the credential in api_key)")
	}
	if u.Hostname() == "" {
		return bad("must include a host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad("port must be between 1 and 65535")
		}
	}
	if u.RawQuery != "" || u.ForceQuery {
		return bad("must not have a query")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return bad("must not have a fragment")
	}
	return u, nil
}

// setBase installs u as the vendor's base URL.
func (v *Vendor) setBase(u *url.URL) {
	v.base = url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	v.basePath = strings.TrimRight(u.Path, "/")
	v.baseRawPath = strings.TrimRight(u.EscapedPath(), "/")
}

// appendBasePath extends the base URL path by suffix, which must need no
// escaping (it is a fixed string such as "/openai/v1").
func (v *Vendor) appendBasePath(suffix string) {
	v.basePath += suffix
	v.baseRawPath += suffix
	v.base.Path = v.basePath
	v.base.RawPath = rawPathIfNeeded(v.basePath, v.baseRawPath)
}

// headersManagedByPrepare may not appear in Config.Headers: Prepare (or Go's
// transport) owns them, so an operator value would be silently replaced.
var headersManagedByPrepare = []string{"Host", "Content-Length", "Content-Type", "Transfer-Encoding"}

// cleanHeaders validates the operator's extra headers and returns a
// canonicalised deep copy, so later changes to the caller's map cannot reach
// an immutable Vendor.
func cleanHeaders(h http.Header) (http.Header, *ConfigError) {
	out := make(http.Header, len(h))
	for name, values := range h {
		if !validHeaderName(name) {
			return nil, &ConfigError{"headers", fmt.Sprintf("invalid header name %q", name)}
		}
		canon := http.CanonicalHeaderKey(name)
		if slices.Contains(headersManagedByPrepare, canon) {
			return nil, &ConfigError{"headers", fmt.Sprintf("header %q is set by the router and cannot be configured", canon)}
		}
		for _, val := range values {
			if strings.IndexFunc(val, isCTLExceptTab) >= 0 {
				return nil, &ConfigError{"headers", fmt.Sprintf("value of header %q contains control characters", canon)}
			}
		}
		if len(values) > 0 {
			out[canon] = append(out[canon], values...)
		}
	}
	return out, nil
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func isCTL(r rune) bool          { return r < 0x20 || r == 0x7f }
func isCTLExceptTab(r rune) bool { return r != '\t' && isCTL(r) }

// ID returns the vendor's id as configured.
func (v *Vendor) ID() string { return v.id }

// Kind returns the vendor's kind name.
func (v *Vendor) Kind() string { return v.kind.name }

// BaseURL returns a copy of the effective base URL. It never includes the key.
func (v *Vendor) BaseURL() *url.URL {
	u := v.base
	return &u
}

// Dial is the host:port the vendor's connections go to (port defaulted from
// the scheme: 443/80), for Caddy's reverse_proxy upstream.
func (v *Vendor) Dial() string { return v.dial }

// Supports reports whether the vendor serves endpoint e.
func (v *Vendor) Supports(e Endpoint) bool { return v.endpoints.has(e) }

// String identifies the vendor for logs. It exists so that printing a Vendor
// with %v can never print its key.
func (v *Vendor) String() string {
	return fmt.Sprintf("vendor %q (kind %s, %s)", v.id, v.kind.name, v.base.String())
}

// GoString is String for %#v, for the same reason.
func (v *Vendor) GoString() string { return v.String() }

// Attempt is what one try of a request at this vendor needs.
type Attempt struct {
	Endpoint Endpoint
	Model    string // the vendor-side model (or Azure deployment) name
	Body     []byte // the client's JSON body, already without router-only fields; NEVER modified in place
	Stream   bool   // the client asked for a stream: stream_options are adjusted to the kind (see Prepare)
	// Layout, when known, says that the caller validated Body as a JSON
	// object and where its "model" and "stream_options" are, which spares
	// Prepare a scan of it (see Layout). Zero: Prepare validates Body itself.
	Layout Layout
}

// Prepare shapes out, a request clone the caller owns, for this vendor:
//
//   - out.URL is replaced: the vendor's scheme and host, base path + "/" +
//     endpoint path (Azure classic: /openai/deployments/{deployment}/...), and
//     only the query the vendor needs (the client's query is dropped);
//   - out.Host is cleared so Go sends URL.Host;
//   - every credential header is removed, then the operator's extra headers
//     and this vendor's auth header are set (the key wins over an extra header
//     of the same name), plus Content-Type: application/json;
//   - the body gets "model" = a.Model, and out.Body, out.GetBody and
//     out.ContentLength describe the new body; the Content-Length header and
//     any Transfer-Encoding are dropped because they described the old body.
//
// a.Body is never modified. On error out is left untouched.
func (v *Vendor) Prepare(out *http.Request, a Attempt) error {
	if out == nil {
		return fmt.Errorf("vendor %q: Prepare needs a request", v.id)
	}
	if !v.endpoints.has(a.Endpoint) {
		return fmt.Errorf("vendor %q: kind %s does not serve %s", v.id, v.kind.name, a.Endpoint)
	}
	if a.Model == "" {
		return fmt.Errorf("vendor %q: no model to send", v.id)
	}

	if v.native != nil {
		return v.prepareNative(out, a)
	}

	path, rawPath := v.paths[a.Endpoint].path, v.paths[a.Endpoint].rawPath
	if v.deploymentInPath {
		rel, relRaw, err := azureDeploymentPath(a.Endpoint, a.Model)
		if err != nil {
			return fmt.Errorf("vendor %q: %w", v.id, err)
		}
		path = v.basePath + "/" + rel
		rawPath = rawPathIfNeeded(path, v.baseRawPath+"/"+relRaw)
	}

	body, err := v.shapeOpenAIBody(a)
	if err == nil && v.kind.sanitize != nil && a.Endpoint == ChatCompletions {
		body, err = v.kind.sanitize(body, a)
	}
	if err != nil {
		return fmt.Errorf("vendor %q: %w", v.id, err)
	}

	// Everything that can fail has been checked; from here on only mutate.
	out.URL = &url.URL{
		Scheme:   v.base.Scheme,
		Host:     v.base.Host,
		Path:     path,
		RawPath:  rawPath,
		RawQuery: v.query,
	}
	out.Host = ""

	if out.Header == nil {
		out.Header = make(http.Header)
	}
	h := out.Header
	for _, name := range credentialHeaders {
		h.Del(name)
	}
	for name, values := range v.headers {
		// Clone so that a caller appending to out.Header cannot reach the
		// Vendor's shared copy.
		h[name] = slices.Clone(values)
	}
	if v.key != "" {
		switch v.kind.auth {
		case authAPIKey:
			h.Set("Api-Key", v.key)
		default:
			h.Set("Authorization", v.bearer)
		}
	}
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")

	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(body)), nil
	}
	out.ContentLength = int64(len(body))
	out.TransferEncoding = nil
	return nil
}

// rawPathIfNeeded returns raw when Go's default encoding of path would differ
// from it (e.g. an escaped "/" inside a segment), else "", as url.URL expects.
func rawPathIfNeeded(path, raw string) string {
	if (&url.URL{Path: path}).EscapedPath() == raw {
		return ""
	}
	return raw
}

// withModel returns a copy of body with the top-level "model" set to model.
//
// sjson.SetBytes and DeleteBytes without ReplaceInPlace never write into
// their input (they build a new slice), so the caller's body, which the next
// attempt reuses, is never touched.
//
// A body with several top-level "model" keys is normalised to one: sjson would
// replace only the first while many JSON decoders keep the last, which would
// let a client choose the model the vendor actually runs (and bills for).
// body must be a valid JSON object.
func withModel(body []byte, model string) ([]byte, error) {
	// A read-only view: gjson.ParseBytes would copy the whole body.
	root := gjson.Parse(unsafe.String(unsafe.SliceData(body), len(body)))
	if !root.IsObject() {
		return nil, errors.New("request body is not a JSON object")
	}
	n := 0
	root.ForEach(func(k, _ gjson.Result) bool {
		if k.String() == "model" {
			n++
		}
		return true
	})
	out := body
	if n > 1 {
		for range n {
			var err error
			if out, err = sjson.DeleteBytes(out, "model"); err != nil {
				return nil, fmt.Errorf("removing duplicate model fields: %w", err)
			}
		}
	}
	out, err := sjson.SetBytes(out, "model", model)
	if err != nil {
		return nil, fmt.Errorf("setting model: %w", err)
	}
	return out, nil
}

// withStreamUsage adjusts a streamed request's stream_options to the kind:
// asks for the usage chunk where the kind accepts it (the router strips it
// again if the client did not ask), removes the field where the kind refuses
// it. body is already the attempt's own copy.
func (v *Vendor) withStreamUsage(body []byte) ([]byte, error) {
	switch v.kind.streamUsage {
	case usageRequested:
		if gjson.GetBytes(body, "stream_options.include_usage").Type == gjson.True {
			return body, nil
		}
		return sjson.SetBytes(body, "stream_options.include_usage", true)
	case usageRejected:
		if !gjson.GetBytes(body, "stream_options").Exists() {
			return body, nil
		}
		return sjson.DeleteBytes(body, "stream_options")
	}
	return body, nil
}

// DefaultMaxTokens is the max_tokens the router sends to vendors that require
// one (Anthropic, Bedrock) when the client gives none.
const DefaultMaxTokens = 4096

// prepareNative shapes an attempt for a native kind: client credentials
// removed, the operator's headers set, then the kind builds the request.
func (v *Vendor) prepareNative(out *http.Request, a Attempt) error {
	if out.Header == nil {
		out.Header = make(http.Header)
	}
	saved := out.Header.Clone()
	for _, name := range credentialHeaders {
		out.Header.Del(name)
	}
	for name, values := range v.headers {
		out.Header[name] = slices.Clone(values)
	}
	out.Header.Del("Content-Length")
	if err := v.native.prepare(v, out, a); err != nil {
		out.Header = saved
		return fmt.Errorf("vendor %q: %w", v.id, err)
	}
	out.Host = ""
	out.TransferEncoding = nil
	return nil
}

// setBody installs body on out, with a consistent length and GetBody.
func setBody(out *http.Request, body []byte) {
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	out.ContentLength = int64(len(body))
}
