package vendors

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
