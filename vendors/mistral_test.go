package vendors

import "testing"

func TestMistralPrepare(t *testing.T) {
	bearer := [2]string{"Authorization", "Bearer ms-key"}
	runPrepareCases(t, []prepareCase{
		{
			name:     "default chat keeps safe_prompt and random_seed",
			cfg:      Config{Kind: "mistral", APIKey: "ms-key"},
			endpoint: ChatCompletions, model: "mistral-large-latest",
			body:     `{"model":"mistral-large","messages":[{"role":"user","content":"hi"}],"safe_prompt":true,"random_seed":42,"tool_choice":"any"}`,
			wantURL:  "https://api.mistral.ai/v1/chat/completions",
			wantPath: "/v1/chat/completions", wantAuth: bearer,
		},
		{
			name:     "rich body",
			cfg:      Config{Kind: "mistral", APIKey: "ms-key"},
			endpoint: ChatCompletions, model: "mistral-small-latest", body: mistralRichBody,
			wantURL:  "https://api.mistral.ai/v1/chat/completions",
			wantPath: "/v1/chat/completions", wantAuth: bearer,
		},
		{
			name:     "embeddings",
			cfg:      Config{Kind: "mistral", APIKey: "ms-key"},
			endpoint: Embeddings, model: "mistral-embed",
			body:     `{"input":["a","b"],"output_dtype":"float"}`,
			wantURL:  "https://api.mistral.ai/v1/embeddings",
			wantPath: "/v1/embeddings", wantAuth: bearer,
		},
		{
			name:     "custom base url with trailing slash",
			cfg:      Config{Kind: "mistral", APIKey: "ms-key", BaseURL: "https://eu.api.mistral.ai/v1/"},
			endpoint: ChatCompletions, model: "codestral-latest", body: mistralRichBody,
			wantURL:  "https://eu.api.mistral.ai/v1/chat/completions",
			wantPath: "/v1/chat/completions", wantAuth: bearer,
		},
	})
}

func TestMistralClassify(t *testing.T) {
	runClassifyCases(t, "mistral", []classifyCase{
		// Mistral rejects unknown fields; the client (or the router's
		// translation) must fix the request, another vendor will not help.
		{"extra_forbidden", 422, `{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","stream_options"],"msg":"Extra inputs are not permitted","input":{"include_usage":true}}]},"type":"invalid_request_error","param":null,"code":null}`, Verdict{false, "bad_request"}},
		{"invalid tool call id", 400, `{"object":"error","message":"Tool call id was call_abc but must be a-z, A-Z, 0-9, with a length of 9.","type":"invalid_request_message_order","param":null,"code":"3280"}`, Verdict{false, "bad_request"}},
		{"unauthorized", 401, `{"message":"Unauthorized","request_id":"abc"}`, Verdict{true, "auth"}},
		{"capacity", 429, `{"object":"error","message":"Service tier capacity exceeded for this model.","type":"service_tier_capacity_exceeded","code":"3505"}`, Verdict{true, "rate_limited"}},
	})
}

// mistralRichBody is richBody reduced to fields Mistral accepts: Mistral
// answers 422 to any other, so Prepare removes them (see sanitize.go).
const mistralRichBody = `{"model":"client-model","messages":[{"role":"user","content":"h\u00e9llo \"q\" ✓"}],` +
	`"temperature":0.7,"safe_prompt":true,"random_seed":12345678901234567890,` +
	`"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object",` +
	`"properties":{"a":{"type":"array","items":[1,2.50,{"b":null}]}}}}},` +
	`"n":1e2, "prediction" :  { "type" : "content" , "content" : "" } }`
