package llmrouter_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// assertOpenAIError checks body is an OpenAI error object: message and type
// strings, and param and code keys present (null allowed), as the OpenAI
// schema's Error requires.
func assertOpenAIError(t *testing.T, body, wantType, wantCode string) {
	t.Helper()
	require.True(t, gjson.Valid(body), "not JSON: %s", body)
	e := gjson.Get(body, "error")
	require.True(t, e.IsObject(), "no error object: %s", body)
	assert.Equal(t, gjson.String, e.Get("message").Type)
	assert.NotEmpty(t, e.Get("message").String())
	assert.Equal(t, wantType, e.Get("type").String())
	assert.True(t, e.Get("param").Exists(), "param key missing: %s", body)
	require.True(t, e.Get("code").Exists(), "code key missing: %s", body)
	if wantCode != "" {
		assert.Equal(t, wantCode, e.Get("code").String())
	}
}

func TestBadInputGetsOpenAIErrors(t *testing.T) {
	a := fakevendor.Start(t, fakevendor.Options{Name: "a"})
	b := fakevendor.Start(t, fakevendor.Options{Name: "b"})
	startRouter(t, routerBlock([]string{"max_request_body 2KiB"},
		vendorBlock("a", "openai_compatible", a.URL(), "", "model input-model", "model only-on-a"),
		vendorBlock("b", "openai_compatible", b.URL(), "", "model input-model"),
	))

	big := `{"model":"input-model","messages":[{"role":"user","content":"` + strings.Repeat("x", 4096) + `"}]}`
	cases := []struct {
		name, body string
		headers    []string
		status     int
		code       string
		param      string
	}{
		{"not JSON", `{"model":`, nil, 400, "invalid_json", ""},
		{"JSON but not an object", `["model"]`, nil, 400, "invalid_json", ""},
		{"empty body", ``, nil, 400, "invalid_json", ""},
		{"missing model", `{"messages":[]}`, nil, 400, "missing_required_parameter", "model"},
		{"model not a string", `{"model":42,"messages":[]}`, nil, 400, "missing_required_parameter", "model"},
		{"unknown routing", `{"model":"input-model","routing":"fastest"}`, nil, 400, "invalid_routing", "routing"},
		{"routing not a string", `{"model":"input-model","routing":1}`, nil, 400, "invalid_routing", "routing"},
		{"routing wrong case", `{"model":"input-model","routing":"PRICE"}`, nil, 400, "invalid_routing", "routing"},
		{"unknown vendor", `{"model":"input-model"}`, []string{"vendor", "nobody"}, 400, "invalid_vendor", ""},
		{"unknown model", `{"model":"gpt-unknown"}`, nil, 404, "model_not_found", "model"},
		{"pinned vendor lacks model", `{"model":"only-on-a"}`, []string{"vendor", "b"}, 404, "model_not_found", "model"},
		{"too large", big, nil, 413, "request_too_large", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := post(t, "/v1/chat/completions", c.body, c.headers...)
			assert.Equal(t, c.status, resp.StatusCode, body)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			assertOpenAIError(t, body, "invalid_request_error", c.code)
			if c.param != "" {
				assert.Equal(t, c.param, gjson.Get(body, "error.param").String())
			} else {
				assert.Equal(t, gjson.Null, gjson.Get(body, "error.param").Type)
			}
		})
	}
	assert.Equal(t, 0, a.Count()+b.Count(), "no bad request reaches a vendor")
}

// The size limit holds for chunked uploads, which announce no length.
func TestBodyLimitHoldsForChunkedUpload(t *testing.T) {
	a := fakevendor.Start(t, fakevendor.Options{Name: "a"})
	startRouter(t, routerBlock([]string{"max_request_body 1KiB"},
		vendorBlock("a", "openai_compatible", a.URL(), "", "model chunked-model")))

	pr, pw := io.Pipe()
	go func() {
		fmt.Fprint(pw, `{"model":"chunked-model","messages":[{"role":"user","content":"`)
		for range 64 {
			if _, err := pw.Write([]byte(strings.Repeat("y", 64))); err != nil {
				return
			}
		}
		fmt.Fprint(pw, `"}]}`)
		pw.Close()
	}()
	req, err := http.NewRequest(http.MethodPost, routerURL+"/v1/chat/completions", pr)
	require.NoError(t, err)
	req.ContentLength = -1
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assertOpenAIError(t, string(body), "invalid_request_error", "request_too_large")
	assert.Equal(t, 0, a.Count())
}

