package llmrouter_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// A client cannot make the router connect anywhere but a configured vendor,
// whatever it puts in the URL, the headers or the body.
func TestClientCannotReachOtherHosts(t *testing.T) {
	var canaryHits atomic.Int32
	canary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { canaryHits.Add(1) }))
	defer canary.Close()
	canaryHost := strings.TrimPrefix(canary.URL, "http://")
	vendor := fakevendor.Start(t, fakevendor.Options{Name: "only"})
	startRouter(t, routerBlock(nil, vendorBlock("only", "openai_compatible", vendor.URL(), "", "model closed-model")))

	attempts := []struct {
		path, body string
		headers    []string
	}{
		{"/v1/chat/completions", `{"model":"` + canary.URL + `/v1"}`, nil},
		{"/v1/chat/completions", `{"model":"closed-model","base_url":"` + canary.URL + `","url":"` + canary.URL + `"}`, nil},
		{"/v1/chat/completions", `{"model":"closed-model"}`, []string{"vendor", canary.URL}},
		{"/v1/chat/completions", `{"model":"closed-model"}`, []string{"Host", canaryHost}},
		{"/v1/chat/completions", `{"model":"closed-model"}`, []string{"X-Forwarded-Host", canaryHost, "Forwarded", "host=" + canaryHost}},
		{"/v1/chat/completions?url=" + canary.URL, `{"model":"closed-model"}`, nil},
		{"/v1/../v1/chat/completions", `{"model":"closed-model"}`, nil},
		{"/v1/chat/completions", `{"model":"closed-model","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"` + canary.URL + `/x.png"}}]}]}`, nil},
	}
	for _, a := range attempts {
		req, err := http.NewRequest(http.MethodPost, routerURL+a.path, strings.NewReader(a.body))
		require.NoError(t, err)
		for i := 0; i+1 < len(a.headers); i += 2 {
			if a.headers[i] == "Host" {
				req.Host = a.headers[i+1]
			} else {
				req.Header.Set(a.headers[i], a.headers[i+1])
			}
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	assert.Equal(t, int32(0), canaryHits.Load(), "the router never connected to the canary")
	for _, r := range vendor.Requests() {
		assert.Equal(t, strings.TrimPrefix(vendor.URL(), "http://"), r.Host)
		assert.Equal(t, "/chat/completions", r.Path)
		assert.Empty(t, r.RawQuery)
	}
}

// Client headers cannot override or smuggle the vendor's auth and protocol
// headers.
func TestClientCannotInjectVendorHeaders(t *testing.T) {
	claude := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{RequireKey: "sk-ant-router-key"})
	gpt := fakevendor.Start(t, fakevendor.Options{Name: "gpt"})
	startRouter(t, routerBlock(nil,
		vendorBlock("anthropic", "anthropic", claude.URL(), "sk-ant-router-key", "model inject-claude"),
		vendorBlock("azure", "azure", gpt.URL(), "az-router-key-123", "model inject-gpt"),
	))
	hostile := []string{"X-Api-Key", "sk-ant-client", "Anthropic-Version", "2020-01-01", "Api-Key", "client-az",
		"Authorization", "Bearer client", "X-Amz-Security-Token", "client-token", "Cookie", "s=1",
		"Proxy-Authorization", "Basic Y2xpZW50", "X-Goog-Api-Key", "client-goog"}

	resp, body := chat(t, "inject-claude", "", hostile...)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	got := claude.Requests()[0].Header
	assert.Equal(t, []string{"sk-ant-router-key"}, got.Values("X-Api-Key"))
	assert.Equal(t, []string{"2023-06-01"}, got.Values("Anthropic-Version"))
	for _, h := range []string{"Authorization", "Api-Key", "X-Amz-Security-Token", "Cookie", "Proxy-Authorization", "X-Goog-Api-Key"} {
		assert.Empty(t, got.Values(h), h)
	}

	resp, body = chat(t, "inject-gpt", "", hostile...)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	got = gpt.Requests()[0].Header
	assert.Equal(t, []string{"az-router-key-123"}, got.Values("Api-Key"))
	for _, h := range []string{"Authorization", "X-Api-Key", "Cookie", "Proxy-Authorization", "X-Goog-Api-Key"} {
		assert.Empty(t, got.Values(h), h)
	}
}

