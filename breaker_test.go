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

// adminStats fetches GET /llm_router/stats from Caddy's admin endpoint and
// returns the entry for (vendor, model).
func adminStats(t *testing.T, vendor, model string) gjson.Result {
	t.Helper()
	resp, err := client.Get("http://localhost:2999/llm_router/stats")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	for _, r := range gjson.GetBytes(body, "routes").Array() {
		if r.Get("vendor").String() == vendor && r.Get("model").String() == model {
			return r
		}
	}
	t.Fatalf("no stats for %s/%s in %s", vendor, model, body)
	return gjson.Result{}
}

// A 429 with Retry-After opens the vendor's breaker at once: later requests
// go straight to the other vendor until the wait is over, and the admin API
// shows the breaker open.
func TestRetryAfterOpensBreaker(t *testing.T) {
	limited := fakevendor.Start(t, fakevendor.Options{Name: "limited", Status: http.StatusTooManyRequests,
		Header: http.Header{"Retry-After": {"30"}}})
	spare := fakevendor.Start(t, fakevendor.Options{Name: "spare"})
	startRouter(t, routerBlock([]string{"exploration 0"},
		vendorBlock("limited", "openai_compatible", limited.URL(), "", "model breaker-model input 0.1"),
		vendorBlock("spare", "openai_compatible", spare.URL(), "", "model breaker-model input 1"),
	))

	resp, body := chat(t, "breaker-model", `"routing":"price"`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "2", resp.Header.Get("X-LLM-Attempts"))
	for range 5 {
		resp, _ = chat(t, "breaker-model", `"routing":"price"`)
		assert.Equal(t, "spare", resp.Header.Get("X-LLM-Vendor"))
		assert.Equal(t, "1", resp.Header.Get("X-LLM-Attempts"))
	}
	assert.Equal(t, 1, limited.Count(), "an open breaker keeps traffic away")

	st := adminStats(t, "limited", "breaker-model")
	assert.Equal(t, "open", st.Get("breaker").String())
	openUntil, err := time.Parse(time.RFC3339Nano, st.Get("open_until").String())
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(30*time.Second), openUntil, 5*time.Second)
	assert.Equal(t, int64(1), st.Get("failures").Int())

	// An open vendor is still used when it is the only one left: pinned.
	resp, _ = chat(t, "breaker-model", "", "vendor", "limited")
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, 2, limited.Count())
}

// Consecutive server errors open the breaker after failure_threshold; once the
// cooldown is over one probe goes through, and a success closes it again.
func TestBreakerOpensAndRecovers(t *testing.T) {
	flaky := fakevendor.Start(t, fakevendor.Options{Name: "flaky", Status: http.StatusInternalServerError})
	steady := fakevendor.Start(t, fakevendor.Options{Name: "steady"})
	startRouter(t, routerBlock([]string{"exploration 0", "failure_threshold 2", "cooldown 300ms 1s"},
		vendorBlock("flaky", "openai_compatible", flaky.URL(), "", "model recover-model input 0.1"),
		vendorBlock("steady", "openai_compatible", steady.URL(), "", "model recover-model input 1"),
	))

	// Every request succeeds through failover. A failure below the threshold
	// demotes the flaky vendor for one base cooldown; after that it gets a
	// real request again, whose failure opens the breaker.
	expect := func(vendor, attempts string) {
		t.Helper()
		resp, body := chat(t, "recover-model", `"routing":"price"`)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Equal(t, vendor, resp.Header.Get("X-LLM-Vendor"))
		assert.Equal(t, attempts, resp.Header.Get("X-LLM-Attempts"))
	}
	expect("steady", "2") // flaky fails once
	expect("steady", "1") // demoted: not tried
	assert.Equal(t, "closed", adminStats(t, "flaky", "recover-model").Get("breaker").String())
	time.Sleep(350 * time.Millisecond)
	expect("steady", "2") // tried again, fails: threshold reached
	expect("steady", "1")
	expect("steady", "1")
	assert.Equal(t, 2, flaky.Count())
	st := adminStats(t, "flaky", "recover-model")
	assert.Equal(t, "open", st.Get("breaker").String())
	assert.Equal(t, int64(2), st.Get("consecutive_failures").Int())

	// The vendor recovers; after the cooldown a probe finds out.
	flaky.SetOptions(fakevendor.Options{Name: "flaky"})
	time.Sleep(400 * time.Millisecond)
	resp, body := chat(t, "recover-model", `"routing":"price"`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "flaky", resp.Header.Get("X-LLM-Vendor"), "the half-open probe goes to the recovered vendor")
	st = adminStats(t, "flaky", "recover-model")
	assert.Equal(t, "closed", st.Get("breaker").String())
	assert.Equal(t, int64(1), st.Get("successes").Int())
	assert.Equal(t, int64(0), st.Get("consecutive_failures").Int())
}

