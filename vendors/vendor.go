// Package vendors knows each kind of LLM vendor the router can send a
// client's request to: its default base URL, how its paths are laid out, how
// it authenticates, which settings it takes, how its API differs from the
// client's, and how to read its errors.
//
// The package is deliberately free of Caddy imports so that it can be tested
// (and reused) as plain Go. The router turns a [Config] into a [Vendor] once,
// at provision time. Per attempt it asks the vendor for a [Translator]
// ([Vendor.Translator]), which writes the request in the vendor's API and
// reads the answer back into the client's; on an error answer it asks the
// vendor what the error means ([Vendor.Classify], [Vendor.ErrorMessage]).
//
// Layout: vendor.go (Config, Vendor), kind.go (the kinds and their settings),
// one file per kind (openai.go, azure.go, anthropic.go, aws.go...) that
// registers it and holds its backend, translator.go (the Translator contract
// and the one place that picks an implementation), prepare.go (the one path
// every attempt's request takes), and one file per pair of client API and
// vendor API (openai_compat.go, openai_anthropic.go, openai_bedrock.go,
// openai_gemini.go, openai_vertex.go, responses_compat.go), with the
// translation helpers of each vendor API beside it (anthropic_*.go, aws_*.go,
// gemini_*.go). A client API a vendor does not speak goes through its chat
// completions: the chat bridge (bridge.go; the Responses API's is
// responses_chat.go and responses_stream.go, its ids responseid.go).
package vendors

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Endpoint is the client API operation a request targets.
type Endpoint uint8

// The client API operations the router forwards.
const (
	ChatCompletions Endpoint = iota // POST /v1/chat/completions
	Completions                     // POST /v1/completions (legacy)
	Embeddings                      // POST /v1/embeddings
	Responses                       // POST /v1/responses (OpenAI's Responses API)
	Messages                        // POST /v1/messages (Anthropic)
	CountTokens                     // POST /v1/messages/count_tokens (Anthropic)
	numEndpoints
)

// String returns the endpoint's path below the /v1 prefix, which is also the
// path every vendor that speaks the client's API appends to its base URL.
func (e Endpoint) String() string {
	switch e {
	case ChatCompletions:
		return "chat/completions"
	case Completions:
		return "completions"
	case Embeddings:
		return "embeddings"
	case Responses:
		return "responses"
	case Messages:
		return "messages"
	case CountTokens:
		return "messages/count_tokens"
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

	// Settings some kinds take; a kind that does not use a setting refuses
	// it (see kind.go):
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

// Vendor is a validated, ready vendor. It is immutable after New and
// therefore safe for concurrent use.
type Vendor struct {
	id   string
	kind *kind
	key  string

	// base is the effective base URL (a kind may extend the configured path).
	base url.URL
	// basePath and baseRawPath are base's decoded and escaped paths without
	// trailing slashes, ready for "/" + a path below it to be appended.
	basePath    string
	baseRawPath string
	dial        string

	headers http.Header // canonical keys, owned by the Vendor
	// keyEscaped is the key as it appears in a URL query, the other form
	// Leaks and Redact look for; empty when escaping leaves the key as it is.
	keyEscaped string

	// backend is the kind's own part: paths and auth, credentials, error
	// rules (see backend).
	backend backend
}

// New validates c and returns the vendor. Errors are *ConfigError naming the
// field: unknown kind ("kind"), bad or missing base_url ("base_url"), missing
// key where the kind needs one ("api_key"), an api_version the kind cannot use
// ("api_version") and malformed extra headers ("headers").
func New(c Config) (*Vendor, error) {
	k, ok := kinds[c.Kind]
	if !ok {
		return nil, &ConfigError{"kind", fmt.Sprintf("unknown kind %q (known kinds: %s)",
			c.Kind, strings.Join(Kinds(), ", "))}
	}
	if cerr := k.checkSettings(c); cerr != nil {
		return nil, cerr
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

	v := &Vendor{id: c.ID, kind: k, key: key, headers: headers}
	v.setBase(base)
	if esc := url.QueryEscape(v.key); esc != v.key {
		v.keyEscaped = esc
	}
	if v.backend, cerr = k.backend(v, c); cerr != nil {
		return nil, cerr
	}

	// After the backend, which may have set the base URL (aws, vertex).
	port := v.base.Port()
	if port == "" {
		port = "443"
		if v.base.Scheme == "http" {
			port = "80"
		}
	}
	v.dial = net.JoinHostPort(v.base.Hostname(), port)
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

// headersTheRouterSets may not appear in Config.Headers: the router (or
// Go's transport) owns them, so an operator value would be silently replaced.
var headersTheRouterSets = []string{"Host", "Content-Length", "Content-Type", "Transfer-Encoding"}

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
		if slices.Contains(headersTheRouterSets, canon) {
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

// Supports reports whether the vendor serves endpoint e: in its own API, or
// through the chat bridge (bridge.go).
func (v *Vendor) Supports(e Endpoint) bool {
	return v.backend.serves(e) || (e < numEndpoints && bridges[e] != nil && v.backend.serves(ChatCompletions))
}

// ServesNatively reports whether the vendor serves endpoint e in its own API, rather
// than through the chat bridge.
func (v *Vendor) ServesNatively(e Endpoint) bool { return v.backend.serves(e) }

// refused says that the vendor cannot take a request, and why: an error of a
// translator's Request, which the router answers by trying another vendor.
func (v *Vendor) refused(err error) error {
	return fmt.Errorf("vendor %q: %w", v.id, err)
}

// String identifies the vendor for logs. It exists so that printing a Vendor
// with %v can never print its key.
func (v *Vendor) String() string {
	return fmt.Sprintf("vendor %q (kind %s, %s)", v.id, v.kind.name, v.base.String())
}

// GoString is String for %#v, for the same reason.
func (v *Vendor) GoString() string { return v.String() }