// The router's vendor keys never reach a client: not in a header a vendor
// echoes, not in an error body passed on, not in the all-failed error.
func TestVendorKeysNeverReachClients(t *testing.T) {
	const key = "sk-router-secret-4f9a2c"
	echo := fakevendor.Start(t, fakevendor.Options{Name: "echo", Header: http.Header{"X-Debug-Auth": {"Bearer " + key}}})
	rejecting := fakevendor.Start(t, fakevendor.Options{Name: "rejecting", Status: http.StatusBadRequest,
		ErrorBody: `{"error":{"message":"bad request made with key ` + key + `","type":"invalid_request_error","param":null,"code":null}}`})
	denying := fakevendor.Start(t, fakevendor.Options{Name: "denying", Status: http.StatusUnauthorized,
		ErrorBody: `{"error":{"message":"Incorrect API key provided: ` + key + `","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`})
	startRouter(t, routerBlock(nil,
		vendorBlock("echo", "openai", echo.URL(), key, "model leak-echo"),
		vendorBlock("rejecting", "openai", rejecting.URL(), key, "model leak-400"),
		vendorBlock("denying", "openai", denying.URL(), key, "model leak-401"),
	))
	for _, model := range []string{"leak-echo", "leak-400", "leak-401"} {
		resp, body := chat(t, model, "")
		for name, values := range resp.Header {
			for _, v := range values {
				assert.NotContains(t, v, key, "%s: header %s", model, name)
			}
		}
		assert.NotContains(t, body, key, model)
		if model == "leak-400" {
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Equal(t, "bad request made with key [redacted]", gjson.Get(body, "error.message").String())
		}
	}
}

// What a vendor's answer says about the operator's account stays with the
// router: its organization and project, its cookies, and the account's rate
// limits (x-ratelimit-*), which count every client of the router on that key.
// The router's own headers (x-llm-*) are the router's to say. What is about
// the answer itself (its request id, the processing time) goes on, streamed
// or not.
func TestVendorAccountHeadersStay(t *testing.T) {
	v := fakevendor.Start(t, fakevendor.Options{Name: "account", Header: http.Header{
		"Openai-Organization": {"org-operator"}, "Openai-Project": {"proj_operator"}, "Set-Cookie": {"__cf_bm=abc"},
		"X-Ratelimit-Limit-Tokens": {"30000000"}, "X-Ratelimit-Remaining-Tokens": {"29999000"},
		"X-Ratelimit-Reset-Requests": {"6ms"}, "X-Request-Id": {"req_vendor1"}, "Openai-Processing-Ms": {"412"},
		"X-Llm-Vendor": {"spoofed"}, "X-Llm-Attempts": {"9"}, "X-Llm-Dropped-Tools": {"web_search"}}})
	startRouter(t, routerBlock(nil, vendorBlock("account", "openai", v.URL(), "sk-account", "model account-headers")))
	for _, extra := range []string{"", `"stream":true`} {
		resp, body := chat(t, "account-headers", extra)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		for _, name := range []string{"Openai-Organization", "Openai-Project", "Set-Cookie",
			"X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Requests"} {
			assert.Empty(t, resp.Header.Values(name), "%q (%s)", name, extra)
		}
		assert.Equal(t, "req_vendor1", resp.Header.Get("X-Request-Id"), extra)
		assert.Equal(t, "412", resp.Header.Get("Openai-Processing-Ms"), extra)
		assert.Equal(t, []string{"account"}, resp.Header.Values("X-LLM-Vendor"), extra)
		assert.Equal(t, []string{"1"}, resp.Header.Values("X-LLM-Attempts"), extra)
		assert.Empty(t, resp.Header.Values("X-LLM-Dropped-Tools"), extra)
	}
}
