package vendors

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// vertexKind is Vertex AI, Google Cloud's model garden: Gemini through the
// same generateContent API as the Gemini API (gemini_*.go translate it), and
// Claude through Anthropic's Messages API (vertex_claude.go).
//
//   - Gemini: POST {host}/v1/projects/{project}/locations/{location}/
//     publishers/google/models/{model}:generateContent, streamed as
//     :streamGenerateContent?alt=sse;
//   - Claude (a model whose name starts with "claude", e.g.
//     claude-sonnet-4@20250514): …/publishers/anthropic/models/{model}:rawPredict,
//     streamed as :streamRawPredict (Anthropic SSE).
//
// The host is {location}-aiplatform.googleapis.com, or
// aiplatform.googleapis.com for the "global" location; base_url replaces it
// (a proxy, or a test server). Authentication is an OAuth2 access token of a
// service account (Config.CredentialsJSON, else the file named by
// GOOGLE_APPLICATION_CREDENTIALS, read once at New), obtained with the
// JWT-bearer grant at the key's token_uri, cached and refreshed
// vertexEarlyRefresh before it expires. api_key is not used.
func init() {
	register(&kind{
		name:           "vertex",
		defaultBaseURL: "https://aiplatform.googleapis.com", // replaced by newVertexBackend unless base_url is set
		keyOptional:    true,
		noAPIKey:       true,
		settings:       settingRegion | settingProject | settingCredentials | settingMaxTokens,
		backend:        newVertexBackend,
	})
}

// vertexScope is the OAuth2 scope Vertex AI needs.
const vertexScope = "https://www.googleapis.com/auth/cloud-platform"

const (
	// vertexEarlyRefresh is how long before its expiry a token is replaced:
	// long enough that a token never expires between an attempt's Request
	// and the request reaching Google, even for a slow upload.
	vertexEarlyRefresh = 5 * time.Minute
	// vertexMinValidity is the least time a cached token must have left to
	// be used while a fresh one is fetched in the background.
	vertexMinValidity = time.Minute
	// vertexTokenTimeout bounds one token request (the default HTTP client
	// has no timeout, and a stuck token endpoint would hang every attempt
	// waiting for the shared refresh).
	vertexTokenTimeout = 30 * time.Second
)

// vertexBackend is a vertex vendor.
type vertexBackend struct {
	maxTokens int // Claude: max_tokens when the client sends none
	project   string
	location  string
	tokens    oauth2.TokenSource // a ReuseTokenSource: caches, refreshes, safe for concurrent use
	// current is the last token fetched, for the fast path that needs no
	// lock and no goroutine; refreshing is set while a background refresh
	// runs.
	current    atomic.Pointer[oauth2.Token]
	refreshing atomic.Bool
}

// newVertexBackend reads project, location and credentials, and sets the
// regional host.
func newVertexBackend(v *Vendor, c Config) (backend, *ConfigError) {
	project := strings.TrimSpace(c.Project)
	if project == "" {
		return nil, &ConfigError{"project", `is required for kind "vertex" (the Google Cloud project id)`}
	}
	if strings.ContainsAny(project, "/?#%") || strings.IndexFunc(project, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return nil, &ConfigError{"project", "is not a valid Google Cloud project id"}
	}
	location := strings.TrimSpace(c.Region)
	if location == "" {
		return nil, &ConfigError{"region", `is required for kind "vertex" (the location: us-central1, europe-west4, global...)`}
	}
	if !vertexValidLocation(location) {
		return nil, &ConfigError{"region", fmt.Sprintf("%q is not a Vertex AI location (lower-case letters, digits and dashes, e.g. us-central1 or global)", location)}
	}
	if strings.TrimSpace(c.BaseURL) == "" {
		host := location + "-aiplatform.googleapis.com"
		if location == "global" {
			host = "aiplatform.googleapis.com"
		}
		v.setBase(&url.URL{Scheme: "https", Host: host})
	}

	key := c.CredentialsJSON
	if len(strings.TrimSpace(string(key))) == 0 {
		path := strings.TrimSpace(os.Getenv("GOOGLE_APPLICATION_CREDENTIALS"))
		if path == "" {
			return nil, &ConfigError{"credentials", `are required for kind "vertex": a service account key (JSON), or GOOGLE_APPLICATION_CREDENTIALS naming its file`}
		}
		var err error
		if key, err = os.ReadFile(path); err != nil {
			return nil, &ConfigError{"credentials", fmt.Sprintf("reading GOOGLE_APPLICATION_CREDENTIALS: %v", err)}
		}
	}
	ts, cerr := vertexTokenSource(key)
	if cerr != nil {
		return nil, cerr
	}
	return &vertexBackend{maxTokens: maxTokensOr(c.DefaultMaxTokens), project: project, location: location, tokens: ts}, nil
}

// serves: chat completions (generateContent, Claude's rawPredict),
// embeddings (predict of the text embedding models) and Claude's
// count_tokens (count-tokens:rawPredict, messages_native.go); Messages only
// through the chat bridge, Claude's Messages taking the passthrough
// (Vendor.Translator) before it.
func (b *vertexBackend) serves(e Endpoint) bool {
	return e == ChatCompletions || e == Embeddings || e == CountTokens
}

