package vendors

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

var (
	vertexTestKeyOnce sync.Once
	vertexTestKey     *rsa.PrivateKey
)

// vertexTestRSAKey is one RSA key per test binary (generating is slow).
func vertexTestRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	vertexTestKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		vertexTestKey = k
	})
	return vertexTestKey
}

const vertexTestEmail = "router@proj.iam.gserviceaccount.com"

// vertexTestCredentials is a service account key file whose token_uri is
// tokenURL.
func vertexTestCredentials(t testing.TB, tokenURL string) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(vertexTestRSAKey(t))
	require.NoError(t, err)
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	out, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "proj", "private_key_id": "kid-1",
		"private_key": string(key), "client_email": vertexTestEmail, "client_id": "1234",
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": tokenURL,
	})
	require.NoError(t, err)
	return out
}

// vertexTestConfig is a valid vertex Config (project "proj", us-central1)
// for tests that never fetch a token: its key's token_uri refuses
// connections. Shared tests (newTestVendor) can build a vertex vendor
// from it; note that vertex refuses an api_key.
func vertexTestConfig(t testing.TB) Config {
	t.Helper()
	return Config{ID: "vertex-test", Kind: "vertex", Project: "proj", Region: "us-central1",
		CredentialsJSON: vertexTestCredentials(t, "http://127.0.0.1:9/token")}
}

// vertexTokenServer is a fake OAuth2 token endpoint answering the JWT
// bearer grant of vertexTestCredentials' key.
type vertexTokenServer struct {
	*httptest.Server
	requests  atomic.Int64
	expiresIn int           // default 3600
	status    int           // non-zero: answer this error
	failing   atomic.Bool   // set: answer 503
	hold      chan struct{} // non-nil: wait for it (or the client) before answering
}

