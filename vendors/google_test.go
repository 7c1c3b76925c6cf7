package vendors

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// The OpenAI-compatible mode (api "openai") is the kind as it was before
// the native API: the same URLs, Bearer auth, bodies passed through.
func TestGooglePrepare(t *testing.T) {
	bearer := [2]string{"Authorization", "Bearer AIza-key"}
	runPrepareCases(t, []prepareCase{
		{
			name:     "default chat",
			cfg:      Config{Kind: "google", APIKey: "AIza-key", API: "openai"},
			endpoint: ChatCompletions, model: "gemini-2.5-flash",
			wantURL:  "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
			wantPath: "/v1beta/openai/chat/completions", wantAuth: bearer,
		},
		{
			name:     "extra_body google config untouched",
			cfg:      Config{Kind: "google", APIKey: "AIza-key", API: "openai", BaseURL: "https://generativelanguage.googleapis.com/v1beta/openai/"},
			endpoint: ChatCompletions, model: "gemini-2.5-pro",
			body:     `{"messages":[],"extra_body":{"google":{"thinking_config":{"include_thoughts":true}}},"top_k":40}`,
			wantURL:  "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
			wantPath: "/v1beta/openai/chat/completions", wantAuth: bearer,
		},
		{
			name:     "embeddings",
			cfg:      Config{Kind: "google", APIKey: "AIza-key", API: "openai"},
			endpoint: Embeddings, model: "gemini-embedding-001",
			body:     `{"input":"x"}`,
			wantURL:  "https://generativelanguage.googleapis.com/v1beta/openai/embeddings",
			wantPath: "/v1beta/openai/embeddings", wantAuth: bearer,
		},
		{
			// Embeddings need no translation: the native mode sends them to
			// the OpenAI-compatible endpoint below its base.
			name:     "native embeddings",
			cfg:      Config{Kind: "google", APIKey: "AIza-key"},
			endpoint: Embeddings, model: "gemini-embedding-001",
			body:     `{"input":["a","b"],"dimensions":256}`,
			wantURL:  "https://generativelanguage.googleapis.com/v1beta/openai/embeddings",
			wantPath: "/v1beta/openai/embeddings", wantAuth: bearer,
		},
	})
}

// The compatible mode is not translated: answers and errors pass through.
func TestGoogleOpenAIModeIsNotNative(t *testing.T) {
	v, err := New(Config{Kind: "google", APIKey: "k", API: "openai"})
	require.NoError(t, err)
	assert.False(t, v.Native())
	assert.Equal(t, "google", v.Kind())
	assert.True(t, v.Supports(ChatCompletions))
	assert.True(t, v.Supports(Embeddings))
	assert.False(t, v.Supports(Completions))
	body := []byte(`[{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}]`)
	assert.Equal(t, body, v.TranslateError(429, body))
	assert.Equal(t, Verdict{true, "auth"}, v.Classify(400, []byte(`{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}`)))

	resp := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader([]byte("data: x\n\n")))}
	v.TranslateResponse(resp, Attempt{Endpoint: ChatCompletions, Model: "m", Stream: true})
	got, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "data: x\n\n", string(got))

	// OpenAI's account fields are dropped (replay safety), the rest passes.
	out := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	require.NoError(t, v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: "gemini-2.5-flash",
		Body: []byte(`{"messages":[],"metadata":{"a":"b"},"user":"u","top_k":3}`)}))
	sent, _ := io.ReadAll(out.Body)
	assert.JSONEq(t, `{"messages":[],"top_k":3,"model":"gemini-2.5-flash"}`, string(sent))

	// The native kind is untouched by a compatible vendor.
	n, err := New(Config{Kind: "google", APIKey: "k", API: "native"})
	require.NoError(t, err)
	assert.True(t, n.Native())
}

