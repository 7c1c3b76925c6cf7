package llmrouter_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// A first vendor that stalls is hedged on the next one after the hedge
// delay: the hedge's answer reaches the client whole, the stalled attempt's
// connection is closed at once, and only the winner is billed; the loser's
// prompt is absorbed.
func TestHedgeCancelsTheSlowVendor(t *testing.T) {
	usual := fakevendor.Start(t, fakevendor.Options{Name: "usual", TTFT: 20 * time.Millisecond, PromptTokens: 40, CompletionTokens: 7})
	backup := fakevendor.Start(t, fakevendor.Options{Name: "backup", TTFT: 150 * time.Millisecond, PromptTokens: 40, CompletionTokens: 7})
	startRouter(t, routerBlock([]string{"exploration 0", `hedge {
		after p90 min 100ms max 2s
		budget 100%
	}`},
		vendorBlock("usual", "openai", usual.URL(), "sk-u", "model hedge-model input 1 output 2"),
		vendorBlock("backup", "openai", backup.URL(), "sk-b", "model hedge-model input 3 output 4"),
	))

	// Both get measured; then the usual one ranks first and answers well
	// within the hedge delay: no hedge.
	for range 6 {
		resp, body := chat(t, "hedge-model", `"stream":true`)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Empty(t, resp.Header.Get("X-LLM-Hedged"), "a vendor on time is not hedged")
	}
	resp, body := chat(t, "hedge-model", `"stream":true`)
	require.Equal(t, "usual", resp.Header.Get("X-LLM-Vendor"), body)

	// Now it stalls.
	usual.SetOptions(fakevendor.Options{Name: "usual", TTFT: 5 * time.Second})
	usualBefore := usual.Cancelled()
	token := fmt.Sprintf("hedged-%d", time.Now().UnixNano())
	start := time.Now()
	resp, body = chat(t, "hedge-model", `"stream":true`, "Authorization", "Bearer "+token)
	took := time.Since(start)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "backup", resp.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, "won; after_ms=100", resp.Header.Get("X-LLM-Hedged"))
	assert.Equal(t, "2", resp.Header.Get("X-LLM-Attempts"))
	assert.Less(t, took, 2*time.Second, "the stalled vendor was not waited for")
	assert.Contains(t, body, `"content":" backup."`, "the winner's words")
	assert.True(t, strings.HasSuffix(strings.TrimSpace(body), "data: [DONE]"), "the winner's answer is complete: %s", body)
	require.Eventually(t, func() bool { return usual.Cancelled() == usualBefore+1 }, 3*time.Second, 10*time.Millisecond,
		"the loser's vendor saw its connection close")

	c := clientStats(t, clientKey(token))
	assert.Equal(t, int64(1), c.Get("billable_requests").Int())
	assert.Equal(t, int64(40), c.Get("billable_prompt_tokens").Int())
	assert.Equal(t, int64(7), c.Get("billable_completion_tokens").Int())
	assert.InDelta(t, (40*3+7*4)/1e6, c.Get("billable_cost_usd").Float(), 1e-12, "the winner, at the winner's price")
	assert.Positive(t, c.Get("absorbed_prompt_tokens").Int(), "the loser's prompt is absorbed")
	assert.InDelta(t, float64(c.Get("absorbed_prompt_tokens").Int())*1/1e6, c.Get("absorbed_cost_usd").Float(), 1e-12,
		"at the loser's input price")

	metrics := strings.Join(scrapeMetrics(t), "\n")
	assert.Contains(t, metrics, `caddy_llm_router_hedges_total{model="hedge-model",result="started"} 1`)
	assert.Contains(t, metrics, `caddy_llm_router_hedges_total{model="hedge-model",result="won"} 1`)
	assert.NotContains(t, metrics, `caddy_llm_router_failovers_total{model="hedge-model"`, "a cancelled loser is no vendor failure")

	// A pinned request is never hedged.
	usual.SetOptions(fakevendor.Options{Name: "usual", TTFT: 300 * time.Millisecond})
	resp, body = chat(t, "hedge-model", `"stream":true`, "vendor", "usual")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Empty(t, resp.Header.Get("X-LLM-Hedged"))
	assert.Equal(t, "1", resp.Header.Get("X-LLM-Attempts"))
}