// classify: Gemini and Claude on Vertex both report errors Google's way or
// with plain statuses; the generic rules cover them.
func (b *vertexBackend) classify(int, []byte) (Verdict, bool) { return Verdict{}, false }

// vertexValidLocation accepts location names as Google writes them
// (us-central1, europe-west4, global): they become part of a host name.
func vertexValidLocation(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// vertexTokenSource checks a service account key and returns its cached
// token source. Messages never quote the key.
func vertexTokenSource(key []byte) (oauth2.TokenSource, *ConfigError) {
	cfg, err := google.JWTConfigFromJSON(key, vertexScope)
	if err != nil {
		return nil, &ConfigError{"credentials", "is not a usable service account key: " + strings.TrimPrefix(err.Error(), "google: ")}
	}
	if cfg.Email == "" {
		return nil, &ConfigError{"credentials", "is not a service account key: client_email is missing"}
	}
	if err := vertexCheckPrivateKey(cfg.PrivateKey); err != nil {
		return nil, &ConfigError{"credentials", "is not a service account key: private_key " + err.Error()}
	}
	if u, err := url.Parse(cfg.TokenURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, &ConfigError{"credentials", "is not a service account key: token_uri is not an http(s) URL"}
	}
	// The token requests get their own client with a timeout; the context
	// carries nothing else and lives as long as the vendor.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: vertexTokenTimeout})
	return oauth2.ReuseTokenSourceWithExpiry(nil, cfg.TokenSource(ctx), vertexEarlyRefresh), nil
}

// vertexCheckPrivateKey checks that a key will sign (as golang.org/x/oauth2
// parses it: PEM, PKCS#8 or PKCS#1, RSA), so a broken key is a config error
// at start-up rather than a failure on every request.
func vertexCheckPrivateKey(key []byte) error {
	if len(key) == 0 {
		return errors.New("is missing")
	}
	if block, _ := pem.Decode(key); block != nil {
		key = block.Bytes
	}
	parsed, err := x509.ParsePKCS8PrivateKey(key)
	if err != nil {
		if parsed, err = x509.ParsePKCS1PrivateKey(key); err != nil {
			return errors.New("is not a PEM RSA private key")
		}
	}
	if _, ok := parsed.(*rsa.PrivateKey); !ok {
		return errors.New("is not an RSA key")
	}
	return nil
}

// token returns an access token for a request:
//
//   - the cached token while it has more than vertexEarlyRefresh left;
//   - the cached token while it has more than vertexMinValidity left, with a
//     refresh started in the background (one at a time), so that requests
//     never wait for the hourly refresh and a token endpoint hiccup does
//     not fail them;
//   - otherwise (the first request, or a token about to expire) a fetch it
//     waits for: concurrent callers share it (the token source serializes
//     them and reuses the result), and a caller whose ctx ends stops waiting
//     while the fetch goes on for the others.
func (s *vertexBackend) token(ctx context.Context) (string, error) {
	if t := s.current.Load(); t != nil {
		left := time.Until(t.Expiry)
		if left > vertexEarlyRefresh {
			return t.AccessToken, nil
		}
		if left > vertexMinValidity {
			if s.refreshing.CompareAndSwap(false, true) {
				go func() {
					defer s.refreshing.Store(false)
					_, _ = s.fetch()
				}()
			}
			return t.AccessToken, nil
		}
	}
	type result struct {
		tok string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		tok, err := s.fetch()
		ch <- result{tok, err}
	}()
	select {
	case r := <-ch:
		return r.tok, r.err
	case <-ctx.Done():
		return "", fmt.Errorf("vertex: getting an access token: %w", context.Cause(ctx))
	}
}

// fetch gets a token from the token source (which refreshes it when it is
// within vertexEarlyRefresh of its expiry) and caches it.
func (s *vertexBackend) fetch() (string, error) {
	t, err := s.tokens.Token()
	if err != nil {
		return "", fmt.Errorf("vertex: getting an access token: %w", err)
	}
	if t.AccessToken == "" {
		return "", errors.New("vertex: the token endpoint returned no access token")
	}
	s.current.Store(t)
	return t.AccessToken, nil
}

// vertexIsClaude reports whether a model is Anthropic's (Claude on Vertex).
func vertexIsClaude(model string) bool {
	return strings.HasPrefix(model, "claude")
}

// send fetches the access token, then sends body to model's method at
// publisher.
func (b *vertexBackend) send(v *Vendor, out *http.Request, publisher, model, method, query string, body []byte) error {
	tok, err := b.token(out.Context())
	if err != nil {
		return fmt.Errorf("vendor %q: %w", v.id, err)
	}
	prefix := "/v1/projects/" + b.project + "/locations/" + b.location + "/publishers/" + publisher + "/models/"
	rawPrefix := "/v1/projects/" + url.PathEscape(b.project) + "/locations/" + b.location + "/publishers/" + publisher + "/models/"
	o := outgoing{query: query, body: body, authName: "Authorization", authValue: "Bearer " + tok, plain: true}
	o.path, o.rawPath = v.below(prefix+model+":"+method, rawPrefix+url.PathEscape(model)+":"+method)
	return v.send(out, &o)
}

// Interface guards
var _ backend = (*vertexBackend)(nil)
