package llmrouter_test

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	llmrouter "github.com/caddy-llm/llmrouter"
	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// A request rate limit admits exactly its limit per window, says what is
// left in OpenAI's x-ratelimit-* headers (replacing the vendor's own), and
// refuses the rest with 429 rate_limit_exceeded and the exact wait.
func TestLimits_RequestRate(t *testing.T) {
	fake := fakevendor.Start(t, fakevendor.Options{Name: "ok",
		Header: http.Header{"X-Ratelimit-Remaining-Requests": {"9999"}, "X-Ratelimit-Limit-Requests": {"10000"}}})
	startRouter(t, routerBlock([]string{"ledger memory", "ledger_key {http.request.header.X-Client}",
		clientLimits("requests 3 per 1m")},
		vendorBlock("ok", "openai_compatible", fake.URL(), "", "model limits-rate")))
	client := fmt.Sprint("rate-", time.Now().UnixNano())

	for i := range 3 {
		resp, body := chat(t, "limits-rate", "", "X-Client", client)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Equal(t, []string{"3"}, resp.Header.Values("X-Ratelimit-Limit-Requests"), "the vendor's own headers are replaced")
		assert.Equal(t, []string{strconv.Itoa(2 - i)}, resp.Header.Values("X-Ratelimit-Remaining-Requests"))
		assert.NotEmpty(t, resp.Header.Get("X-Ratelimit-Reset-Requests"))
	}
	resp, body := chat(t, "limits-rate", "", "X-Client", client)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, body)
	assert.Equal(t, "rate_limit_exceeded", gjson.Get(body, "error.code").String(), body)
	assert.Equal(t, "rate_limit_error", gjson.Get(body, "error.type").String())
	assert.Contains(t, gjson.Get(body, "error.message").String(), "3 requests per 1m0s")
	ms, err := strconv.Atoi(resp.Header.Get("Retry-After-Ms"))
	require.NoError(t, err, "Retry-After-Ms: %q", resp.Header.Get("Retry-After-Ms"))
	assert.Greater(t, ms, 0)
	// The window slides by estimate (the previous minute's count weighted
	// by its overlap), so the wait can pass the end of this minute.
	assert.LessOrEqual(t, ms, 120_000)
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err)
	assert.Equal(t, (ms+999)/1000, secs)
	assert.Equal(t, "0", resp.Header.Get("X-Ratelimit-Remaining-Requests"))
	assert.Equal(t, 3, fake.Count(), "a refused request never reaches a vendor")

	// Another client has limits of its own.
	resp, body = chat(t, "limits-rate", "", "X-Client", client+"-other")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)

	// Clients whose key resolves to nothing share the anonymous bucket.
	for range 3 {
		resp, body = chat(t, "limits-rate", "", "Authorization", fmt.Sprint("Bearer anon-", time.Now().UnixNano()))
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
	}
	resp, body = chat(t, "limits-rate", "")
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the anonymous bucket is one client: %s", body)

	// /llm_router/stats shows the client's limit and what is used.
	status, stats := adminGet(t, "/llm_router/stats")
	require.Equal(t, http.StatusOK, status)
	found := false
	for _, c := range gjson.Get(stats, "limits").Array() {
		if c.Get("client").String() == client {
			found = true
			l := c.Get("limits.0")
			assert.Equal(t, "requests", l.Get("kind").String(), stats)
			assert.EqualValues(t, 3, l.Get("limit").Int())
			assert.EqualValues(t, 3, l.Get("used").Int())
		}
	}
	assert.True(t, found, "no limits of %s in %s", client, stats)
}

