package vendors

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAzurePrepare(t *testing.T) {
	apiKey := [2]string{"Api-Key", "az-key"}
	classic := func(base, version string) Config {
		return Config{ID: "azure-eu", Kind: "azure", APIKey: "az-key", BaseURL: base, APIVersion: version}
	}
	runPrepareCases(t, []prepareCase{
		{
			name:     "classic default api-version",
			cfg:      classic("https://myres.openai.azure.com", ""),
			endpoint: ChatCompletions, model: "gpt-4o-prod",
			wantURL:  "https://myres.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21",
			wantPath: "/openai/deployments/gpt-4o-prod/chat/completions", wantAuth: apiKey,
		},
		{
			name:     "classic trailing slash, explicit preview version, embeddings",
			cfg:      classic("https://myres.openai.azure.com/", "2025-04-01-preview"),
			endpoint: Embeddings, model: "embed-large",
			body:     `{"input":"hello","model":"text-embedding-3-large"}`,
			wantURL:  "https://myres.openai.azure.com/openai/deployments/embed-large/embeddings?api-version=2025-04-01-preview",
			wantPath: "/openai/deployments/embed-large/embeddings", wantAuth: apiKey,
		},
		{
			name:     "classic completions",
			cfg:      classic("https://myres.openai.azure.com", "2024-10-21"),
			endpoint: Completions, model: "instruct",
			body:     `{"prompt":"hi"}`,
			wantURL:  "https://myres.openai.azure.com/openai/deployments/instruct/completions?api-version=2024-10-21",
			wantPath: "/openai/deployments/instruct/completions", wantAuth: apiKey,
		},
		{
			name:     "classic deployment needing escaping",
			cfg:      classic("https://myres.openai.azure.com", ""),
			endpoint: ChatCompletions, model: "my dep/v2?x",
			wantURL:     "https://myres.openai.azure.com/openai/deployments/my%20dep%2Fv2%3Fx/chat/completions?api-version=2024-10-21",
			wantPath:    "/openai/deployments/my dep/v2?x/chat/completions",
			wantRawPath: "/openai/deployments/my%20dep%2Fv2%3Fx/chat/completions",
			wantAuth:    apiKey,
		},
		{
			// A space is escaped the same way by PathEscape and by Go's
			// default path encoding, so no RawPath is needed.
			name:     "classic deployment with a space",
			cfg:      classic("https://myres.openai.azure.com", ""),
			endpoint: ChatCompletions, model: "my dep",
			wantURL:  "https://myres.openai.azure.com/openai/deployments/my%20dep/chat/completions?api-version=2024-10-21",
			wantPath: "/openai/deployments/my dep/chat/completions", wantAuth: apiKey,
		},
		{
			name:     "classic behind a path prefix",
			cfg:      classic("http://127.0.0.1:8080/proxy", ""),
			endpoint: ChatCompletions, model: "gpt-4o",
			wantURL:  "http://127.0.0.1:8080/proxy/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
			wantPath: "/proxy/openai/deployments/gpt-4o/chat/completions", wantAuth: apiKey,
		},
		{
			name:     "api-version is query-escaped",
			cfg:      classic("https://myres.openai.azure.com", "2024 10&x=1"),
			endpoint: ChatCompletions, model: "d",
			wantURL:  "https://myres.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024+10%26x%3D1",
			wantPath: "/openai/deployments/d/chat/completions", wantAuth: apiKey,
		},
		{
			name:     "v1 by base url",
			cfg:      classic("https://myres.openai.azure.com/openai/v1", ""),
			endpoint: ChatCompletions, model: "gpt-4o-prod",
			wantURL:  "https://myres.openai.azure.com/openai/v1/chat/completions",
			wantPath: "/openai/v1/chat/completions", wantAuth: apiKey,
		},
		{
			name:     "v1 by base url with trailing slash, embeddings",
			cfg:      classic("https://myproj.services.ai.azure.com/openai/v1/", ""),
			endpoint: Embeddings, model: "embed-large",
			body:     `{"input":["a"]}`,
			wantURL:  "https://myproj.services.ai.azure.com/openai/v1/embeddings",
			wantPath: "/openai/v1/embeddings", wantAuth: apiKey,
		},
		{
			name:     "v1 by api_version",
			cfg:      classic("https://myres.openai.azure.com", "v1"),
			endpoint: ChatCompletions, model: "grok-3-deployment",
			wantURL:  "https://myres.openai.azure.com/openai/v1/chat/completions",
			wantPath: "/openai/v1/chat/completions", wantAuth: apiKey,
		},
		{
			name:     "v1 by api_version and base url is not doubled",
			cfg:      classic("https://myres.openai.azure.com/openai/v1/", "v1"),
			endpoint: ChatCompletions, model: "d",
			wantURL:  "https://myres.openai.azure.com/openai/v1/chat/completions",
			wantPath: "/openai/v1/chat/completions", wantAuth: apiKey,
		},
		{
			name:     "v1 deployment with a slash stays in the body",
			cfg:      classic("https://myres.openai.azure.com", "v1"),
			endpoint: ChatCompletions, model: "team/dep",
			wantURL:  "https://myres.openai.azure.com/openai/v1/chat/completions",
			wantPath: "/openai/v1/chat/completions", wantAuth: apiKey,
		},
		{
			name: "extra headers",
			cfg: Config{Kind: "azure", APIKey: "az-key", BaseURL: "https://myres.openai.azure.com",
				Headers: http.Header{"X-Ms-Useragent": {"llm-router"}}},
			endpoint: ChatCompletions, model: "d",
			wantURL:  "https://myres.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21",
			wantPath: "/openai/deployments/d/chat/completions", wantAuth: apiKey,
		},
	})
}

func TestAzureBaseURL(t *testing.T) {
	cases := []struct{ base, version, want string }{
		{"https://myres.openai.azure.com", "", "https://myres.openai.azure.com"},
		{"https://myres.openai.azure.com/", "v1", "https://myres.openai.azure.com/openai/v1"},
		{"https://myres.openai.azure.com/openai/v1/", "", "https://myres.openai.azure.com/openai/v1/"},
		{"https://myres.openai.azure.com/OpenAI/V1", "v1", "https://myres.openai.azure.com/OpenAI/V1"},
	}
	for _, c := range cases {
		v, err := New(Config{Kind: "azure", APIKey: "k", BaseURL: c.base, APIVersion: c.version})
		require.NoError(t, err)
		assert.Equal(t, c.want, v.BaseURL().String())
	}
}

func TestAzureClassify(t *testing.T) {
	runClassifyCases(t, "azure", []classifyCase{
		{"content filter is the request's", 400, `{"error":{"message":"The response was filtered","type":null,"param":"prompt","code":"content_filter","status":400}}`, Verdict{false, "bad_request"}},
		{"deployment not found", 404, `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}`, Verdict{true, "not_found"}},
		{"bad key", 401, `{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint."}}`, Verdict{true, "auth"}},
		{"throttled", 429, `{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded call rate limit."}}`, Verdict{true, "rate_limited"}},
	})
}