func startVertexTokenServer(t *testing.T, configure func(*vertexTokenServer)) *vertexTokenServer {
	t.Helper()
	s := &vertexTokenServer{expiresIn: 3600}
	if configure != nil {
		configure(s)
	}
	pub := &vertexTestRSAKey(t).PublicKey
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.requests.Add(1)
		if s.hold != nil {
			select {
			case <-s.hold:
			case <-r.Context().Done():
				return
			}
		}
		if s.status != 0 || s.failing.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(cmp.Or(s.status, http.StatusServiceUnavailable))
			_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`)
			return
		}
		if err := vertexCheckGrant(r, pub, "http://"+r.Host+r.URL.Path); err != "" {
			http.Error(w, `{"error":"invalid_grant","error_description":"`+err+`"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"tok`+strings.Repeat("+", int(n-1))+`","expires_in":`+
			vertexItoa(s.expiresIn)+`,"token_type":"Bearer"}`)
	}))
	t.Cleanup(func() {
		if s.hold != nil {
			select {
			case <-s.hold:
			default:
				close(s.hold)
			}
		}
		s.Close()
	})
	return s
}

func vertexItoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// vertexCheckGrant checks a JWT bearer grant as Google does: form fields,
// RS256 signature, issuer, scope and audience. It returns "" when it is good.
func vertexCheckGrant(r *http.Request, pub *rsa.PublicKey, aud string) string {
	if r.Method != http.MethodPost || r.PostFormValue("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		return "bad grant_type"
	}
	parts := strings.Split(r.PostFormValue("assertion"), ".")
	if len(parts) != 3 {
		return "bad assertion"
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "bad signature encoding"
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return "Invalid JWT Signature."
	}
	claims, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "bad claims"
	}
	c := gjson.ParseBytes(claims)
	switch {
	case c.Get("iss").String() != vertexTestEmail:
		return "bad iss"
	case c.Get("scope").String() != vertexScope:
		return "bad scope"
	case c.Get("aud").String() != aud:
		return "bad aud " + c.Get("aud").String()
	case c.Get("exp").Int() <= time.Now().Unix():
		return "expired"
	}
	return ""
}

// newVertexTestVendor makes a vertex vendor whose key points at ts.
func newVertexTestVendor(t *testing.T, ts *vertexTokenServer, c Config) *Vendor {
	t.Helper()
	c.Kind = "vertex"
	if c.ID == "" {
		c.ID = "vx"
	}
	if c.Project == "" {
		c.Project = "proj"
	}
	if c.Region == "" {
		c.Region = "us-central1"
	}
	if c.CredentialsJSON == nil {
		c.CredentialsJSON = vertexTestCredentials(t, ts.URL+"/token")
	}
	v, err := New(c)
	require.NoError(t, err)
	return v
}

// vertexPrepare prepares a client request and returns it.
func vertexPrepareTest(t *testing.T, v *Vendor, a Attempt) *http.Request {
	t.Helper()
	out := httptest.NewRequest(http.MethodPost, "http://router.example/v1/chat/completions?x=1", bytes.NewReader(a.Body))
	out.Header.Set("Authorization", "Bearer client-key")
	out.Header.Set("X-Goog-Api-Key", "client-key")
	out.Header.Set("Accept-Encoding", "gzip")
	out = out.Clone(context.Background())
	require.NoError(t, v.Prepare(out, a))
	return out
}

// Concurrent first requests share one token request.
func TestVertexTokenSharedAcrossConcurrentPrepares(t *testing.T) {
	ts := startVertexTokenServer(t, nil)
	v := newVertexTestVendor(t, ts, Config{})
	body := []byte(`{"messages":[{"role":"user","content":"hi"}]}`)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			out := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
			assert.NoError(t, v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: "gemini-2.5-flash", Body: body}))
			assert.Equal(t, "Bearer tok", out.Header.Get("Authorization"))
		})
	}
	wg.Wait()
	assert.Equal(t, int64(1), ts.requests.Load())
}

// A token within vertexEarlyRefresh of its expiry is still used, while a
// fresh one is fetched in the background; one within vertexMinValidity is
// not used at all.
func TestVertexTokenRefreshedEarly(t *testing.T) {
	ts := startVertexTokenServer(t, func(s *vertexTokenServer) { s.expiresIn = 120 })
	v := newVertexTestVendor(t, ts, Config{})
	body := []byte(`{"messages":[{"role":"user","content":"hi"}]}`)
	a := Attempt{Endpoint: ChatCompletions, Model: "gemini-2.5-flash", Body: body}
	assert.Equal(t, "Bearer tok", vertexPrepareTest(t, v, a).Header.Get("Authorization"))
	assert.Equal(t, "Bearer tok", vertexPrepareTest(t, v, a).Header.Get("Authorization"), "no waiting for the refresh")
	assert.Eventually(t, func() bool {
		return vertexPrepareTest(t, v, a).Header.Get("Authorization") != "Bearer tok"
	}, 5*time.Second, 5*time.Millisecond, "the background refresh replaced the token")
	assert.GreaterOrEqual(t, ts.requests.Load(), int64(2))

	// Nearly expired: the request waits for a fresh token.
	ts2 := startVertexTokenServer(t, func(s *vertexTokenServer) { s.expiresIn = 30 })
	v2 := newVertexTestVendor(t, ts2, Config{})
	assert.Equal(t, "Bearer tok", vertexPrepareTest(t, v2, a).Header.Get("Authorization"))
	assert.Equal(t, "Bearer tok+", vertexPrepareTest(t, v2, a).Header.Get("Authorization"))
	assert.Equal(t, int64(2), ts2.requests.Load())
}

// A failing background refresh keeps the still-valid token in use.
func TestVertexBackgroundRefreshFailure(t *testing.T) {
	ts := startVertexTokenServer(t, func(s *vertexTokenServer) { s.expiresIn = 120 })
	v := newVertexTestVendor(t, ts, Config{})
	a := Attempt{Endpoint: ChatCompletions, Model: "gemini-2.5-flash", Body: []byte(`{"messages":[{"role":"user","content":"hi"}]}`)}
	assert.Equal(t, "Bearer tok", vertexPrepareTest(t, v, a).Header.Get("Authorization"))
	ts.failing.Store(true)
	for range 5 {
		assert.Equal(t, "Bearer tok", vertexPrepareTest(t, v, a).Header.Get("Authorization"))
	}
	assert.Eventually(t, func() bool { return ts.requests.Load() >= 2 }, 5*time.Second, 5*time.Millisecond)
}

func TestVertexTokenErrors(t *testing.T) {
	body := []byte(`{"messages":[{"role":"user","content":"hi"}]}`)
	a := Attempt{Endpoint: ChatCompletions, Model: "gemini-2.5-flash", Body: body}

	t.Run("rejected", func(t *testing.T) {
		ts := startVertexTokenServer(t, func(s *vertexTokenServer) { s.status = http.StatusBadRequest })
		v := newVertexTestVendor(t, ts, Config{})
		out := httptest.NewRequest(http.MethodPost, "http://router.example/v1/chat/completions", nil)
		out.Header.Set("Authorization", "Bearer client-key")
		err := v.Prepare(out, a)
		require.Error(t, err)
		assert.Contains(t, err.Error(), `vendor "vx": vertex: getting an access token`)
		assert.NotContains(t, err.Error(), "PRIVATE KEY")
		assert.Equal(t, "/v1/chat/completions", out.URL.Path, "out untouched")
		assert.Equal(t, "Bearer client-key", out.Header.Get("Authorization"))
	})

	t.Run("cancelled while waiting", func(t *testing.T) {
		ts := startVertexTokenServer(t, func(s *vertexTokenServer) { s.hold = make(chan struct{}) })
		v := newVertexTestVendor(t, ts, Config{})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		out := httptest.NewRequestWithContext(ctx, http.MethodPost, "http://router.example/v1/chat/completions", nil)
		start := time.Now()
		err := v.Prepare(out, a)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 5*time.Second)

		// The fetch goes on for the next request.
		close(ts.hold)
		assert.Eventually(t, func() bool {
			out := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
			return v.Prepare(out, a) == nil && out.Header.Get("Authorization") == "Bearer tok"
		}, 5*time.Second, 10*time.Millisecond)
		assert.Equal(t, int64(1), ts.requests.Load())
	})
}

func TestVertexConfig(t *testing.T) {
	ts := startVertexTokenServer(t, nil)
	creds := vertexTestCredentials(t, ts.URL+"/token")
	base := Config{Kind: "vertex", Project: "proj", Region: "us-central1", CredentialsJSON: creds}
	with := func(f func(*Config)) Config {
		c := base
		f(&c)
		return c
	}
	userCreds := []byte(`{"type":"authorized_user","client_id":"x","client_secret":"y","refresh_token":"z"}`)
	var m map[string]any
	require.NoError(t, json.Unmarshal(creds, &m))
	m["private_key"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
	badKey, _ := json.Marshal(m)
	m = nil
	require.NoError(t, json.Unmarshal(creds, &m))
	delete(m, "client_email")
	noEmail, _ := json.Marshal(m)

	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	bad := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"no project", with(func(c *Config) { c.Project = " " }), "project"},
		{"bad project", with(func(c *Config) { c.Project = "a/b" }), "project"},
		{"no region", with(func(c *Config) { c.Region = "" }), "region"},
		{"region with a dot", with(func(c *Config) { c.Region = "evil.com" }), "region"},
		{"region upper case", with(func(c *Config) { c.Region = "US-CENTRAL1" }), "region"},
		{"api_key", with(func(c *Config) { c.APIKey = "k" }), "api_key"},
		{"api", with(func(c *Config) { c.API = "openai" }), "api"},
		{"api_version", with(func(c *Config) { c.APIVersion = "v1" }), "api_version"},
		{"no credentials", with(func(c *Config) { c.CredentialsJSON = nil }), "credentials"},
		{"not JSON", with(func(c *Config) { c.CredentialsJSON = []byte("nope") }), "credentials"},
		{"user credentials", with(func(c *Config) { c.CredentialsJSON = userCreds }), "credentials"},
		{"bad private key", with(func(c *Config) { c.CredentialsJSON = badKey }), "credentials"},
		{"no client_email", with(func(c *Config) { c.CredentialsJSON = noEmail }), "credentials"},
		{"bad base_url", with(func(c *Config) { c.BaseURL = "ftp://x" }), "base_url"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, c.field, ce.Field)
			assert.NotContains(t, err.Error(), "PRIVATE KEY")
		})
	}

	v, err := New(base)
	require.NoError(t, err)
	_, err = New(vertexTestConfig(t))
	require.NoError(t, err)
	assert.Equal(t, "vertex", v.Kind())
	assert.True(t, v.Supports(ChatCompletions))
	assert.True(t, v.Supports(Embeddings), "the text embedding models")
	assert.False(t, v.Supports(Completions))
	assert.Equal(t, "https://us-central1-aiplatform.googleapis.com", v.BaseURL().String())
	assert.True(t, IsKind("vertex"))
	assert.Contains(t, Kinds(), "vertex")
	assert.Equal(t, int64(0), ts.requests.Load(), "no token is fetched before the first request")

	t.Run("GOOGLE_APPLICATION_CREDENTIALS", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sa.json")
		require.NoError(t, os.WriteFile(path, creds, 0o600))
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)
		v, err := New(with(func(c *Config) { c.CredentialsJSON = nil }))
		require.NoError(t, err)
		out := vertexPrepareTest(t, v, Attempt{Endpoint: ChatCompletions, Model: "gemini-2.5-flash", Body: []byte(`{"messages":[]}`)})
		assert.Equal(t, "Bearer tok", out.Header.Get("Authorization"))

		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "missing.json"))
		_, err = New(with(func(c *Config) { c.CredentialsJSON = nil }))
		var ce *ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "credentials", ce.Field)
	})

}
