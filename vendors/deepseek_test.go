package vendors

import "testing"

func TestDeepSeekPrepare(t *testing.T) {
	bearer := [2]string{"Authorization", "Bearer ds-key"}
	runPrepareCases(t, []prepareCase{
		{
			name:     "default has no /v1",
			cfg:      Config{Kind: "deepseek", APIKey: "ds-key"},
			endpoint: ChatCompletions, model: "deepseek-chat",
			wantURL:  "https://api.deepseek.com/chat/completions",
			wantPath: "/chat/completions", wantAuth: bearer,
		},
		{
			name:     "v1 alias base url",
			cfg:      Config{Kind: "deepseek", APIKey: "ds-key", BaseURL: "https://api.deepseek.com/v1"},
			endpoint: ChatCompletions, model: "deepseek-reasoner",
			body:     `{"messages":[{"role":"user","content":"x"}],"thinking":{"type":"enabled"},"stream_options":{"include_usage":true}}`,
			wantURL:  "https://api.deepseek.com/v1/chat/completions",
			wantPath: "/v1/chat/completions", wantAuth: bearer,
		},
		{
			name:     "root base url with trailing slash",
			cfg:      Config{Kind: "deepseek", APIKey: "ds-key", BaseURL: "https://api.deepseek.com/"},
			endpoint: ChatCompletions, model: "deepseek-chat",
			wantURL:  "https://api.deepseek.com/chat/completions",
			wantPath: "/chat/completions", wantAuth: bearer,
		},
	})
}

func TestDeepSeekClassify(t *testing.T) {
	runClassifyCases(t, "deepseek", []classifyCase{
		{"insufficient balance", 402, `{"error":{"message":"Insufficient Balance","type":"unknown_error","param":null,"code":"invalid_request_error"}}`, Verdict{true, "quota"}},
		{"server overloaded", 503, `{"error":{"message":"Server Overloaded","type":"unknown_error"}}`, Verdict{true, "overloaded"}},
		{"invalid format", 400, `{"error":{"message":"Invalid format","type":"invalid_request_error"}}`, Verdict{false, "bad_request"}},
		{"invalid parameters", 422, `{"error":{"message":"Invalid Parameters","type":"invalid_request_error"}}`, Verdict{false, "bad_request"}},
		{"authentication fails", 401, `{"error":{"message":"Authentication Fails, Your api key: ****abcd is invalid","type":"authentication_error"}}`, Verdict{true, "auth"}},
		// Volcengine's codes mean nothing here.
		{"foreign code", 400, `{"error":{"code":"InvalidEndpoint.ClosedEndpoint","message":"x"}}`, Verdict{false, "bad_request"}},
	})
}
