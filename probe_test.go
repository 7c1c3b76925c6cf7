package llmrouter_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// A breaker opened by a rejected key closes once a free model lookup with
// the vendor's key succeeds again, with no client request and no token
// spent; a breaker opened by throttling does not, whatever the probe says.
func TestModelsProbeClosesAuthBreakerOnly(t *testing.T) {
	claude := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Reply: "From Claude", RequireKey: "rotated"})
	limited := fakevendor.Start(t, fakevendor.Options{Name: "limited", Status: http.StatusTooManyRequests,
		Header: http.Header{"Retry-After": {"60"}}})
	backup := fakevendor.Start(t, fakevendor.Options{Name: "backup"})
	startRouter(t, routerBlock([]string{"cooldown 1m 1m"},
		vendorBlock("anthropic", "anthropic", claude.URL(), "sk-good", "probe models interval 200ms",
			"model m as claude-sonnet-4-5 input 1 output 1"),
		vendorBlock("limited", "openai", limited.URL()+"/v1", "sk-l", "probe models interval 200ms",
			"model m input 2 output 2"),
		vendorBlock("backup", "openai", backup.URL()+"/v1", "sk-b", "probe off", "model m input 3 output 3")))

	// The key was rotated at Anthropic: the request fails over, the
	// breaker opens for auth; the throttled vendor's opens for its 429.
	resp, body := chat(t, "m", `"routing":"price"`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "backup", resp.Header.Get("X-Llm-Vendor"))
	assert.Equal(t, "open", adminStats(t, "anthropic", "m").Get("breaker").String())
	assert.Equal(t, "auth", adminStats(t, "anthropic", "m").Get("breaker_cause").String())
	assert.Equal(t, "rate_limit", adminStats(t, "limited", "m").Get("breaker_cause").String())
	// (A probe may have found the rotated key before the request did.)
	completions := claude.Count()

	// While the key is still wrong, probes fail and the breaker stays open.
	require.Eventually(t, func() bool { n, _ := claude.ModelLookups(); return n >= 1 }, 15*time.Second, 20*time.Millisecond)
	assert.Equal(t, "open", adminStats(t, "anthropic", "m").Get("breaker").String())

	// The operator's key is accepted again: the next probe closes it.
	claude.SetOptions(fakevendor.AnthropicOptions{Reply: "From Claude", RequireKey: "sk-good"})
	require.Eventually(t, func() bool {
		return adminStats(t, "anthropic", "m").Get("breaker").String() == "closed"
	}, 5*time.Second, 50*time.Millisecond, "a successful probe closes an auth breaker")
	_, paths := claude.ModelLookups()
	assert.Equal(t, "/v1/models/claude-sonnet-4-5", paths[len(paths)-1])
	assert.Equal(t, completions, claude.Count(), "no completion was sent to find out")

	// The throttled vendor is not probed (a lookup would succeed, and prove
	// nothing about the throttling): its breaker stays open until a real
	// request shows the throttling is over.
	time.Sleep(time.Second) // five probe intervals
	n, _ := limited.ModelLookups()
	assert.Zero(t, n)
	assert.Equal(t, "open", adminStats(t, "limited", "m").Get("breaker").String())
	assert.Equal(t, 1, limited.Count())
	n, _ = backup.ModelLookups()
	assert.Zero(t, n, "probe off")

	resp, body = chat(t, "m", `"routing":"price"`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "anthropic", resp.Header.Get("X-Llm-Vendor"), "back in use without waiting out the cooldown")
}

// An idle vendor whose key stopped working is found out by a probe before
// any client is sent there: its breaker opens for auth.
func TestProbeFindsABadKeyBeforeAClientDoes(t *testing.T) {
	openai := fakevendor.Start(t, fakevendor.Options{Name: "openai", RequireKey: "sk-right"})
	backup := fakevendor.Start(t, fakevendor.Options{Name: "backup"})
	startRouter(t, routerBlock([]string{"cooldown 1m 1m"},
		vendorBlock("openai", "openai", openai.URL()+"/v1", "sk-wrong", "probe models interval 200ms",
			"model m input 1 output 1"),
		vendorBlock("backup", "openai", backup.URL()+"/v1", "sk-b", "probe off", "model m input 3 output 3")))

	require.Eventually(t, func() bool {
		return adminStats(t, "openai", "m").Get("breaker").String() == "open"
	}, 15*time.Second, 50*time.Millisecond, "the probe of the idle route found the key rejected")
	assert.Equal(t, "auth", adminStats(t, "openai", "m").Get("breaker_cause").String())
	_, paths := openai.ModelLookups()
	assert.Equal(t, "/v1/models/m", paths[0])
	assert.Zero(t, openai.Count())

	resp, body := chat(t, "m", `"routing":"price"`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "backup", resp.Header.Get("X-Llm-Vendor"))
	assert.Equal(t, "1", resp.Header.Get("X-Llm-Attempts"), "the client never waited on the bad key")
	assert.Zero(t, openai.Count())
}

// completion probes send the smallest chat request, and its cost is the
// house's: the ledger keeps it under the client "(probe)", never billable.
func TestCompletionProbeIsAbsorbed(t *testing.T) {
	v := fakevendor.Start(t, fakevendor.Options{Name: "v", PromptTokens: 9, CompletionTokens: 1})
	startRouter(t, routerBlock([]string{"ledger memory"},
		vendorBlock("v", "openai", v.URL()+"/v1", "sk-v", "probe completion interval 200ms", "model m input 1000 output 1000")))

	require.Eventually(t, func() bool { return v.Count() >= 1 }, 15*time.Second, 20*time.Millisecond)
	sent := v.Requests()[0]
	assert.Equal(t, "/v1/chat/completions", sent.Path)
	assert.Equal(t, int64(1), gjson.GetBytes(sent.Body, "max_completion_tokens").Int())
	assert.Equal(t, "m", gjson.GetBytes(sent.Body, "model").String())

	var probe gjson.Result
	require.Eventually(t, func() bool {
		resp, err := client.Get("http://localhost:2999/llm_router/stats")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, c := range gjson.GetBytes(b, "clients").Array() {
			if c.Get("client").String() == "(probe)" {
				probe = c
				return true
			}
		}
		return false
	}, 5*time.Second, 50*time.Millisecond)
	assert.Zero(t, probe.Get("billable_cost_usd").Float(), "never billed: %s", probe.Raw)
	assert.Greater(t, probe.Get("absorbed_cost_usd").Float(), 0.0, "absorbed: %s", probe.Raw)
}
