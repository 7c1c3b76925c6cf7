package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// DESIGN rule under test: whatever the router answers must validate against
// the OpenAI OpenAPI spec (testdata/openai-openapi.yaml, a copy of the
// project's shared spec, kept here so that a clone is self-contained).

const specPath = "testdata/openai-openapi.yaml"

var (
	specOnce sync.Once
	specDoc  *openapi3.T
	specErr  error
)

// spec loads the OpenAI spec once per test binary. It is not run through
// doc.Validate, which trips on the spec's $recursiveRef; the component schemas
// used here resolve and validate fine.
func spec(t *testing.T) *openapi3.T {
	t.Helper()
	specOnce.Do(func() {
		start := time.Now()
		loader := openapi3.NewLoader()
		loader.IsExternalRefsAllowed = false
		specDoc, specErr = loader.LoadFromFile(specPath)
		t.Logf("loaded %s in %s", specPath, time.Since(start).Round(time.Millisecond))
	})
	require.NoError(t, specErr, "loading %s", specPath)
	return specDoc
}

// validateAgainst validates a JSON document against a component schema of
// the spec, returning every violation.
func validateAgainst(t *testing.T, schemaName string, doc []byte) error {
	t.Helper()
	ref, ok := spec(t).Components.Schemas[schemaName]
	require.True(t, ok, "the spec has no component schema %s", schemaName)
	require.NotNil(t, ref.Value, "schema %s is unresolved", schemaName)
	var v any
	require.NoError(t, json.Unmarshal(doc, &v), "not JSON: %s", doc)
	// Details off: the schema dumps are long; the failing path and reason are
	// what a reader needs, and assertConforms prints the document.
	return ref.Value.VisitJSON(v, openapi3.MultiErrors(), openapi3.VisitAsResponse(),
		openapi3.DisableSchemaErrorDetails())
}

// assertConforms fails the test when doc does not validate against the schema.
func assertConforms(t *testing.T, schemaName string, doc []byte, what string) {
	t.Helper()
	if err := validateAgainst(t, schemaName, doc); err != nil {
		t.Errorf("%s does not validate against #/components/schemas/%s:\n%v\nbody: %s", what, schemaName, err, doc)
	}
}

// The validator is not vacuous: the schemas used here reject documents that
// break them and accept the spec's own kind of documents.
func TestSpecSchemasRejectNonConformingDocuments(t *testing.T) {
	bad := []struct{ schema, doc string }{
		{"ErrorResponse", `{"error":{"message":"m","type":"t"}}`},                       // param, code required
		{"ErrorResponse", `{"error":{"message":"m","type":"t","param":null,"code":5}}`}, // code: string or null
		{"ErrorResponse", `{"message":"m","type":"t","param":null,"code":null}`},        // not wrapped
		{"ListModelsResponse", `{"object":"list","data":[{"id":"x","object":"model"}]}`},
		{"ListModelsResponse", `{"object":"page","data":[]}`},
		{"CreateChatCompletionResponse", `{"id":"c","object":"chat.completion","created":1,"model":"m",
			"choices":[{"index":0,"message":{"role":"assistant","content":"x","refusal":null},"logprobs":null,"finish_reason":"done"}]}`},
		{"CreateChatCompletionResponse", `{"id":"c","object":"chat.completion","created":1,"model":"m",
			"choices":[{"index":0,"message":{"role":"assistant","content":"x","refusal":null},"finish_reason":"stop"}]}`}, // logprobs required
		{"CreateChatCompletionResponse", `{"id":"c","object":"chat.completion","created":1,"model":"m",
			"choices":[{"index":0,"message":{"role":"assistant","content":5,"refusal":null},"logprobs":null,"finish_reason":"stop"}]}`},
		{"CreateChatCompletionStreamResponse", `{"id":"c","object":"chat.completion","created":1,"model":"m",
			"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}`},
		{"CreateChatCompletionStreamResponse", `{"id":"c","object":"chat.completion.chunk","created":"1","model":"m","choices":[]}`},
		{"CreateChatCompletionStreamResponse", `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m",
			"choices":[],"usage":{"prompt_tokens":"7"}}`},
	}
	for _, c := range bad {
		assert.Error(t, validateAgainst(t, c.schema, []byte(c.doc)), "%s accepted %s", c.schema, c.doc)
	}
	good := []struct{ schema, doc string }{
		{"ErrorResponse", `{"error":{"message":"m","type":"t","param":null,"code":null}}`},
		{"ListModelsResponse", `{"object":"list","data":[{"id":"x","object":"model","created":0,"owned_by":"o"}]}`},
		{"CreateChatCompletionStreamResponse", `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m",
			"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}`},
		{"CreateChatCompletionStreamResponse", `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m",
			"choices":[],"usage":null}`},
	}
	for _, c := range good {
		assert.NoError(t, validateAgainst(t, c.schema, []byte(c.doc)), "%s rejected %s", c.schema, c.doc)
	}
}

