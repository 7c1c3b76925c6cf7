package llmrouter_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// startPrefsFleet starts three vendors of model prefs-model: openai (us,
// dear), azure (eu, zdr, dear) and groq (us, cheap), with settings lines.
func startPrefsFleet(t *testing.T, settings ...string) (openai, azure, groq *fakevendor.Vendor) {
	t.Helper()
	openai = fakevendor.Start(t, fakevendor.Options{Name: "openai"})
	azure = fakevendor.Start(t, fakevendor.Options{Name: "azure"})
	groq = fakevendor.Start(t, fakevendor.Options{Name: "groq"})
	startRouter(t, routerBlock(append([]string{"exploration 0"}, settings...),
		vendorBlock("openai", "openai", openai.URL(), "sk-o", "tags us", "model prefs-model input 2.5 output 10"),
		vendorBlock("azure-eu", "openai_compatible", azure.URL(), "sk-a", "tags eu zdr", "model prefs-model input 2.5 output 10"),
		vendorBlock("groq", "openai_compatible", groq.URL(), "sk-g", "tags us fast", "model prefs-model input 0.5 output 1"),
	))
	return openai, azure, groq
}

// The routing object filters and orders vendors, says what it filtered in
// X-LLM-Excluded, and never reaches a vendor.
func TestRoutingObject(t *testing.T) {
	openai, azure, groq := startPrefsFleet(t)

	resp, body := chat(t, "prefs-model", `"routing":{"only":["tag:eu"]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "azure-eu", resp.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, "openai=routing.only, groq=routing.only", resp.Header.Get("X-LLM-Excluded"))
	require.Equal(t, 1, azure.Count())
	assert.False(t, gjson.GetBytes(azure.Requests()[0].Body, "routing").Exists(), "the routing object is not forwarded")

	resp, body = chat(t, "prefs-model", `"routing":{"ignore":["tag:us"],"sort":"price"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "azure-eu", resp.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, "price", resp.Header.Get("X-LLM-Routing"), "sort chooses the strategy")

	resp, body = chat(t, "prefs-model", `"routing":{"order":["openai","groq"],"sort":"price"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "openai", resp.Header.Get("X-LLM-Vendor"), "the order first, over the price")
	assert.Empty(t, resp.Header.Get("X-LLM-Excluded"), "an order filters nothing while fallbacks are allowed")

	resp, body = chat(t, "prefs-model", `"routing":{"max_price":{"prompt":1}}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "groq", resp.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, "openai=routing.max_price, azure-eu=routing.max_price", resp.Header.Get("X-LLM-Excluded"))

	// max_cost_usd: 100 tokens at most at $10/M is $0.001 for the dear
	// ones, $0.0001 for groq.
	resp, body = chat(t, "prefs-model", `"max_tokens":100,"routing":{"max_cost_usd":0.0005}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "groq", resp.Header.Get("X-LLM-Vendor"))

	// The header and the body intersect.
	resp, body = chat(t, "prefs-model", `"routing":{"only":["tag:us"]}`, "vendor", "azure-eu")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	assert.Equal(t, "no_vendor_matches_routing", gjson.Get(body, "error.code").String())
	assert.Equal(t, "routing", gjson.Get(body, "error.param").String())
	assert.JSONEq(t, `[{"vendor":"openai","reason":"vendor_header"},{"vendor":"azure-eu","reason":"routing.only"},`+
		`{"vendor":"groq","reason":"vendor_header"}]`, gjson.Get(body, "error.excluded").Raw)
	assert.Equal(t, "openai=vendor_header, azure-eu=routing.only, groq=vendor_header", resp.Header.Get("X-LLM-Excluded"))

	resp, body = chat(t, "prefs-model", `"routing":{"only":["tag:us"]}`, "vendor", "groq")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "groq", resp.Header.Get("X-LLM-Vendor"))

	// Bad values name the member.
	for extra, param := range map[string]string{
		`"routing":{"only":["nope"]}`:              "routing.only[0]",
		`"routing":{"max_price":{"prompt":"x"}}`:   "routing.max_price.prompt",
		`"routing":{"allow_fallbacks":1}`:          "routing.allow_fallbacks",
		`"routing":{"sort":"fastest"}`:             "routing.sort",
		`"routing":{"preferred_max_ttft_ms":true}`: "routing.preferred_max_ttft_ms",
		`"routing":7`: "routing",
	} {
		resp, body := chat(t, "prefs-model", extra)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
		assert.Equal(t, "invalid_routing", gjson.Get(body, "error.code").String(), extra)
		assert.Equal(t, param, gjson.Get(body, "error.param").String(), extra)
		assert.Contains(t, gjson.Get(body, "error.message").String(), param, extra)
	}

	// A plain request has no X-LLM-Excluded.
	resp, body = chat(t, "prefs-model", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Empty(t, resp.Header.Values("X-LLM-Excluded"))
	_ = openai
	_ = groq
}

// Without fallbacks, the request stops at the first vendor of its order
// set; with them, it fails over.
func TestRoutingObjectFallbacks(t *testing.T) {
	openai, _, groq := startPrefsFleet(t)
	openai.SetOptions(fakevendor.Options{Name: "openai", Status: http.StatusInternalServerError})

	resp, body := chat(t, "prefs-model", `"routing":{"order":["openai"]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "2", resp.Header.Get("X-LLM-Attempts"), "openai failed, the next one answered")

	resp, body = chat(t, "prefs-model", `"routing":{"order":["openai"],"allow_fallbacks":false}`)
	require.Equal(t, http.StatusBadGateway, resp.StatusCode, body)
	assert.Equal(t, "1", resp.Header.Get("X-LLM-Attempts"))
	assert.Equal(t, "azure-eu=routing.order, groq=routing.order", resp.Header.Get("X-LLM-Excluded"))

	groqBefore := groq.Count()
	resp, body = chat(t, "prefs-model", `"routing":{"order":["openai","groq"],"allow_fallbacks":false}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "groq", resp.Header.Get("X-LLM-Vendor"), "the closed set is tried in order")
	assert.Equal(t, groqBefore+1, groq.Count())
}

// The operator's policy bounds what clients may ask for, and can forbid
// routing objects.
func TestRoutingPolicy(t *testing.T) {
	startPrefsFleet(t, `routing_policy {
		ignore tag:zdr
		max_price completion 10
	}`)
	resp, body := chat(t, "prefs-model", `"routing":{"only":["azure-eu"]}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	assert.JSONEq(t, `[{"vendor":"openai","reason":"routing.only"},{"vendor":"azure-eu","reason":"routing_policy.ignore"},`+
		`{"vendor":"groq","reason":"routing.only"}]`, gjson.Get(body, "error.excluded").Raw)

	resp, body = chat(t, "prefs-model", "", "vendor", "azure-eu")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "the pin cannot pass the policy: %s", body)

	resp, body = chat(t, "prefs-model", `"routing":"price"`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "groq", resp.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, "azure-eu=routing_policy.ignore", resp.Header.Get("X-LLM-Excluded"), "the policy's exclusions are listed too")

	startPrefsFleet(t, `routing_policy {
		client_preferences off
	}`)
	resp, body = chat(t, "prefs-model", `"routing":{"only":["groq"]}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	assert.Equal(t, "routing_preferences_forbidden", gjson.Get(body, "error.code").String())
	resp, body = chat(t, "prefs-model", `"routing":"perf"`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "strategy names stay allowed: %s", body)
}
