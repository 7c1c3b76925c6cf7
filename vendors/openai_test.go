package vendors

import (
	"net/http"
	"testing"
)

func TestOpenAIPrepare(t *testing.T) {
	bearer := [2]string{"Authorization", "Bearer sk-test"}
	runPrepareCases(t, []prepareCase{
		{
			name:     "default chat",
			cfg:      Config{ID: "openai", Kind: "openai", APIKey: "sk-test"},
			endpoint: ChatCompletions, model: "gpt-4o",
			wantURL:  "https://api.openai.com/v1/chat/completions",
			wantPath: "/v1/chat/completions", wantAuth: bearer,
		},
		{
			name:     "completions",
			cfg:      Config{Kind: "openai", APIKey: "sk-test"},
			endpoint: Completions, model: "gpt-3.5-turbo-instruct",
			body:     `{"model":"x","prompt":"Say hi","max_tokens":5,"logit_bias":{"50256":-100}}`,
			wantURL:  "https://api.openai.com/v1/completions",
			wantPath: "/v1/completions", wantAuth: bearer,
		},
		{
			name:     "embeddings",
			cfg:      Config{Kind: "openai", APIKey: "sk-test"},
			endpoint: Embeddings, model: "text-embedding-3-small",
			body:     `{"input":["a","b"],"dimensions":256,"encoding_format":"base64"}`,
			wantURL:  "https://api.openai.com/v1/embeddings",
			wantPath: "/v1/embeddings", wantAuth: bearer,
		},
		{
			name:     "base url with trailing slash",
			cfg:      Config{Kind: "openai", APIKey: "sk-test", BaseURL: "https://api.openai.com/v1/"},
			endpoint: ChatCompletions, model: "gpt-4o",
			wantURL:  "https://api.openai.com/v1/chat/completions",
			wantPath: "/v1/chat/completions", wantAuth: bearer,
		},
		{
			name:     "path prefix on a local proxy",
			cfg:      Config{Kind: "openai", APIKey: "sk-test", BaseURL: "http://127.0.0.1:8080/proxy/v1"},
			endpoint: ChatCompletions, model: "gpt-4o-mini",
			wantURL:  "http://127.0.0.1:8080/proxy/v1/chat/completions",
			wantPath: "/proxy/v1/chat/completions", wantAuth: bearer,
		},
		{
			name:     "escaped base path is preserved",
			cfg:      Config{Kind: "openai", APIKey: "sk-test", BaseURL: "https://gw.example.com/a%2Fb/v1/"},
			endpoint: ChatCompletions, model: "gpt-4o",
			wantURL:  "https://gw.example.com/a%2Fb/v1/chat/completions",
			wantPath: "/a/b/v1/chat/completions", wantRawPath: "/a%2Fb/v1/chat/completions", wantAuth: bearer,
		},
		{
			name: "extra headers",
			cfg: Config{Kind: "openai", APIKey: "sk-test", Headers: http.Header{
				"OpenAI-Organization": {"org-123"},
				"OpenAI-Project":      {"proj_abc"},
			}},
			endpoint: ChatCompletions, model: "gpt-4o",
			wantURL:  "https://api.openai.com/v1/chat/completions",
			wantPath: "/v1/chat/completions", wantAuth: bearer,
		},
	})
}

func TestOpenAIClassify(t *testing.T) {
	runClassifyCases(t, "openai", []classifyCase{
		{"insufficient_quota", 429, `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`, Verdict{true, "quota"}},
		{"slow_down", 503, `{"error":{"message":"Please reduce your request rate.","type":"server_error","code":"slow_down"}}`, Verdict{true, "overloaded"}},
		// xAI's bad-key rule is xAI's only.
		{"incorrect key as 400", 400, `{"error":"Incorrect API key provided: sk-***"}`, Verdict{false, "bad_request"}},
	})
}