// Every error the router produces itself is an OpenAI ErrorResponse.
func TestConformanceErrors(t *testing.T) {
	alpha := startFake(t, "alpha")
	down1 := startFailingFake(t, "down1", http.StatusServiceUnavailable)
	down2 := startFailingFake(t, "down2", http.StatusServiceUnavailable)
	limited := startFailingFake(t, "limited", http.StatusTooManyRequests)
	locked := startFailingFake(t, "locked", http.StatusUnauthorized)
	stuck := startFakeWith(t, &fakeVendor{name: "stuck", stall: 30 * time.Second})
	startRouter(t, router([]string{"max_request_body 4KiB", "ttft_timeout 1s"},
		vendor("alpha", alpha, "e2e-model"),
		vendor("down1", down1, "doomed-model"),
		vendor("down2", down2, "doomed-model"),
		vendor("limited", limited, "limited-model"),
		vendor("locked", locked, "locked-model"),
		vendor("stuck", stuck, "slow-model"),
	))

	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct {
		name           string
		method, path   string
		body           string
		headers        []string
		status         int
		errType, code  string
		attempts       int    // > 0: the error lists this many failed attempts
		allow          string // for 405
		routingHeaders bool   // X-LLM-Routing / X-LLM-Attempts expected
	}{
		{name: "bad JSON", method: "POST", path: "/v1/chat/completions", body: `{"model":"e2e-model",`,
			status: 400, errType: "invalid_request_error", code: "invalid_json"},
		{name: "not an object", method: "POST", path: "/v1/chat/completions", body: `["e2e-model"]`,
			status: 400, errType: "invalid_request_error", code: "invalid_json"},
		{name: "missing model", method: "POST", path: "/v1/chat/completions", body: `{` + msgs + `}`,
			status: 400, errType: "invalid_request_error", code: "missing_required_parameter"},
		{name: "bad routing", method: "POST", path: "/v1/chat/completions",
			body:   `{"model":"e2e-model","routing":"fastest",` + msgs + `}`,
			status: 400, errType: "invalid_request_error", code: "invalid_routing"},
		{name: "unknown vendor header", method: "POST", path: "/v1/chat/completions",
			body: `{"model":"e2e-model",` + msgs + `}`, headers: []string{"vendor", "gamma"},
			status: 400, errType: "invalid_request_error", code: "invalid_vendor"},
		{name: "unknown model", method: "POST", path: "/v1/chat/completions",
			body:   `{"model":"no-such-model",` + msgs + `}`,
			status: 404, errType: "invalid_request_error", code: "model_not_found"},
		{name: "model not at pinned vendor", method: "POST", path: "/v1/chat/completions",
			body: `{"model":"doomed-model",` + msgs + `}`, headers: []string{"vendor", "alpha"},
			status: 404, errType: "invalid_request_error", code: "model_not_found"},
		{name: "too large", method: "POST", path: "/v1/chat/completions",
			body:   `{"model":"e2e-model","messages":[{"role":"user","content":"` + strings.Repeat("x", 5000) + `"}]}`,
			status: 413, errType: "invalid_request_error", code: "request_too_large"},
		{name: "GET chat completions", method: "GET", path: "/v1/chat/completions",
			status: 405, errType: "invalid_request_error", code: "method_not_allowed", allow: "POST"},
		{name: "POST models", method: "POST", path: "/v1/models", body: `{}`,
			status: 405, errType: "invalid_request_error", code: "method_not_allowed", allow: "GET"},
		{name: "all vendors failed", method: "POST", path: "/v1/chat/completions",
			body:   `{"model":"doomed-model",` + msgs + `}`,
			status: 503, errType: "server_error", code: "vendors_failed", attempts: 2, routingHeaders: true},
		{name: "all vendors rate limited", method: "POST", path: "/v1/chat/completions",
			body:   `{"model":"limited-model",` + msgs + `}`,
			status: 429, errType: "rate_limit_error", code: "vendors_failed", attempts: 1, routingHeaders: true},
		{name: "vendor credentials refused", method: "POST", path: "/v1/chat/completions",
			body:   `{"model":"locked-model",` + msgs + `}`,
			status: 502, errType: "server_error", code: "vendors_failed", attempts: 1, routingHeaders: true},
		{name: "vendor timed out", method: "POST", path: "/v1/chat/completions",
			body:   `{"model":"slow-model",` + msgs + `}`,
			status: 504, errType: "server_error", code: "vendors_failed", attempts: 1, routingHeaders: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := do(t, c.method, c.path, c.body, c.headers...)
			require.Equal(t, c.status, resp.StatusCode, "%s", body)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			assertConforms(t, "ErrorResponse", body, c.name+" error")

			var e struct {
				Error struct {
					Message  string  `json:"message"`
					Type     string  `json:"type"`
					Code     *string `json:"code"`
					Attempts []struct {
						Vendor string `json:"vendor"`
						Status int    `json:"status"`
						Reason string `json:"reason"`
					} `json:"attempts"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(body, &e))
			assert.Equal(t, c.errType, e.Error.Type)
			if assert.NotNil(t, e.Error.Code) {
				assert.Equal(t, c.code, *e.Error.Code)
			}
			assert.NotEmpty(t, e.Error.Message)
			assert.Len(t, e.Error.Attempts, c.attempts)
			for _, a := range e.Error.Attempts {
				assert.NotEmpty(t, a.Vendor)
				assert.NotEmpty(t, a.Reason)
			}
			if c.allow != "" {
				assert.Equal(t, c.allow, resp.Header.Get("Allow"))
			}
			if c.routingHeaders {
				assert.Equal(t, "perf", resp.Header.Get("X-LLM-Routing"))
				assert.NotEmpty(t, resp.Header.Get("X-LLM-Attempts"))
			}
		})
	}
	assert.Empty(t, alpha.Requests(), "no refused request reached a vendor")
}

// GET /v1/models is a ListModelsResponse, the router's extension included.
func TestConformanceModelList(t *testing.T) {
	alpha := startFake(t, "alpha")
	beta := startFake(t, "beta")
	startRouter(t, router(nil,
		vendor("alpha", alpha, "e2e-model", "alpha-only"),
		vendor("beta", beta, "e2e-model"),
		`vendor priced openai_compatible {
		base_url http://127.0.0.1:9/v1
		model priced-model as vendor-side-name input 0.5 output 1.5 cached_input 0.25
	}
`,
	))
	resp, body := do(t, "GET", "/v1/models", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assertConforms(t, "ListModelsResponse", body, "the model list")

	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &list))
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	assert.ElementsMatch(t, []string{"e2e-model", "alpha-only", "priced-model"}, ids)
}

// A chat completion through the router is a CreateChatCompletionResponse.
func TestConformanceChatCompletion(t *testing.T) {
	alpha := startFake(t, "alpha")
	startRouter(t, router(nil, vendor("alpha", alpha, "e2e-model")))

	for _, extra := range []string{``, `,"routing":"price"`} {
		resp, body := do(t, "POST", "/v1/chat/completions",
			`{"model":"e2e-model","messages":[{"role":"user","content":"hi"}]`+extra+`}`)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		assert.Equal(t, "alpha", resp.Header.Get("X-LLM-Vendor"))
		assertConforms(t, "CreateChatCompletionResponse", body, "the chat completion"+extra)
	}
}

// Every event of a streamed chat completion is a
// CreateChatCompletionStreamResponse, with and without the usage chunk.
func TestConformanceChatCompletionStream(t *testing.T) {
	alpha := startFake(t, "alpha")
	startRouter(t, router(nil, vendor("alpha", alpha, "e2e-model")))

	for _, c := range []struct {
		name, extra string
		events      int // JSON events before [DONE]
	}{
		{"plain", ``, 5},
		{"include_usage", `,"stream_options":{"include_usage":true}`, 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", routerURL+"/v1/chat/completions", strings.NewReader(
				`{"model":"e2e-model","stream":true,"messages":[{"role":"user","content":"hi"}]`+c.extra+`}`))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			resp, err := httpClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
			assert.Equal(t, "alpha", resp.Header.Get("X-LLM-Vendor"))

			var events []string
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					events = append(events, data)
				}
			}
			require.NoError(t, sc.Err())
			require.NotEmpty(t, events)
			assert.Equal(t, "[DONE]", events[len(events)-1], "the stream ends with [DONE]")
			chunks := events[:len(events)-1]
			assert.Len(t, chunks, c.events)
			for i, data := range chunks {
				assertConforms(t, "CreateChatCompletionStreamResponse", []byte(data),
					fmt.Sprintf("stream event %d", i))
			}
			if c.name == "include_usage" {
				last := chunks[len(chunks)-1]
				assert.Contains(t, last, `"choices":[]`, "the usage chunk has no choices")
				assert.Contains(t, last, `"total_tokens":10`)
			}
		})
	}
}
