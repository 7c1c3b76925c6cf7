package vendors

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each kind's health probe is its free metadata call, with the vendor's
// credentials and nothing of the client's.
func TestProbeRequests(t *testing.T) {
	cases := []struct {
		kind, model, url, authName, authValue string
		checksModel                           bool
	}{
		{"openai", "gpt-4o", "https://api.openai.com/v1/models/gpt-4o", "Authorization", "Bearer " + testKey, true},
		{"mistral", "mistral-large-latest", "https://api.mistral.ai/v1/models/mistral-large-latest", "Authorization", "Bearer " + testKey, true},
		{"x", "grok-4", "https://api.x.ai/v1/models/grok-4", "Authorization", "Bearer " + testKey, true},
		{"deepseek", "deepseek-chat", "https://api.deepseek.com/models", "Authorization", "Bearer " + testKey, false},
		{"openai_compatible", "llama", "http://127.0.0.1:8000/v1/models", "Authorization", "Bearer " + testKey, false},
		{"azure", "my-deployment", "https://myres.openai.azure.com/openai/models?api-version=2024-10-21", "Api-Key", testKey, false},
		{"anthropic", "claude-sonnet-4-5", "https://api.anthropic.com/v1/models/claude-sonnet-4-5", "X-Api-Key", testKey, true},
		{"google", "gemini-2.5-flash", "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash", "X-Goog-Api-Key", testKey, true},
		{"aws", "anthropic.claude-3-haiku-20240307-v1:0", "https://bedrock.us-east-1.amazonaws.com/foundation-models/anthropic.claude-3-haiku-20240307-v1%3A0",
			"Authorization", "Bearer " + testKey, true},
		{"aws", "us.anthropic.claude-sonnet-4-20250514-v1:0", "https://bedrock.us-east-1.amazonaws.com/inference-profiles/us.anthropic.claude-sonnet-4-20250514-v1%3A0",
			"Authorization", "Bearer " + testKey, true},
	}
	for _, c := range cases {
		t.Run(c.kind+"/"+c.model, func(t *testing.T) {
			v := newTestVendor(t, c.kind)
			require.True(t, v.CanProbe())
			out := httptest.NewRequest(http.MethodPost, "http://router.example/v1/chat/completions", strings.NewReader(`{"x":1}`))
			out.Header.Set("Authorization", "Bearer client-key")
			checks, err := v.ProbeRequest(out, c.model)
			require.NoError(t, err)
			assert.Equal(t, c.checksModel, checks)
			assert.Equal(t, http.MethodGet, out.Method)
			assert.Equal(t, c.url, out.URL.String())
			assert.Equal(t, c.authValue, out.Header.Get(c.authName))
			assert.NotContains(t, out.Header.Values("Authorization"), "Bearer client-key")
			assert.Zero(t, out.ContentLength)
			assert.Empty(t, out.Header.Get("Content-Type"))
		})
	}
	for _, k := range []string{"volcengine", "vertex"} {
		v := newTestVendor(t, k)
		assert.False(t, v.CanProbe(), k)
		_, err := v.ProbeRequest(httptest.NewRequest(http.MethodGet, "http://x/", nil), "m")
		assert.ErrorIs(t, err, ErrNoProbe)
	}
}

// Bedrock's control plane is signed as the runtime is, for its own host.
func TestBedrockProbeIsSigned(t *testing.T) {
	v := newAWSTestVendor(t, Config{Kind: "aws", Region: "eu-west-3", AccessKeyID: "AKIDEXAMPLE",
		SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"})
	out := httptest.NewRequest(http.MethodPost, "http://router.example/v1/chat/completions", nil)
	_, err := v.ProbeRequest(out, "amazon.nova-pro-v1:0")
	require.NoError(t, err)
	assert.Equal(t, "bedrock.eu-west-3.amazonaws.com", out.URL.Host)
	auth := out.Header.Get("Authorization")
	assert.True(t, strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), auth)
	assert.Contains(t, auth, "/eu-west-3/bedrock/aws4_request")
	assert.NotEmpty(t, out.Header.Get("X-Amz-Date"))
}

func TestProbeOutcome(t *testing.T) {
	v := newTestVendor(t, "openai")
	ok, seen, failure := v.ProbeOutcome(200, nil, []byte(`{"id":"gpt-4o"}`), "gpt-4o", true)
	assert.True(t, ok)
	assert.True(t, seen)
	assert.Empty(t, failure)
	ok, seen, _ = v.ProbeOutcome(200, nil, []byte(`{"data":[{"id":"a"},{"id":"gpt-4o"}]}`), "gpt-4o", false)
	assert.True(t, ok)
	assert.True(t, seen, "the list names it")
	_, seen, _ = v.ProbeOutcome(200, nil, []byte(`{"data":[{"id":"a"}]}`), "gpt-4o", false)
	assert.False(t, seen)
	_, _, failure = v.ProbeOutcome(401, nil, []byte(`{"error":{"message":"bad key"}}`), "gpt-4o", true)
	assert.Equal(t, ReasonAuth, failure)
	_, _, failure = v.ProbeOutcome(404, nil, []byte(`{"error":{"message":"no such model"}}`), "gpt-4o", true)
	assert.Equal(t, ReasonNotFound, failure)
	_, _, failure = v.ProbeOutcome(404, nil, nil, "gpt-4o", false)
	assert.Empty(t, failure, "a missing list says nothing about the model")
	for _, status := range []int{429, 500, 503} {
		ok, _, failure = v.ProbeOutcome(status, nil, nil, "gpt-4o", true)
		assert.False(t, ok)
		assert.Empty(t, failure, "busy proves nothing: %d", status)
	}
}