// The admin API shows what was measured: per-bucket TTFT and samples, decode
// speed from streams, and the configured price.
func TestAdminStatsShowMeasurements(t *testing.T) {
	streamer := fakevendor.Start(t, fakevendor.Options{Name: "streamer", TTFT: 30 * time.Millisecond,
		PerToken: 10 * time.Millisecond, Reply: "one two three four five six seven eight"})
	startRouter(t, routerBlock(nil,
		vendorBlock("streamer", "openai_compatible", streamer.URL(), "", "model stats-model as s-model input 1.5 output 4")))

	for range 3 {
		resp, body := chat(t, "stats-model", `"stream":true`)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
	}
	st := adminStats(t, "streamer", "stats-model")
	assert.Equal(t, "openai_compatible", st.Get("kind").String())
	assert.Equal(t, "s-model", st.Get("vendor_model").String())
	assert.Equal(t, 1.5, st.Get("price.input").Float())
	assert.Equal(t, 4.0, st.Get("price.output").Float())
	assert.Equal(t, "closed", st.Get("breaker").String())
	assert.Equal(t, int64(3), st.Get("successes").Int())

	buckets := st.Get("buckets").Array()
	require.Len(t, buckets, 6)
	assert.Equal(t, int64(256), buckets[0].Get("max_prompt_tokens").Int())
	assert.Equal(t, int64(3), buckets[0].Get("samples").Int())
	// the first token comes after TTFT + one PerToken (the role chunk is not a token)
	ttft := buckets[0].Get("ttft_ms").Float()
	assert.Greater(t, ttft, 35.0)
	assert.Less(t, ttft, 400.0)
	// 8 tokens, 10ms apart after the first: about 100 tokens/s
	decode := st.Get("decode_tokens_per_sec").Float()
	assert.Greater(t, decode, 20.0)
	assert.Less(t, decode, 150.0)
}

// Quota exhaustion is not a blip: the vendor cools down for quota_cooldown.
func TestQuotaExhaustionCoolsDownLong(t *testing.T) {
	broke := fakevendor.Start(t, fakevendor.Options{Name: "broke", Status: http.StatusTooManyRequests,
		ErrorBody: `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`})
	funded := fakevendor.Start(t, fakevendor.Options{Name: "funded"})
	startRouter(t, routerBlock([]string{"quota_cooldown 2h"},
		vendorBlock("broke", "openai", broke.URL(), "sk-test", "model quota-model input 0.1"),
		vendorBlock("funded", "openai", funded.URL(), "sk-test", "model quota-model input 1"),
	))
	resp, body := chat(t, "quota-model", `"routing":"price"`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "funded", resp.Header.Get("X-LLM-Vendor"))

	st := adminStats(t, "broke", "quota-model")
	assert.Equal(t, "open", st.Get("breaker").String())
	openUntil, err := time.Parse(time.RFC3339Nano, st.Get("open_until").String())
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(2*time.Hour), openUntil, time.Minute)
}
