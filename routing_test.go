package llmrouter_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// Each kind gets its own path layout, auth header, Host and model name, never
// the client's credentials, and vendor-specific body fields untouched.
func TestVendorKindsReceiveShapedRequests(t *testing.T) {
	fake := fakevendor.Start(t, fakevendor.Options{Name: "kinds"})
	base := fake.URL()
	host := strings.TrimPrefix(base, "http://")

	type want struct {
		path, query, authHeader, authValue, model string
	}
	cases := []struct {
		id, kind, baseURL string
		extra             []string
		want              want
	}{
		{"openai", "openai", base + "/v1", nil,
			want{"/v1/chat/completions", "", "Authorization", "Bearer k-openai", "gpt-kinds-o"}},
		{"azure", "azure", base, []string{"api_version 2024-10-21"},
			want{"/openai/deployments/gpt-kinds-azure/chat/completions", "api-version=2024-10-21", "Api-Key", "k-azure", "gpt-kinds-azure"}},
		{"azure-v1", "azure", base + "/openai/v1", nil,
			want{"/openai/v1/chat/completions", "", "Api-Key", "k-azure-v1", "gpt-kinds-azure-v1"}},
		{"mistral", "mistral", base + "/v1", nil,
			want{"/v1/chat/completions", "", "Authorization", "Bearer k-mistral", "gpt-kinds-mistral"}},
		{"deepseek", "deepseek", base, nil,
			want{"/chat/completions", "", "Authorization", "Bearer k-deepseek", "gpt-kinds-deepseek"}},
		{"volcengine", "volcengine", base + "/api/v3", nil,
			want{"/api/v3/chat/completions", "", "Authorization", "Bearer k-volcengine", "ep-20250101-kinds"}},
		{"x", "x", base + "/v1", nil,
			want{"/v1/chat/completions", "", "Authorization", "Bearer k-x", "grok-kinds"}},
		{"google", "google", base + "/v1beta/openai", []string{"api openai"},
			want{"/v1beta/openai/chat/completions", "", "Authorization", "Bearer k-google", "gemini-kinds"}},
		{"local", "openai_compatible", base + "/v1", nil,
			want{"/v1/chat/completions", "", "Authorization", "Bearer k-local", "llama-kinds"}},
	}

	var blocks []string
	for _, c := range cases {
		lines := append([]string{"model kinds-model as " + c.want.model + " input 1 output 2"}, c.extra...)
		blocks = append(blocks, vendorBlock(c.id, c.kind, c.baseURL, "k-"+c.id, lines...))
	}
	startRouter(t, routerBlock(nil, blocks...))

	const body = `{"model":"kinds-model","messages":[{"role":"user","content":"hi"}],"routing":"price",` +
		`"safe_prompt":true,"top_k":3,"metadata":{"trace":[1,2,{"x":"y"}]},"temperature":0.25}`
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			fake.Reset()
			resp, respBody := post(t, "/v1/chat/completions?client=secret", body,
				"Authorization", "Bearer client-token", "Api-Key", "client-key", "X-Api-Key", "client-key",
				"Cookie", "session=abc", "vendor", c.id)
			require.Equal(t, http.StatusOK, resp.StatusCode, respBody)
			assert.Equal(t, c.id, resp.Header.Get("X-LLM-Vendor"))
			assert.Equal(t, c.want.model, resp.Header.Get("X-LLM-Model"))
			assert.Equal(t, "price", resp.Header.Get("X-LLM-Routing"))
			assert.Equal(t, "1", resp.Header.Get("X-LLM-Attempts"))

			reqs := fake.Requests()
			require.Len(t, reqs, 1)
			got := reqs[0]
			assert.Equal(t, c.want.path, got.Path)
			assert.Equal(t, c.want.query, got.RawQuery, "the client's query never reaches a vendor")
			assert.Equal(t, host, got.Host)
			assert.Equal(t, []string{c.want.authValue}, got.Header.Values(c.want.authHeader))
			for _, h := range []string{"Authorization", "Api-Key", "X-Api-Key"} {
				if h != c.want.authHeader {
					assert.Empty(t, got.Header.Values(h), "client header %s leaked", h)
				}
			}
			assert.Empty(t, got.Header.Get("Cookie"))
			assert.Empty(t, got.Header.Get("Vendor"))
			assert.Empty(t, got.Header.Get("X-Forwarded-For"))

			assert.Equal(t, c.want.model, gjson.GetBytes(got.Body, "model").String())
			assert.False(t, gjson.GetBytes(got.Body, "routing").Exists(), "routing must be removed")
			// Vendor-specific fields pass through untouched; fields a kind
			// rejects are removed for it (replay safety): Mistral takes only
			// its own parameters, and only OpenAI-shaped servers get
			// OpenAI's account fields such as metadata.
			passed := []string{"messages", "safe_prompt", "temperature"}
			switch c.id {
			case "mistral":
				assert.False(t, gjson.GetBytes(got.Body, "top_k").Exists())
				assert.False(t, gjson.GetBytes(got.Body, "metadata").Exists())
			case "openai", "azure", "azure-v1", "local":
				passed = append(passed, "top_k", "metadata")
			default:
				passed = append(passed, "top_k")
				assert.False(t, gjson.GetBytes(got.Body, "metadata").Exists())
			}
			for _, field := range passed {
				assert.Equal(t, gjson.Get(body, field).Raw, gjson.GetBytes(got.Body, field).Raw, field)
			}
		})
	}
}

