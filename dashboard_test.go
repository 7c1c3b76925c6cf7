package llmrouter_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
	"github.com/caddy-llm/llmrouter/selector"
)

// dashboardSite is the Caddyfile of a site that serves the dashboard under
// /dash/ next to the router, as an operator mounts it (without the auth in
// front, which is not what is tested).
const dashboardSite = `
handle /dash/* {
	llm_router_dashboard
}
`

// dashboardKey is the vendors' key in the dashboard tests: it must appear
// nowhere on the page or in its data.
const dashboardKey = "sk-dashboard-secret-key"

// startDashboardRouter starts a router serving two models for the
// dashboard tests, with a vendor that answers 429 with Retry-After (which
// opens its breaker at once), and a limit for every client.
func startDashboardRouter(t *testing.T, prefix string) (modelA, modelB string) {
	t.Helper()
	fast := fakevendor.Start(t, fakevendor.Options{Name: "fast", TTFT: 5 * time.Millisecond, RequireKey: dashboardKey})
	steady := fakevendor.Start(t, fakevendor.Options{Name: "steady", TTFT: 20 * time.Millisecond, RequireKey: dashboardKey})
	broken := fakevendor.Start(t, fakevendor.Options{Name: "broken", Status: http.StatusTooManyRequests,
		Header: http.Header{"Retry-After": {"600"}}})
	modelA, modelB = prefix+"-alpha", prefix+"-beta"
	startRouter(t, routerBlock([]string{"exploration 0", "limits {\n\t\ttier default {\n\t\t\trequests 1000 per 1h\n\t\t}\n\t}"},
		vendorBlock("fast", "openai_compatible", fast.URL(), dashboardKey,
			"model "+modelA+" input 2 output 8", "model "+modelB+" input 1 output 4"),
		vendorBlock("steady", "openai_compatible", steady.URL(), dashboardKey, "model "+modelA+" input 1 output 2"),
		vendorBlock("broken", "openai_compatible", broken.URL(), dashboardKey, "model "+modelA+" input 0.1 output 0.1"),
	)+dashboardSite)
	return modelA, modelB
}

// sendDashboardTraffic sends the dashboard tests' traffic to the models of
// startDashboardRouter: a failover that opens the broken vendor's breaker,
// then successes, from one client, whose ledger name it returns.
func sendDashboardTraffic(t *testing.T, modelA, modelB string) (clientName string) {
	t.Helper()
	token := fmt.Sprintf("dashboard-client-%d", time.Now().UnixNano())
	// price: broken first, which fails over to steady and opens its breaker.
	resp, body := chat(t, modelA, `"routing":"price"`, "Authorization", "Bearer "+token)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Equal(t, "2", resp.Header.Get("X-LLM-Attempts"))
	for i := range 4 {
		resp, body = chat(t, modelA, `"stream":true`, "Authorization", "Bearer "+token)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		resp, body = chat(t, modelB, "", "Authorization", "Bearer "+token, "vendor", []string{"fast", "auto"}[i%2])
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
	}
	return clientKey(token)
}

// getDashboard fetches a path of the test site or the admin endpoint.
func getDashboard(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// The dashboard's page, files and JSON, on the admin endpoint and where the
// handler is mounted, without a browser.
func TestDashboardServesPageAndData(t *testing.T) {
	modelA, modelB := startDashboardRouter(t, "dash-http")
	sendDashboardTraffic(t, modelA, modelB)

	for _, base := range []string{routerURL + "/dash/", "http://localhost:2999/llm_router/"} {
		resp, page := getDashboard(t, base)
		require.Equal(t, http.StatusOK, resp.StatusCode, page)
		assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "connect-src 'self'")
		assert.Contains(t, page, `<script src="app.js" crossorigin>`)
		for _, asset := range []string{"app.js", "style.css", "uplot/uPlot.iife.min.js", "uplot/uPlot.min.css", "uplot/LICENSE"} {
			resp, body := getDashboard(t, base+asset)
			assert.Equal(t, http.StatusOK, resp.StatusCode, asset)
			assert.NotEmpty(t, body, asset)
			assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), asset)
		}

		resp, stats := getDashboard(t, base+"stats?prompt_tokens=2000&stream=false")
		require.Equal(t, http.StatusOK, resp.StatusCode, stats)
		assert.NotContains(t, stats, dashboardKey)
		assert.Equal(t, int64(2000), gjson.Get(stats, "ranked_for.prompt_tokens").Int())
		assert.False(t, gjson.Get(stats, "ranked_for.stream").Bool())
		assert.True(t, gjson.Get(stats, "now").Exists())

		// Every strategy ranks the open breaker last.
		a := gjson.Get(stats, fmt.Sprintf(`models.#(model==%q).rankings`, modelA))
		require.Len(t, a.Array(), len(selector.StrategyNames()), stats)
		for _, r := range a.Array() {
			vendors := r.Get("vendors.#.vendor").Array()
			require.Len(t, vendors, 3, r.Raw)
			assert.Equal(t, "broken", vendors[2].String(), r.Raw)
			assert.Equal(t, "open", r.Get("vendors.2.tier").String(), r.Raw)
		}
		assert.Equal(t, "steady", gjson.Get(a.Raw, `#(routing=="price").vendors.0.vendor`).String(), "cheapest healthy first")
		assert.Equal(t, "fast", gjson.Get(stats, fmt.Sprintf(`models.#(model==%q).rankings.0.vendors.0.vendor`, modelB)).String())

		// The failover is a decision, with its attempts and reasons.
		d := gjson.Get(stats, fmt.Sprintf(`decisions.#(model==%q)`, modelA))
		require.True(t, d.Exists(), stats)
		assert.Equal(t, "steady", d.Get("vendor").String())
		assert.Equal(t, "success", d.Get("outcome").String())
		assert.Equal(t, int64(2), d.Get("attempts").Int())
		assert.Equal(t, "broken", d.Get("failed_attempts.0.vendor").String())
		assert.Equal(t, int64(429), d.Get("failed_attempts.0.status").Int())
		assert.Equal(t, "rate_limited", d.Get("failed_attempts.0.reason").String())
		assert.Equal(t, []any{"broken", "steady", "fast"}, d.Get("ranked.#.vendor").Value())

		resp, usage := getDashboard(t, base+"usage?group_by=client,model")
		require.Equal(t, http.StatusOK, resp.StatusCode, usage)
		assert.Equal(t, int64(5), gjson.Get(usage, fmt.Sprintf(`rows.#(model==%q).requests`, modelA)).Int(), usage)

		resp, body := getDashboard(t, base+"stats?prompt_tokens=lots")
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Contains(t, gjson.Get(body, "error").String(), "prompt_tokens")
	}

	// The mounted handler leaves other paths to the next handler.
	resp, _ := getDashboard(t, routerURL+"/dash/nothing-here")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	req, err := http.NewRequest(http.MethodPost, routerURL+"/dash/stats", strings.NewReader("{}"))
	require.NoError(t, err)
	resp, err = client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "the dashboard writes nothing")
}
