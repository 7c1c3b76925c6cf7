package vendors

import "testing"

func TestGooglePrepare(t *testing.T) {
	bearer := [2]string{"Authorization", "Bearer AIza-key"}
	runPrepareCases(t, []prepareCase{
		{
			name:     "default chat",
			cfg:      Config{Kind: "google", APIKey: "AIza-key"},
			endpoint: ChatCompletions, model: "gemini-2.5-flash",
			wantURL:  "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
			wantPath: "/v1beta/openai/chat/completions", wantAuth: bearer,
		},
		{
			name:     "extra_body google config untouched",
			cfg:      Config{Kind: "google", APIKey: "AIza-key", BaseURL: "https://generativelanguage.googleapis.com/v1beta/openai/"},
			endpoint: ChatCompletions, model: "gemini-2.5-pro",
			body:     `{"messages":[],"extra_body":{"google":{"thinking_config":{"include_thoughts":true}}},"top_k":40}`,
			wantURL:  "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
			wantPath: "/v1beta/openai/chat/completions", wantAuth: bearer,
		},
		{
			name:     "embeddings",
			cfg:      Config{Kind: "google", APIKey: "AIza-key"},
			endpoint: Embeddings, model: "gemini-embedding-001",
			body:     `{"input":"x"}`,
			wantURL:  "https://generativelanguage.googleapis.com/v1beta/openai/embeddings",
			wantPath: "/v1beta/openai/embeddings", wantAuth: bearer,
		},
	})
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