// A hard budget never overshoots: a request that sets no max_tokens gets
// one, its worst case is reserved, and once what is left cannot cover a
// worst case the client gets 429 insufficient_quota/budget_exceeded with
// x-should-retry: false. Failed requests cost the budget nothing.
func TestLimits_HardBudget(t *testing.T) {
	// $1 per 1M tokens both ways: a token is a micro-dollar. The router
	// sets max_tokens 4096, so a worst case is the prompt plus 4096; each
	// answer really uses 3000 completion tokens.
	ok := fakevendor.Start(t, fakevendor.Options{Name: "ok", PromptTokens: 10, CompletionTokens: 3000})
	down := fakevendor.Start(t, fakevendor.Options{Name: "down", Status: http.StatusInternalServerError})
	startRouter(t, routerBlock([]string{"ledger memory",
		clientLimits("usd 0.01 per day hard")},
		vendorBlock("ok", "openai_compatible", ok.URL(), "", "model budget-ok input 1 output 1"),
		vendorBlock("down", "openai_compatible", down.URL(), "", "model budget-down input 1 output 1")))
	client := fmt.Sprint("budget-", time.Now().UnixNano())

	// Failures first: they are absorbed, never charged.
	for range 5 {
		resp, body := chat(t, "budget-down", "", "X-Client", client)
		require.NotEqual(t, http.StatusOK, resp.StatusCode, body)
		require.NotEqual(t, http.StatusTooManyRequests, resp.StatusCode, "failed requests spent the budget: %s", body)
	}

	admitted := 0
	for range 10 {
		resp, body := chat(t, "budget-ok", "", "X-Client", client)
		if resp.StatusCode == http.StatusTooManyRequests {
			assert.Equal(t, "insufficient_quota", gjson.Get(body, "error.type").String(), body)
			assert.Equal(t, "budget_exceeded", gjson.Get(body, "error.code").String())
			assert.Contains(t, gjson.Get(body, "error.message").String(), "$0.01 per day (hard)")
			assert.Equal(t, "false", resp.Header.Get("X-Should-Retry"))
			assert.NotEmpty(t, resp.Header.Get("Retry-After"))
			assert.NotEmpty(t, resp.Header.Get("X-Llm-Budget-Reset"))
			break
		}
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		admitted++
		assert.NotEmpty(t, resp.Header.Get("X-Llm-Budget-Remaining-Usd"))
	}
	// 10,000 µUSD: each admission needs 4,106 left, each request spends
	// 3,010, so exactly two fit (0 → 3,010 → 6,020; then 3,980 < 4,106).
	assert.Equal(t, 2, admitted)
	for _, r := range ok.Requests() {
		// openai_compatible: the router's cap as max_tokens, the name every
		// such server knows.
		assert.EqualValues(t, 4096, gjson.GetBytes(r.Body, "max_tokens").Int(), "the router bounds the worst case")
		assert.False(t, gjson.GetBytes(r.Body, "max_completion_tokens").Exists())
	}
}

// The cap a hard budget adds reaches OpenAI as max_completion_tokens, the
// only name its reasoning models (o-series, gpt-5) accept, and DeepSeek as
// max_tokens, the only one it documents; a failover from one to the other
// carries the cap across.
func TestLimits_HardBudgetCapNames(t *testing.T) {
	openai := fakevendor.Start(t, fakevendor.Options{Name: "openai", Status: http.StatusServiceUnavailable})
	deepseek := fakevendor.Start(t, fakevendor.Options{Name: "deepseek"})
	startRouter(t, routerBlock([]string{"ledger memory",
		clientLimits("usd 1 per day hard")},
		vendorBlock("openai", "openai", openai.URL(), "sk-o", "probe off", "model cap-o3 as o3 input 0.1 output 0.1"),
		vendorBlock("deepseek", "deepseek", deepseek.URL(), "sk-d", "probe off", "model cap-o3 as deepseek-chat input 1 output 1")))

	resp, body := chat(t, "cap-o3", `"routing":"price"`, "X-Client", fmt.Sprint("cap-", time.Now().UnixNano()))
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Len(t, openai.Requests(), 1, "the cheaper vendor is tried first")
	o := openai.Requests()[0].Body
	assert.EqualValues(t, llmrouter.DefaultLimitMaxTokens, gjson.GetBytes(o, "max_completion_tokens").Int(), "%s", o)
	assert.False(t, gjson.GetBytes(o, "max_tokens").Exists(), "%s", o)
	require.Len(t, deepseek.Requests(), 1)
	d := deepseek.Requests()[0].Body
	assert.EqualValues(t, llmrouter.DefaultLimitMaxTokens, gjson.GetBytes(d, "max_tokens").Int(), "%s", d)
	assert.False(t, gjson.GetBytes(d, "max_completion_tokens").Exists(), "%s", d)
}