func TestGoogleNativePrepare(t *testing.T) {
	in, err := os.ReadFile("testdata/google/requests/tools.openai.json")
	require.NoError(t, err)
	want, err := os.ReadFile("testdata/google/requests/tools.gemini.json")
	require.NoError(t, err)

	cases := []struct {
		name     string
		cfg      Config
		model    string
		stream   bool
		wantURL  string
		wantPath string
		wantRaw  string
	}{
		{"generateContent", Config{ID: "g", Kind: "google", APIKey: " AIza-key\n"}, "gemini-2.5-flash", false,
			"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
			"/v1beta/models/gemini-2.5-flash:generateContent", ""},
		{"stream", Config{ID: "g", Kind: "google", APIKey: "AIza-key", API: "native"}, "gemini-2.5-pro", true,
			"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
			"/v1beta/models/gemini-2.5-pro:streamGenerateContent", ""},
		{"models/ prefix", Config{ID: "g", Kind: "google", APIKey: "AIza-key"}, "models/gemini-2.0-flash", false,
			"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent",
			"/v1beta/models/gemini-2.0-flash:generateContent", ""},
		{"proxy base", Config{ID: "g", Kind: "google", APIKey: "AIza-key", BaseURL: "http://127.0.0.1:9000/gemini/"}, "gemini-2.5-flash", true,
			"http://127.0.0.1:9000/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
			"/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent", ""},
		{"model with a slash stays one segment", Config{ID: "g", Kind: "google", APIKey: "AIza-key"}, "tuned/../../x", false,
			"https://generativelanguage.googleapis.com/v1beta/models/tuned%2F..%2F..%2Fx:generateContent",
			"/v1beta/models/tuned/../../x:generateContent", "/v1beta/models/tuned%2F..%2F..%2Fx:generateContent"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Headers = http.Header{"X-Operator": {"yes"}}
			v, err := New(c.cfg)
			require.NoError(t, err)
			body := bytes.Clone(in)
			r := httptest.NewRequest(http.MethodPost, "http://router.example/v1/chat/completions?client=secret", bytes.NewReader(body))
			r.Header.Set("Authorization", "Bearer client-key")
			r.Header.Set("X-Goog-Api-Key", "client-key")
			r.Header.Set("Accept-Encoding", "gzip")
			r.Header.Set("Content-Length", "123")
			r.Header.Set("X-Client", "kept")
			out := r.Clone(context.Background())
			require.NoError(t, v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: c.model, Body: body, Stream: c.stream}))
			assert.Equal(t, in, body, "the client's body is never modified")

			assert.Equal(t, c.wantURL, out.URL.String())
			assert.Equal(t, c.wantPath, out.URL.Path)
			assert.Equal(t, c.wantRaw, out.URL.RawPath)
			assert.Empty(t, out.Host)
			assert.Equal(t, []string{"AIza-key"}, out.Header.Values("X-Goog-Api-Key"))
			assert.Empty(t, out.Header.Values("Authorization"), "the key goes in x-goog-api-key only")
			assert.NotContains(t, out.URL.String(), "AIza", "never the key in the URL")
			assert.Equal(t, "application/json", out.Header.Get("Content-Type"))
			assert.Empty(t, out.Header.Get("Accept-Encoding"), "the translator needs plain bytes")
			assert.Empty(t, out.Header.Get("Content-Length"))
			assert.Equal(t, "yes", out.Header.Get("X-Operator"))
			assert.Equal(t, "kept", out.Header.Get("X-Client"))

			got, err := io.ReadAll(out.Body)
			require.NoError(t, err)
			assert.EqualValues(t, len(got), out.ContentLength)
			assert.JSONEq(t, string(want), string(got))
			rc, err := out.GetBody()
			require.NoError(t, err)
			again, _ := io.ReadAll(rc)
			assert.Equal(t, got, again)
		})
	}
}

// A request the translation refuses leaves out as it was.
func TestGoogleNativePrepareError(t *testing.T) {
	v, err := New(Config{ID: "g", Kind: "google", APIKey: "AIza-key"})
	require.NoError(t, err)
	out := httptest.NewRequest(http.MethodPost, "http://router.example/v1/chat/completions", nil)
	out.Header.Set("Authorization", "Bearer client-key")
	before := out.URL.String()
	err = v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: "m", Body: []byte(`{"messages":[{"role":"user","content":"x"}],"n":3}`)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `vendor "g": n > 1`)
	assert.Equal(t, before, out.URL.String())
	assert.Equal(t, "Bearer client-key", out.Header.Get("Authorization"))
	assert.Empty(t, out.Header.Get("X-Goog-Api-Key"))

	err = v.Prepare(out, Attempt{Endpoint: Completions, Model: "m", Body: []byte(`{}`)})
	require.Error(t, err)
}

