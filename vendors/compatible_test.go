package vendors

import (
	"net/http"
	"testing"
)

func TestCompatiblePrepare(t *testing.T) {
	runPrepareCases(t, []prepareCase{
		{
			name:     "with key",
			cfg:      Config{Kind: "openai_compatible", BaseURL: "https://api.groq.com/openai/v1", APIKey: "gsk-key"},
			endpoint: ChatCompletions, model: "llama-3.3-70b-versatile",
			wantURL:  "https://api.groq.com/openai/v1/chat/completions",
			wantPath: "/openai/v1/chat/completions", wantAuth: [2]string{"Authorization", "Bearer gsk-key"},
		},
		{
			name:     "without key sends no credential",
			cfg:      Config{Kind: "openai_compatible", BaseURL: "http://localhost:11434/v1/"},
			endpoint: ChatCompletions, model: "llama3.2:3b",
			wantURL:  "http://localhost:11434/v1/chat/completions",
			wantPath: "/v1/chat/completions",
		},
		{
			name:     "vLLM completions with vendor-specific fields",
			cfg:      Config{Kind: "openai_compatible", BaseURL: "http://10.0.0.5:8000/v1"},
			endpoint: Completions, model: "Qwen/Qwen2.5-7B-Instruct",
			body:     `{"prompt":"x","top_k":20,"min_p":0.05,"guided_json":{"type":"object"},"repetition_penalty":1.1}`,
			wantURL:  "http://10.0.0.5:8000/v1/completions",
			wantPath: "/v1/completions",
		},
		{
			name:     "embeddings at the server root",
			cfg:      Config{Kind: "openai_compatible", BaseURL: "http://embed.internal/", APIKey: "k"},
			endpoint: Embeddings, model: "bge-m3",
			body:     `{"input":["a"]}`,
			wantURL:  "http://embed.internal/embeddings",
			wantPath: "/embeddings", wantAuth: [2]string{"Authorization", "Bearer k"},
		},
		{
			name:     "IPv6 host and path prefix",
			cfg:      Config{Kind: "openai_compatible", BaseURL: "http://[::1]:8080/proxy/v1"},
			endpoint: ChatCompletions, model: "m",
			wantURL:  "http://[::1]:8080/proxy/v1/chat/completions",
			wantPath: "/proxy/v1/chat/completions",
		},
		{
			// Without a key, an operator-supplied credential header is how a
			// server with unusual auth is reached; it must survive.
			name: "without key, operator auth header kept",
			cfg: Config{Kind: "openai_compatible", BaseURL: "https://llm.internal/v1",
				Headers: http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}},
			endpoint: ChatCompletions, model: "m",
			wantURL:  "https://llm.internal/v1/chat/completions",
			wantPath: "/v1/chat/completions", wantAuth: [2]string{"Authorization", "Basic dXNlcjpwYXNz"},
		},
	})
}

func TestCompatibleClassify(t *testing.T) {
	runClassifyCases(t, "openai_compatible", []classifyCase{
		{"ollama model not found", 404, `{"error":"model \"llama9\" not found, try pulling it first"}`, Verdict{true, "not_found"}},
		{"vllm bad request", 400, `{"object":"error","message":"This model's maximum context length is 8192 tokens.","type":"BadRequestError","param":null,"code":400}`, Verdict{false, "bad_request"}},
		{"groq rate limit", 429, `{"error":{"message":"Rate limit reached for model","type":"tokens","code":"rate_limit_exceeded"}}`, Verdict{true, "rate_limited"}},
		{"no body", 502, ``, Verdict{true, "server_error"}},
	})
}
