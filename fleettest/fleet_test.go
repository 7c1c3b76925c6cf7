package fleettest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
	"github.com/caddy-llm/llmrouter/internal/testservices"
)

// Usage every fake vendor of these tests reports per answer.
const (
	promptTokens     = 11
	completionTokens = 7
)

// Two instances behind one load balancer share one Redis and one
// PostgreSQL. A vendor that answers instance A with 429 and Retry-After is
// avoided by instance B at once, without B sending it a request; the rows
// of both land in the one ledger, and /llm_router/usage on either instance
// totals what the fake vendors served.
func TestFleet_SharesBreakersAndLedger(t *testing.T) {
	dsn := createDatabase(t)
	redisAddr := testservices.RedisAddr(t)
	prefix := "llmr-fleettest-" + randomHex(6) + ":"

	cheap := fakevendor.Start(t, fakevendor.Options{Name: "cheap", PromptTokens: promptTokens, CompletionTokens: completionTokens})
	dear := fakevendor.Start(t, fakevendor.Options{Name: "dear", PromptTokens: promptTokens, CompletionTokens: completionTokens})
	block := fmt.Sprintf(`		routing price
		ledger_key {http.request.header.X-Client}
		ledger postgres %q
		ledger_flush_interval 100ms
		shared redis %s {
			key_prefix %s
			sync_interval 200ms
		}
		vendor cheap openai_compatible {
			base_url %s
			model fleet-model input 1 output 2
		}
		vendor dear openai_compatible {
			base_url %s
			model fleet-model input 10 output 20
		}`, dsn, redisAddr, prefix, cheap.URL(), dear.URL())
	a := startInstance(t, "A", "", block)
	b := startInstance(t, "B", "", block)
	client := &http.Client{Timeout: 10 * time.Second}

	send := func(in *instance, wantVendor, wantAttempts string) {
		t.Helper()
		resp, body, err := chat(t, client, in.url, "fleet-model", "client-"+in.name)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", in.name, body)
		assert.Equal(t, wantVendor, resp.Header.Get("X-LLM-Vendor"), "%s: %s", in.name, body)
		assert.Equal(t, wantAttempts, resp.Header.Get("X-LLM-Attempts"), in.name)
	}
	// Both instances know the cheap vendor works.
	send(a, "cheap", "1")
	send(b, "cheap", "1")
	require.Equal(t, 2, cheap.Count())

	// The cheap vendor starts refusing: A meets it once, fails over, and
	// opens its breaker for the Retry-After.
	cheap.SetOptions(fakevendor.Options{Name: "cheap", Status: http.StatusTooManyRequests,
		Header: http.Header{"Retry-After": {"60"}}})
	send(a, "dear", "2")
	require.Equal(t, 3, cheap.Count())

	// Within a second, B honours A's breaker: it goes straight to the dear
	// vendor and never sends the cheap one a request.
	time.Sleep(time.Second)
	for range 5 {
		send(b, "dear", "1")
		send(a, "dear", "1")
	}
	assert.Equal(t, 3, cheap.Count(), "instance B sent requests to the vendor whose breaker A opened")

	// Both instances' rows are in the one ledger: either instance's usage
	// query totals all 13 requests, and the tokens the vendors served. (A
	// usage query writes what its own instance has queued first; the other
	// instance's last rows may still wait for its next flush, 100ms.)
	usage(t, a, "")
	usage(t, b, "")
	served := 2 + dear.Count() // cheap's two successes, and every dear answer
	require.Equal(t, 11, dear.Count())
	wantCost := 2*(promptTokens*1+completionTokens*2)/1e6 + float64(dear.Count())*(promptTokens*10+completionTokens*20)/1e6
	for _, in := range []*instance{a, b} {
		rows := usage(t, in, "group_by=vendor")
		var requests, successes, prompt, completion int64
		var cost float64
		for _, r := range rows {
			requests += r.Requests
			successes += r.Successes
			prompt += r.PromptTokens
			completion += r.CompletionTokens
			cost += r.BillableCostUSD
		}
		assert.EqualValues(t, 13, requests, "%s's usage: %+v", in.name, rows)
		assert.EqualValues(t, served, successes, in.name)
		assert.EqualValues(t, served*promptTokens, prompt, in.name)
		assert.EqualValues(t, served*completionTokens, completion, in.name)
		assert.InDelta(t, wantCost, cost, 1e-6, in.name)
	}
	// One row per request, from both instances.
	assert.Equal(t, 13, countRows(t, dsn, ""))
	assert.Equal(t, 7, countRows(t, dsn, "client-A"))
	assert.Equal(t, 6, countRows(t, dsn, "client-B"))
}

// usageRow is a row of /llm_router/usage.
type usageRow struct {
	Start            time.Time `json:"start"`
	Client           string    `json:"client"`
	Model            string    `json:"model"`
	Vendor           string    `json:"vendor"`
	Requests         int64     `json:"requests"`
	Successes        int64     `json:"successes"`
	Failures         int64     `json:"failures"`
	PromptTokens     int64     `json:"billable_prompt_tokens"`
	CompletionTokens int64     `json:"billable_completion_tokens"`
	BillableCostUSD  float64   `json:"billable_cost_usd"`
	AbsorbedCostUSD  float64   `json:"absorbed_cost_usd"`
}

// usage queries an instance's /llm_router/usage.
func usage(t testing.TB, in *instance, query string) []usageRow {
	t.Helper()
	resp, err := http.Get(in.admin + "/llm_router/usage?" + query)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct {
		Rows []usageRow `json:"rows"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out.Rows
}

// createDatabase makes a fresh database on the test PostgreSQL, dropped
// when the test ends, and returns its URL.
func createDatabase(t testing.TB) string {
	t.Helper()
	admin := testservices.PostgresURL(t)
	name := "llmr_fleettest_" + randomHex(6)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(admin)
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

// countRows counts the request rows of a client ("" for all) in the
// PostgreSQL ledger at dsn.
func countRows(t testing.TB, dsn, client string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int
	q := "SELECT count(*) FROM " + requestsTable
	args := []any{}
	if client != "" {
		q += " WHERE client = $1"
		args = append(args, client)
	}
	require.NoError(t, conn.QueryRow(ctx, q, args...).Scan(&n))
	return n
}

// requestsTable is the ledger's table of request rows.
const requestsTable = "llm_requests"

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