func TestGoogleConfig(t *testing.T) {
	bad := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"unknown api", Config{Kind: "google", APIKey: "k", API: "grpc"}, "api"},
		{"api_version", Config{Kind: "google", APIKey: "k", APIVersion: "v1"}, "api_version"},
		{"compat base with native api", Config{Kind: "google", APIKey: "k", BaseURL: "https://generativelanguage.googleapis.com/v1beta/openai/"}, "base_url"},
		{"version in native base", Config{Kind: "google", APIKey: "k", BaseURL: "https://generativelanguage.googleapis.com/v1beta"}, "base_url"},
		{"missing key", Config{Kind: "google"}, "api_key"},
		{"missing key openai", Config{Kind: "google", API: "openai"}, "api_key"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, c.field, ce.Field)
		})
	}

	v, err := New(Config{Kind: "google", APIKey: "k"})
	require.NoError(t, err)
	assert.Equal(t, "https://generativelanguage.googleapis.com", v.BaseURL().String())
	assert.Equal(t, "generativelanguage.googleapis.com:443", v.Dial())
	assert.True(t, v.Native())
	assert.True(t, v.Supports(ChatCompletions))
	assert.True(t, v.Supports(Embeddings))
	assert.False(t, v.Supports(Completions))

	v, err = New(Config{Kind: "google", APIKey: "k", API: "openai"})
	require.NoError(t, err)
	assert.Equal(t, "https://generativelanguage.googleapis.com/v1beta/openai", v.BaseURL().String())

	v, err = New(Config{Kind: "google", APIKey: "k", API: "openai", BaseURL: "http://localhost:8080/x"})
	require.NoError(t, err)
	assert.Equal(t, "http://localhost:8080/x", v.BaseURL().String())
	assert.Equal(t, "localhost:8080", v.Dial())
}

// Native embeddings answers pass through TranslateResponse untouched.
func TestGoogleNativeEmbeddingsPassThrough(t *testing.T) {
	v, err := New(Config{Kind: "google", APIKey: "k"})
	require.NoError(t, err)
	body := `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"model":"gemini-embedding-001"}`
	resp := &http.Response{Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader([]byte(body)))}
	v.TranslateResponse(resp, Attempt{Endpoint: Embeddings, Model: "gemini-embedding-001"})
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, body, string(got))
	assert.True(t, gjson.ValidBytes(got))
}

func TestGoogleClassify(t *testing.T) {
	runClassifyCases(t, "google", []classifyCase{
		{"API_KEY_INVALID in compat array", 400, `[{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}}]`, Verdict{true, "auth"}},
		{"API_KEY_INVALID in native object", 400, `{"error":{"code":400,"message":"API key expired. Please renew the API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US"},{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}`, Verdict{true, "auth"}},
		{"key message without details", 400, `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}`, Verdict{true, "auth"}},
		{"billing or region precondition", 400, `{"error":{"code":400,"message":"Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio.","status":"FAILED_PRECONDITION"}}`, Verdict{true, "auth"}},
		{"invalid argument", 400, `[{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \"foo\": Cannot find field.","status":"INVALID_ARGUMENT"}}]`, Verdict{false, "bad_request"}},
		// Client text echoed in a message must not look like a bad key.
		{"echoed API_KEY_INVALID", 400, `{"error":{"code":400,"message":"Invalid value \"API_KEY_INVALID\" at 'reason'","status":"INVALID_ARGUMENT"}}`, Verdict{false, "bad_request"}},
		{"resource exhausted", 429, `[{"error":{"code":429,"message":"You exceeded your current quota","status":"RESOURCE_EXHAUSTED"}}]`, Verdict{true, "rate_limited"}},
		{"permission denied", 403, `{"error":{"code":403,"message":"Method doesn't allow unregistered callers","status":"PERMISSION_DENIED"}}`, Verdict{true, "auth"}},
		{"unavailable", 503, `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`, Verdict{true, "overloaded"}},
		{"deadline exceeded", 504, `{"error":{"code":504,"message":"Deadline expired","status":"DEADLINE_EXCEEDED"}}`, Verdict{true, "timeout"}},
	})
}
