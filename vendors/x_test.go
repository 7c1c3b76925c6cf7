package vendors

import "testing"

func TestXPrepare(t *testing.T) {
	bearer := [2]string{"Authorization", "Bearer xai-key"}
	runPrepareCases(t, []prepareCase{
		{
			name:     "default chat",
			cfg:      Config{Kind: "x", APIKey: "xai-key"},
			endpoint: ChatCompletions, model: "grok-4",
			wantURL:  "https://api.x.ai/v1/chat/completions",
			wantPath: "/v1/chat/completions", wantAuth: bearer,
		},
		{
			name:     "search parameters untouched",
			cfg:      Config{Kind: "x", APIKey: "xai-key", BaseURL: "https://api.x.ai/v1/"},
			endpoint: ChatCompletions, model: "grok-3-mini",
			body:     `{"messages":[],"search_parameters":{"mode":"auto","sources":[{"type":"web"}]},"reasoning_effort":"high"}`,
			wantURL:  "https://api.x.ai/v1/chat/completions",
			wantPath: "/v1/chat/completions", wantAuth: bearer,
		},
	})
}

func TestXClassify(t *testing.T) {
	runClassifyCases(t, "x", []classifyCase{
		{"bad key as plain-string error", 400, `{"code":"Client specified an invalid argument","error":"Incorrect API key provided: xa***Bc. You can obtain an API key from https://console.x.ai."}`, Verdict{true, "auth"}},
		{"bad key as OpenAI shape", 400, `{"error":{"message":"Incorrect API key provided: xa***Bc.","type":"invalid_request_error"}}`, Verdict{true, "auth"}},
		// Client text echoed inside a validation message must not get the
		// router's key marked as broken.
		{"echoed text is not a bad key", 400, `{"code":"Client specified an invalid argument","error":"Invalid message content: 'Incorrect API key provided'"}`, Verdict{false, "bad_request"}},
		{"ordinary 400", 400, `{"code":"Client specified an invalid argument","error":"Model grok-9 does not exist"}`, Verdict{false, "bad_request"}},
		{"bad key text on a 422 is still the request's", 422, `{"error":"Incorrect API key provided"}`, Verdict{false, "bad_request"}},
		{"403 no credits", 403, `{"code":"The caller does not have permission to execute the specified operation","error":"Your team has no credits"}`, Verdict{true, "auth"}},
	})
}