// A client that asks for one JSON answer is hedged too: both vendors are
// asked for a stream (with its usage, to meter it), and the winner's stream
// reaches the client assembled into the chat.completion that vendor answers
// without streaming, with its length; the stalled vendor sees its connection
// close, and only the winner is billed.
func TestHedgeNonStreamedRequest(t *testing.T) {
	usual := fakevendor.Start(t, fakevendor.Options{Name: "usual", TTFT: 20 * time.Millisecond, PromptTokens: 40, CompletionTokens: 7})
	backup := fakevendor.Start(t, fakevendor.Options{Name: "backup", TTFT: 150 * time.Millisecond, PromptTokens: 40, CompletionTokens: 7, CachedTokens: 8})
	spare := fakevendor.Start(t, fakevendor.Options{Name: "spare", TTFT: 400 * time.Millisecond, PromptTokens: 40, CompletionTokens: 7})
	startRouter(t, routerBlock([]string{"exploration 0", `hedge {
		after p90 min 100ms max 2s
		budget 100%
	}`},
		vendorBlock("usual", "openai", usual.URL(), "sk-u", "model hedge-json-model input 1 output 2"),
		vendorBlock("backup", "openai", backup.URL(), "sk-b", "model hedge-json-model input 3 output 4"),
		vendorBlock("spare", "openai", spare.URL(), "sk-s", "model hedge-json-model input 5 output 6"),
	))

	for range 8 {
		resp, body := chat(t, "hedge-json-model", "")
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Equal(t, "chat.completion", gjson.Get(body, "object").String(), body)
		assert.Empty(t, resp.Header.Get("X-LLM-Hedged"), "a vendor on time is not hedged")
	}
	resp, body := chat(t, "hedge-json-model", "")
	require.Equal(t, "usual", resp.Header.Get("X-LLM-Vendor"), body)

	// Now it stalls.
	usual.SetOptions(fakevendor.Options{Name: "usual", TTFT: 5 * time.Second})
	usualBefore := usual.Cancelled()
	backup.Reset()
	token := fmt.Sprintf("hedged-json-%d", time.Now().UnixNano())
	start := time.Now()
	resp, body = chat(t, "hedge-json-model", "", "Authorization", "Bearer "+token)
	took := time.Since(start)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "backup", resp.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, "hedge-json-model", resp.Header.Get("X-LLM-Model"))
	assert.Equal(t, "won; after_ms=100", resp.Header.Get("X-LLM-Hedged"))
	assert.Equal(t, "2", resp.Header.Get("X-LLM-Attempts"))
	assert.Less(t, took, 2*time.Second, "the stalled vendor was not waited for")
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, int64(len(body)), resp.ContentLength, "the answer's length is known")
	require.Eventually(t, func() bool { return usual.Cancelled() == usualBefore+1 }, 3*time.Second, 10*time.Millisecond,
		"the loser's vendor saw its connection close")

	reqs := backup.Requests()
	require.Len(t, reqs, 1)
	assert.True(t, gjson.GetBytes(reqs[0].Body, "stream").Bool(), "the hedge streams from the vendor: %s", reqs[0].Body)
	assert.True(t, gjson.GetBytes(reqs[0].Body, "stream_options.include_usage").Bool(), "with its usage")

	// What the same vendor answers without a stream, but for its id and time.
	direct, err := http.Post(backup.URL()+"/chat/completions", "application/json",
		strings.NewReader(`{"model":"hedge-json-model","messages":[{"role":"user","content":"Say hello"}]}`))
	require.NoError(t, err)
	want := readAll(t, direct.Body)
	direct.Body.Close()
	normalize := func(s string) string {
		s, _ = sjson.Set(s, "id", "x")
		s, _ = sjson.Set(s, "created", 1)
		return s
	}
	assert.JSONEq(t, normalize(want), normalize(body))
	assert.True(t, strings.HasPrefix(gjson.Get(body, "id").String(), "chatcmpl-"))

	c := clientStats(t, clientKey(token))
	assert.Equal(t, int64(1), c.Get("billable_requests").Int())
	assert.Equal(t, int64(40), c.Get("billable_prompt_tokens").Int())
	assert.Equal(t, int64(7), c.Get("billable_completion_tokens").Int())
	assert.InDelta(t, (40*3+7*4)/1e6, c.Get("billable_cost_usd").Float(), 1e-6, "the winner, at the winner's price")
	assert.Positive(t, c.Get("absorbed_prompt_tokens").Int(), "the loser's prompt is absorbed")
	assert.Zero(t, c.Get("absorbed_completion_tokens").Int())

	metrics := strings.Join(scrapeMetrics(t), "\n")
	assert.Contains(t, metrics, `caddy_llm_router_hedges_total{model="hedge-json-model",result="won"} 1`)
	assert.NotContains(t, metrics, `caddy_llm_router_failovers_total{model="hedge-json-model"`, "a cancelled loser is no vendor failure")

	// A winner whose stream breaks after its first token is, for a client
	// that wants the whole answer, a failed attempt: the request fails over
	// (to the spare, asked as the client asked) and nothing broken is billed.
	backup.SetOptions(fakevendor.Options{Name: "backup", TTFT: 150 * time.Millisecond, PromptTokens: 40,
		Fault: fakevendor.FaultCutAfter, CutAfter: 1})
	spare.Reset()
	token = fmt.Sprintf("hedged-json-cut-%d", time.Now().UnixNano())
	resp, body = chat(t, "hedge-json-model", "", "Authorization", "Bearer "+token)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "spare", resp.Header.Get("X-LLM-Vendor"), body)
	assert.Equal(t, "3", resp.Header.Get("X-LLM-Attempts"))
	assert.Equal(t, "Hello from spare.", gjson.Get(body, "choices.0.message.content").String())
	require.Len(t, spare.Requests(), 1)
	assert.False(t, gjson.GetBytes(spare.Requests()[0].Body, "stream").Exists(), "a failover after the race is an ordinary attempt")
	c = clientStats(t, clientKey(token))
	assert.Equal(t, int64(1), c.Get("billable_requests").Int())
	assert.InDelta(t, (40*5+7*6)/1e6, c.Get("billable_cost_usd").Float(), 1e-6, "the spare alone is billed")
	metrics = strings.Join(scrapeMetrics(t), "\n")
	assert.Contains(t, metrics, `caddy_llm_router_failovers_total{model="hedge-json-model",reason="stream_broken",vendor="backup"} 1`)
}
