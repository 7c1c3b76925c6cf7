package llmrouter_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// adminGet sends a GET to the admin endpoint and returns status and body.
func adminGet(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := client.Get("http://localhost:2999" + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	return resp.StatusCode, readAll(t, resp.Body)
}

// The SQLite ledger keeps a row per request and answers /llm_router/usage
// from its rollups, by day or hour, grouped as asked, as JSON or CSV;
// /llm_router/stats' per-client totals come from it too.
func TestLedger_UsageEndpoint(t *testing.T) {
	ok := fakevendor.Start(t, fakevendor.Options{Name: "ok", PromptTokens: 20, CompletionTokens: 5})
	down := fakevendor.Start(t, fakevendor.Options{Name: "down", Status: http.StatusInternalServerError})
	dbPath := filepath.Join(t.TempDir(), "usage.db")
	startRouter(t, routerBlock([]string{
		"ledger sqlite " + dbPath,
		"ledger_key {http.request.header.X-Client}",
	},
		vendorBlock("ok", "openai_compatible", ok.URL(), "", "model ledger-ok input 2 output 4"),
		vendorBlock("down", "openai_compatible", down.URL(), "", "model ledger-down input 1 output 1")))

	for range 2 {
		resp, body := chat(t, "ledger-ok", "", "X-Client", "alice")
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
	}
	resp, body := chat(t, "ledger-down", "", "X-Client", "bob")
	require.NotEqual(t, http.StatusOK, resp.StatusCode, body)

	status, body := adminGet(t, "/llm_router/usage?group_by=client,model")
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "day", gjson.Get(body, "granularity").String())
	rows := gjson.Get(body, "rows").Array()
	require.Len(t, rows, 2, body)
	today := time.Now().UTC().Truncate(24 * time.Hour).Format(time.RFC3339)
	alice, bob := rows[0], rows[1]
	assert.Equal(t, today, alice.Get("start").String())
	assert.Equal(t, "alice", alice.Get("client").String())
	assert.Equal(t, "ledger-ok", alice.Get("model").String())
	assert.False(t, alice.Get("vendor").Exists(), "not grouped by vendor: %s", alice)
	assert.EqualValues(t, 2, alice.Get("requests").Int())
	assert.EqualValues(t, 2, alice.Get("successes").Int())
	assert.EqualValues(t, 40, alice.Get("billable_prompt_tokens").Int())
	assert.EqualValues(t, 10, alice.Get("billable_completion_tokens").Int())
	assert.InDelta(t, 2*(20*2+5*4)/1e6, alice.Get("billable_cost_usd").Float(), 1e-12)
	assert.Equal(t, "bob", bob.Get("client").String())
	assert.EqualValues(t, 1, bob.Get("requests").Int())
	assert.EqualValues(t, 1, bob.Get("failures").Int())
	assert.EqualValues(t, 0, bob.Get("billable_cost_usd").Float())

	// By hour, by vendor, in a range.
	hour := time.Now().UTC().Truncate(time.Hour)
	status, body = adminGet(t, fmt.Sprintf("/llm_router/usage?group_by=vendor&granularity=hour&from=%s&to=%s",
		hour.Format(time.RFC3339), hour.Add(time.Hour).Format(time.RFC3339)))
	require.Equal(t, http.StatusOK, status, body)
	rows = gjson.Get(body, "rows").Array()
	require.Len(t, rows, 2, body)
	assert.Equal(t, hour.Format(time.RFC3339), rows[0].Get("start").String())
	// The failed request has no vendor: the ledger names the one that
	// served, and none did.
	assert.Equal(t, "", rows[0].Get("vendor").String(), body)
	assert.EqualValues(t, 1, rows[0].Get("failures").Int())
	assert.Equal(t, "ok", rows[1].Get("vendor").String())
	assert.EqualValues(t, 2, rows[1].Get("successes").Int())

	// Nothing after the range.
	status, body = adminGet(t, "/llm_router/usage?from="+time.Now().UTC().Add(48*time.Hour).Format(time.DateOnly))
	require.Equal(t, http.StatusOK, status, body)
	assert.Empty(t, gjson.Get(body, "rows").Array())

	// CSV, with a header line and the grouping columns asked for.
	status, body = adminGet(t, "/llm_router/usage?group_by=client&format=csv")
	require.Equal(t, http.StatusOK, status, body)
	records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 3, body)
	assert.Equal(t, []string{"start", "client", "requests", "successes", "failures", "billable_prompt_tokens",
		"billable_cached_tokens", "billable_completion_tokens", "absorbed_prompt_tokens", "absorbed_completion_tokens", "billable_cost_usd", "absorbed_cost_usd"}, records[0])
	assert.Equal(t, []string{today, "alice", "2", "2", "0", "40", "0", "10", "0", "0", "0.00012", "0"}, records[1])

	// The per-client totals of /llm_router/stats.
	c := clientStats(t, "alice")
	assert.EqualValues(t, 2, c.Get("billable_requests").Int())
	assert.EqualValues(t, 40, c.Get("billable_prompt_tokens").Int())

	// Bad queries get a 400 that says what is wrong.
	for query, want := range map[string]string{
		"group_by=team":                      "team",
		"granularity=week":                   "week",
		"format=xml":                         "format",
		"from=yesterday":                     "from",
		"from=2026-12-02&to=2026-12-01":      "to must be after from",
		"to=2026-12-01T00:00:00":             "to",
		"group_by=client,client&format=json": "client",
	} {
		status, body := adminGet(t, "/llm_router/usage?"+query)
		assert.Equal(t, http.StatusBadRequest, status, "%s: %s", query, body)
		assert.Contains(t, body, want, query)
	}
}

// Without a ledger that keeps history, /llm_router/usage says so.
func TestLedger_UsageWithoutHistory(t *testing.T) {
	fake := fakevendor.Start(t, fakevendor.Options{Name: "ok"})
	startRouter(t, routerBlock([]string{"ledger memory"},
		vendorBlock("ok", "openai_compatible", fake.URL(), "", "model ledger-memory")))
	status, body := adminGet(t, "/llm_router/usage")
	assert.Equal(t, http.StatusNotFound, status, body)
	assert.Contains(t, body, "no ledger keeps usage over time")
}