// A request refused by one limit still hears about the others: its 429
// carries the token limit's and the budget's headers beside the refused
// request rate's, as OpenAI's 429s carry every x-ratelimit-* header.
func TestLimits_RefusalCarriesEveryLimit(t *testing.T) {
	fake := fakevendor.Start(t, fakevendor.Options{Name: "ok", PromptTokens: 10, CompletionTokens: 20})
	startRouter(t, routerBlock([]string{"ledger memory",
		clientLimits("requests 1 per 1m", "tokens 100k per 1m", "usd 10 per day")},
		vendorBlock("ok", "openai_compatible", fake.URL(), "", "model limits-every input 1 output 1")))
	client := fmt.Sprint("every-", time.Now().UnixNano())

	resp, body := chat(t, "limits-every", `"max_tokens":100`, "X-Client", client)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	resp, body = chat(t, "limits-every", `"max_tokens":100`, "X-Client", client)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, body)
	assert.Equal(t, "rate_limit_exceeded", gjson.Get(body, "error.code").String(), body)
	assert.Equal(t, "0", resp.Header.Get("X-Ratelimit-Remaining-Requests"), "the refused limit")
	assert.Equal(t, "100000", resp.Header.Get("X-Ratelimit-Limit-Tokens"), "the limits that did not refuse")
	left, err := strconv.Atoi(resp.Header.Get("X-Ratelimit-Remaining-Tokens"))
	require.NoError(t, err, "X-Ratelimit-Remaining-Tokens: %q", resp.Header.Get("X-Ratelimit-Remaining-Tokens"))
	assert.Equal(t, 100_000-30, left, "what the admitted request used")
	assert.NotEmpty(t, resp.Header.Get("X-Ratelimit-Reset-Tokens"))
	assert.Equal(t, "9.999970", resp.Header.Get("X-Llm-Budget-Remaining-Usd"), "$10 less 30 tokens at $1 per 1M")
	assert.NotEmpty(t, resp.Header.Get("X-Llm-Budget-Reset"))
	assert.Equal(t, 1, fake.Count())
}

// clientLimits is a limits block keyed on the X-Client header whose default
// tier has settings, one per line.
func clientLimits(settings ...string) string {
	return "limits {\n\t\tkey {http.request.header.X-Client}\n\t\ttier default {\n\t\t\t" +
		strings.Join(settings, "\n\t\t\t") + "\n\t\t}\n\t}"
}

// A concurrency limit holds requests in flight to its number; a slot comes
// back when a request ends.
func TestLimits_Concurrency(t *testing.T) {
	slow := fakevendor.Start(t, fakevendor.Options{Name: "slow", TTFT: 300 * time.Millisecond})
	startRouter(t, routerBlock([]string{"ledger memory",
		clientLimits("concurrent 1")},
		vendorBlock("slow", "openai_compatible", slow.URL(), "", "model limits-slow")))
	client := fmt.Sprint("conc-", time.Now().UnixNano())

	var wg sync.WaitGroup
	var first int
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, _ := chat(t, "limits-slow", "", "X-Client", client)
		first = resp.StatusCode
	}()
	// The second request goes while the first is at the vendor.
	require.Eventually(t, func() bool { return slow.Count() == 1 }, 10*time.Second, time.Millisecond)
	resp, body := chat(t, "limits-slow", "", "X-Client", client)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, body)
	assert.Equal(t, "rate_limit_exceeded", gjson.Get(body, "error.code").String())
	wg.Wait()
	assert.Equal(t, http.StatusOK, first)
	resp, body = chat(t, "limits-slow", "", "X-Client", client)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the slot came back: %s", body)
}