func TestPriceRoutingPicksCheapestAndPinWins(t *testing.T) {
	pricey := fakevendor.Start(t, fakevendor.Options{Name: "pricey"})
	cheap := fakevendor.Start(t, fakevendor.Options{Name: "cheap"})
	startRouter(t, routerBlock(nil,
		vendorBlock("pricey", "openai_compatible", pricey.URL(), "", "model price-model input 5 output 15"),
		vendorBlock("cheap", "openai_compatible", cheap.URL(), "", "model price-model as cheap-model input 0.5 output 1.5"),
	))

	for range 3 {
		resp, body := chat(t, "price-model", `"routing":"price"`)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Equal(t, "cheap", resp.Header.Get("X-LLM-Vendor"))
		assert.Equal(t, "cheap-model", resp.Header.Get("X-LLM-Model"))
	}
	assert.Equal(t, 0, pricey.Count())

	resp, body := chat(t, "price-model", `"routing":"price"`, "vendor", "pricey")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "pricey", resp.Header.Get("X-LLM-Vendor"), "a pinned vendor is used even when it is not the best")
	assert.Equal(t, 1, pricey.Count())

	resp, _ = chat(t, "price-model", `"routing":"price"`, "vendor", "AUTO")
	assert.Equal(t, "cheap", resp.Header.Get("X-LLM-Vendor"), "auto is case-insensitive")
}

func TestPerfRoutingPicksMeasurablyFasterVendor(t *testing.T) {
	slow := fakevendor.Start(t, fakevendor.Options{Name: "slow", TTFT: 120 * time.Millisecond})
	fast := fakevendor.Start(t, fakevendor.Options{Name: "fast", TTFT: 5 * time.Millisecond})
	// The slow vendor is cheaper and listed first, so only measurement can
	// make the router prefer the fast one. Exploration is off so that every
	// assertion below is deterministic.
	startRouter(t, routerBlock([]string{"routing perf", "exploration 0"},
		vendorBlock("slow", "openai_compatible", slow.URL(), "", "model perf-model input 0.1 output 0.1"),
		vendorBlock("fast", "openai_compatible", fast.URL(), "", "model perf-model input 9 output 9"),
	))

	// Warm-up: each unmeasured vendor is tried once.
	for range 2 {
		resp, body := chat(t, "perf-model", "")
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
	}
	require.Equal(t, 1, slow.Count())
	require.Equal(t, 1, fast.Count())

	for range 5 {
		resp, _ := chat(t, "perf-model", "")
		assert.Equal(t, "fast", resp.Header.Get("X-LLM-Vendor"))
		assert.Equal(t, "perf", resp.Header.Get("X-LLM-Routing"))
	}
	for range 3 {
		resp, _ := chat(t, "perf-model", `"routing":"perf-avg"`)
		assert.Equal(t, "fast", resp.Header.Get("X-LLM-Vendor"))
		assert.Equal(t, "perf-avg", resp.Header.Get("X-LLM-Routing"))
	}
	assert.Equal(t, 1, slow.Count(), "the slow vendor gets no more traffic once measured")

	// price still prefers the cheap, slow vendor
	resp, _ := chat(t, "perf-model", `"routing":"price"`)
	assert.Equal(t, "slow", resp.Header.Get("X-LLM-Vendor"))

	// A config reload keeps what was learned: no new warm-up.
	startRouter(t, routerBlock([]string{"routing perf", "exploration 0", "max_request_body 1MiB"},
		vendorBlock("slow", "openai_compatible", slow.URL(), "", "model perf-model input 0.1 output 0.1"),
		vendorBlock("fast", "openai_compatible", fast.URL(), "", "model perf-model input 9 output 9"),
	))
	resp, _ = chat(t, "perf-model", "")
	assert.Equal(t, "fast", resp.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, 2, slow.Count())
}

// A model with one vendor simply uses it, whatever the routing.
func TestSingleVendorIsUsedForEveryStrategy(t *testing.T) {
	only := fakevendor.Start(t, fakevendor.Options{Name: "only"})
	startRouter(t, routerBlock(nil, vendorBlock("only", "openai_compatible", only.URL(), "", "model single-model")))
	for _, routing := range []string{"perf", "perf-avg", "price"} {
		resp, body := chat(t, "single-model", `"routing":"`+routing+`"`)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Equal(t, "only", resp.Header.Get("X-LLM-Vendor"))
		assert.Equal(t, routing, resp.Header.Get("X-LLM-Routing"))
	}
}

// With exploration at 100%, every perf request after warm-up goes to a vendor
// that is not the best; pinned and price requests never do.
func TestExplorationSendsTrafficToOthers(t *testing.T) {
	slow := fakevendor.Start(t, fakevendor.Options{Name: "slow", TTFT: 60 * time.Millisecond})
	fast := fakevendor.Start(t, fakevendor.Options{Name: "fast"})
	startRouter(t, routerBlock([]string{"exploration 100%"},
		vendorBlock("slow", "openai_compatible", slow.URL(), "", "model explore-model input 1"),
		vendorBlock("fast", "openai_compatible", fast.URL(), "", "model explore-model input 2"),
	))
	for range 2 { // warm-up: each vendor measured once
		resp, body := chat(t, "explore-model", "")
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
	}
	for range 3 {
		resp, _ := chat(t, "explore-model", "")
		assert.Equal(t, "slow", resp.Header.Get("X-LLM-Vendor"), "explored")
	}
	resp, _ := chat(t, "explore-model", "", "vendor", "fast")
	assert.Equal(t, "fast", resp.Header.Get("X-LLM-Vendor"), "pinned requests are never explored")
	resp, _ = chat(t, "explore-model", `"routing":"price"`)
	assert.Equal(t, "slow", resp.Header.Get("X-LLM-Vendor"), "price: the cheapest")
	assert.Equal(t, 1+3+1, slow.Count())
}