func TestOtherRequestsPassToNextHandler(t *testing.T) {
	a := fakevendor.Start(t, fakevendor.Options{Name: "a"})
	startRouter(t, routerBlock(nil, vendorBlock("a", "openai_compatible", a.URL(), "", "model next-model")))

	resp, body := post(t, "/v1/files", `{}`)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, body)
	assert.Empty(t, resp.Header.Get("X-LLM-Routing"))

	req, _ := http.NewRequest(http.MethodGet, routerURL+"/v1/chat/completions", nil)
	getResp, err := client.Do(req)
	require.NoError(t, err)
	defer getResp.Body.Close()
	getBody, _ := io.ReadAll(getResp.Body)
	assert.Equal(t, http.StatusMethodNotAllowed, getResp.StatusCode)
	assert.Equal(t, "POST", getResp.Header.Get("Allow"))
	assertOpenAIError(t, string(getBody), "invalid_request_error", "method_not_allowed")
	assert.Equal(t, 0, a.Count())
}

func TestModelsList(t *testing.T) {
	a := fakevendor.Start(t, fakevendor.Options{Name: "a"})
	b := fakevendor.Start(t, fakevendor.Options{Name: "b"})
	startRouter(t, routerBlock(nil,
		vendorBlock("a", "openai_compatible", a.URL(), "", "model list-shared as shared-a input 1 output 2", "model list-only-a"),
		vendorBlock("b", "openai_compatible", b.URL(), "", "model list-shared input 0.5 output 1 cached_input 0.1"),
	))
	resp, err := client.Get(routerURL + "/v1/models")
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	body := string(raw)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "list", gjson.Get(body, "object").String())
	data := gjson.Get(body, "data").Array()
	require.Len(t, data, 2)
	assert.Equal(t, "list-only-a", data[0].Get("id").String())
	assert.Equal(t, "a", data[0].Get("owned_by").String())
	assert.Equal(t, "list-shared", data[1].Get("id").String())
	for _, m := range data {
		assert.Equal(t, "model", m.Get("object").String())
		assert.True(t, m.Get("created").Exists())
	}
	vendors := data[1].Get("vendors").Array()
	require.Len(t, vendors, 2)
	assert.Equal(t, "a", vendors[0].Get("id").String())
	assert.Equal(t, "shared-a", vendors[0].Get("model").String())
	assert.Equal(t, 2.0, vendors[0].Get("price.output").Float())
	assert.Equal(t, 0.1, vendors[1].Get("price.cached_input").Float())
	for _, v := range vendors {
		assert.Equal(t, "closed", v.Get("health").String())
		assert.False(t, v.Get("ttft_ms").Exists(), "no latency before any measurement")
	}
	assert.Equal(t, 0, a.Count()+b.Count(), "the model list never reaches a vendor")

	// Once measured, the list shows the latency.
	chatResp, chatBody := chat(t, "list-shared", "", "vendor", "b")
	require.Equal(t, http.StatusOK, chatResp.StatusCode, chatBody)
	resp2, err := client.Get(routerURL + "/v1/models")
	require.NoError(t, err)
	defer resp2.Body.Close()
	raw2, _ := io.ReadAll(resp2.Body)
	measured := gjson.GetBytes(raw2, `data.#(id=="list-shared").vendors.#(id=="b")`)
	assert.Greater(t, measured.Get("ttft_ms").Float(), 0.0)
	assert.Equal(t, "closed", measured.Get("health").String())
}

// A body nested deeper than any request needs is a 400, not a crash: with
// gjson's recursive validator, a few MiB of "[" overflowed the goroutine
// stack and took the whole Caddy process down.
func TestDeeplyNestedBodyIsRefused(t *testing.T) {
	a := fakevendor.Start(t, fakevendor.Options{Name: "a"})
	startRouter(t, routerBlock(nil, vendorBlock("a", "openai_compatible", a.URL(), "", "model nested-model")))

	for _, depth := range []int{1001, 4 << 20} {
		body := `{"model":"nested-model","messages":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`
		resp, got := post(t, "/v1/chat/completions", body)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assertOpenAIError(t, got, "invalid_request_error", "invalid_json")
		assert.Contains(t, gjson.Get(got, "error.message").String(), "nested more than 1000 levels")
	}
	// Within the limit, the body is valid JSON and goes to the vendor.
	resp, got := post(t, "/v1/chat/completions",
		`{"model":"nested-model","messages":[{"role":"user","content":"hi"}],"metadata":{"x":`+
			strings.Repeat("[", 900)+strings.Repeat("]", 900)+`}}`)
	assert.Equal(t, http.StatusOK, resp.StatusCode, got)
	assert.Equal(t, 1, a.Count())
}
