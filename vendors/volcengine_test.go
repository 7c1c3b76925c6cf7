package vendors

import "testing"

func TestVolcenginePrepare(t *testing.T) {
	bearer := [2]string{"Authorization", "Bearer ark-key"}
	runPrepareCases(t, []prepareCase{
		{
			name:     "default chat with model id",
			cfg:      Config{Kind: "volcengine", APIKey: "ark-key"},
			endpoint: ChatCompletions, model: "doubao-seed-1-6-250615",
			wantURL:  "https://ark.cn-beijing.volces.com/api/v3/chat/completions",
			wantPath: "/api/v3/chat/completions", wantAuth: bearer,
		},
		{
			name:     "endpoint id",
			cfg:      Config{Kind: "volcengine", APIKey: "ark-key"},
			endpoint: ChatCompletions, model: "ep-20250101123456-abcde",
			body:     `{"messages":[],"thinking":{"type":"disabled"}}`,
			wantURL:  "https://ark.cn-beijing.volces.com/api/v3/chat/completions",
			wantPath: "/api/v3/chat/completions", wantAuth: bearer,
		},
		{
			name:     "embeddings",
			cfg:      Config{Kind: "volcengine", APIKey: "ark-key"},
			endpoint: Embeddings, model: "doubao-embedding-text-240715",
			body:     `{"input":["x"],"encoding_format":"float"}`,
			wantURL:  "https://ark.cn-beijing.volces.com/api/v3/embeddings",
			wantPath: "/api/v3/embeddings", wantAuth: bearer,
		},
		{
			name:     "BytePlus base url with trailing slash",
			cfg:      Config{Kind: "volcengine", APIKey: "ark-key", BaseURL: "https://ark.ap-southeast.bytepluses.com/api/v3/"},
			endpoint: ChatCompletions, model: "seed-1-6-250915",
			wantURL:  "https://ark.ap-southeast.bytepluses.com/api/v3/chat/completions",
			wantPath: "/api/v3/chat/completions", wantAuth: bearer,
		},
	})
}

func TestVolcengineClassify(t *testing.T) {
	runClassifyCases(t, "volcengine", []classifyCase{
		{"closed endpoint", 400, `{"error":{"code":"InvalidEndpoint.ClosedEndpoint","message":"The requested endpoint is closed or temporarily unavailable. Request ID: 0217","param":"","type":"BadRequest"}}`, Verdict{true, "not_found"}},
		{"account overdue", 403, `{"error":{"code":"AccountOverdueError","message":"The request failed because your account has an overdue balance. Request ID: 0217","param":"","type":"Forbidden"}}`, Verdict{true, "quota"}},
		{"server overloaded", 429, `{"error":{"code":"ServerOverloaded","message":"The service is currently unable to handle additional requests due to server overload.","type":"TooManyRequests"}}`, Verdict{true, "overloaded"}},
		{"rpm exceeded", 429, `{"error":{"code":"RateLimitExceeded.EndpointRPMExceeded","message":"Request ID: 0217","type":"TooManyRequests"}}`, Verdict{true, "rate_limited"}},
		{"model not open", 404, `{"error":{"code":"ModelNotOpen","message":"Your account has not activated the model","type":"NotFound"}}`, Verdict{true, "not_found"}},
		{"model id access disabled", 404, `{"error":{"code":"InvalidEndpointOrModel.ModelIDAccessDisabled","message":"x","type":"NotFound"}}`, Verdict{true, "not_found"}},
		{"authentication", 401, `{"error":{"code":"AuthenticationError","message":"The API key in the request is missing or invalid.","type":"Unauthorized"}}`, Verdict{true, "auth"}},
		{"internal", 500, `{"error":{"code":"InternalServiceError","message":"x","type":"InternalServerError"}}`, Verdict{true, "server_error"}},
		{"input moderation is the request's", 400, `{"error":{"code":"InputTextRiskDetection","message":"The request failed because the input text may contain sensitive information.","type":"BadRequest"}}`, Verdict{false, "bad_request"}},
		{"parameter error", 400, `{"error":{"code":"InvalidParameter","message":"A parameter specified in the request is not valid","type":"BadRequest"}}`, Verdict{false, "bad_request"}},
		// The code must be the error's code, not text quoting it.
		{"code only in message", 400, `{"error":{"code":"InvalidParameter","message":"AccountOverdueError InvalidEndpoint.ClosedEndpoint","type":"BadRequest"}}`, Verdict{false, "bad_request"}},
	})
}