// A tier the configuration does not know is refused: a misspelt tier must
// not lift a client's limits.
func TestLimits_UnknownTier(t *testing.T) {
	fake := fakevendor.Start(t, fakevendor.Options{Name: "ok"})
	startRouter(t, routerBlock([]string{"ledger memory",
		"limits {\n\t\ttier_from {http.request.header.X-Tier}\n\t\ttier gold {\n\t\t\trequests 100 per 1m\n\t\t}\n\t}"},
		vendorBlock("ok", "openai_compatible", fake.URL(), "", "model limits-tier")))
	resp, body := chat(t, "limits-tier", "", "X-Tier", "platinum")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, body)
	assert.Equal(t, "unknown_tier", gjson.Get(body, "error.code").String())
	resp, body = chat(t, "limits-tier", "", "X-Tier", "gold")
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "100", resp.Header.Get("X-Ratelimit-Limit-Requests"))
}

// A token limit smaller than a request's worst case (no max_tokens: up to
// 4096 completion tokens) still admits into an empty window, then counts
// what the answer used.
func TestLimits_SmallTokenLimit(t *testing.T) {
	fake := fakevendor.Start(t, fakevendor.Options{Name: "ok", PromptTokens: 20, CompletionTokens: 30})
	startRouter(t, routerBlock([]string{"ledger memory",
		clientLimits("tokens 100 per 1m")},
		vendorBlock("ok", "openai_compatible", fake.URL(), "", "model limits-tokens")))
	client := fmt.Sprint("tokens-", time.Now().UnixNano())
	resp, body := chat(t, "limits-tokens", "", "X-Client", client)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "100", resp.Header.Get("X-Ratelimit-Limit-Tokens"))
	// 50 used; the next worst case (the whole window) no longer fits.
	resp, body = chat(t, "limits-tokens", "", "X-Client", client)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, body)
	assert.Equal(t, "rate_limit_exceeded", gjson.Get(body, "error.code").String())
	assert.Contains(t, gjson.Get(body, "error.message").String(), "100 total tokens per 1m0s")
	// With a max_tokens that fits, it goes.
	resp, body = chat(t, "limits-tokens", `"max_tokens":10`, "X-Client", client)
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
}

// With the shared counters unreachable, on_error local (the default) keeps
// enforcing each limit in memory (this instance's share of it: the whole
// limit, as it knows of no other instance), and on_error closed refuses
// with 503 limits_unavailable.
func TestLimits_RedisDown(t *testing.T) {
	fake := fakevendor.Start(t, fakevendor.Options{Name: "ok"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	ln.Close()
	config := func(onError string) string {
		return routerBlock([]string{"ledger memory",
			fmt.Sprintf("shared redis %s {\n\t\ttimeout 100ms\n\t\tdial_timeout 100ms\n\t}", closed),
			"limits {\n\t\tkey {http.request.header.X-Client}\n\t\ton_error " + onError +
				"\n\t\ttier default {\n\t\t\trequests 2 per 1m\n\t\t}\n\t}"},
			vendorBlock("ok", "openai_compatible", fake.URL(), "", "model limits-down"))
	}

	startRouter(t, config("local"))
	client := fmt.Sprint("down-", time.Now().UnixNano())
	for range 2 {
		resp, body := chat(t, "limits-down", "", "X-Client", client)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
	}
	resp, body := chat(t, "limits-down", "", "X-Client", client)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "enforced locally: %s", body)

	startRouter(t, config("closed"))
	resp, body = chat(t, "limits-down", "", "X-Client", client+"-closed")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, body)
	assert.Equal(t, "limits_unavailable", gjson.Get(body, "error.code").String())
}
