package llmrouter_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
	"github.com/caddy-llm/llmrouter/internal/testservices"
)

// clientStats returns the ledger entry of a client from the admin API.
func clientStats(t *testing.T, client string) gjson.Result {
	t.Helper()
	resp, err := http.Get("http://localhost:2999/llm_router/stats")
	require.NoError(t, err)
	defer resp.Body.Close()
	body := readAll(t, resp.Body)
	for _, c := range gjson.Get(body, "clients").Array() {
		if c.Get("client").String() == client {
			return c
		}
	}
	t.Fatalf("no ledger entry for %s in %s", client, body)
	return gjson.Result{}
}

// Usage and cost come from the vendor's own numbers, exactly, for the three
// usage styles vendors have: OpenAI (a usage-only chunk when asked), Gemini
// (cumulative usage on every chunk) and Mistral (usage on the last chunk; it
// refuses stream_options). The usage-only chunk reaches the client only when
// it asked for it.
func TestUsageAndCostMatchTheVendor(t *testing.T) {
	const prompt, cached, completion = 17, 5, 42
	styles := []struct {
		kind, base string
		opts       fakevendor.Options
	}{
		{"openai", "/v1", fakevendor.Options{UsageStyle: fakevendor.UsageOpenAI}},
		{"google", "/v1beta/openai", fakevendor.Options{UsageStyle: fakevendor.UsageCumulative}},
		{"mistral", "/v1", fakevendor.Options{UsageStyle: fakevendor.UsageFinalChunk, RejectStreamOptions: true}},
	}
	for _, style := range styles {
		for _, mode := range []struct {
			name, extra string
			stream      bool
			wantsUsage  bool
		}{
			{"json", "", false, false},
			{"stream", `"stream":true`, true, false},
			{"stream with usage", `"stream":true,"stream_options":{"include_usage":true}`, true, true},
		} {
			t.Run(style.kind+" "+mode.name, func(t *testing.T) {
				opts := style.opts
				opts.Name, opts.PromptTokens, opts.CachedTokens, opts.CompletionTokens = style.kind, prompt, cached, completion
				opts.Reply = "counting the tokens the vendor reports"
				fake := fakevendor.Start(t, opts)
				model := "usage-" + style.kind
				lines := []string{"model " + model + " input 2 output 8 cached_input 1"}
				if style.kind == "google" {
					lines = append(lines, "api openai") // Gemini's OpenAI-compatible endpoint
				}
				startRouter(t, routerBlock(nil, vendorBlock(style.kind, style.kind, fake.URL()+style.base, "sk-vendor", lines...)))

				token := fmt.Sprintf("client-%s-%s-%d", style.kind, strings.ReplaceAll(mode.name, " ", "-"), time.Now().UnixNano())
				resp, body := chat(t, model, mode.extra, "Authorization", "Bearer "+token)
				require.Equal(t, http.StatusOK, resp.StatusCode, body)

				if mode.stream {
					var usageChunks []string
					require.NoError(t, sseEvents(strings.NewReader(body), func(data string) {
						if gjson.Get(data, "choices").IsArray() && len(gjson.Get(data, "choices").Array()) == 0 {
							usageChunks = append(usageChunks, data)
						}
					}))
					if mode.wantsUsage {
						require.Len(t, usageChunks, 1, "exactly one usage-only chunk when asked: %s", body)
						assert.Equal(t, int64(prompt), gjson.Get(usageChunks[0], "usage.prompt_tokens").Int())
						assert.Equal(t, int64(completion), gjson.Get(usageChunks[0], "usage.completion_tokens").Int())
					} else {
						assert.Empty(t, usageChunks, "no usage-only chunk unless asked")
					}
					sent := fake.Requests()[0].Body
					if style.kind == "mistral" {
						assert.False(t, gjson.GetBytes(sent, "stream_options").Exists(), "mistral refuses stream_options")
					} else {
						assert.True(t, gjson.GetBytes(sent, "stream_options.include_usage").Bool(), "usage asked of the vendor")
					}
				}

				c := clientStats(t, clientKey(token))
				wantCost := (float64(prompt-cached)*2 + float64(cached)*1 + float64(completion)*8) / 1e6
				assert.Equal(t, int64(1), c.Get("billable_requests").Int())
				assert.Equal(t, int64(prompt), c.Get("billable_prompt_tokens").Int())
				assert.Equal(t, int64(completion), c.Get("billable_completion_tokens").Int())
				assert.InDelta(t, wantCost, c.Get("billable_cost_usd").Float(), 1e-12)
				assert.Equal(t, 0.0, c.Get("absorbed_cost_usd").Float())
			})
		}
	}
}

// clientKey is the ledger name of a client identified by its bearer token.
func clientKey(token string) string {
	return "key:" + sha256Prefix(token)
}

// Zero completion insurance: errored and empty attempts are absorbed, never
// billable, in the ledger, the metrics and the access log; the successful
// attempt of a failover is the only billable one.
func TestZeroCompletionInsurance(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "access.log")
	empty := fakevendor.Start(t, fakevendor.Options{Name: "empty", Fault: fakevendor.FaultZeroTokens, PromptTokens: 30})
	failing := fakevendor.Start(t, fakevendor.Options{Name: "failing", Status: http.StatusInternalServerError})
	good := fakevendor.Start(t, fakevendor.Options{Name: "good", PromptTokens: 30, CompletionTokens: 12})
	block := routerBlock([]string{"exploration 0"},
		vendorBlock("empty", "openai", empty.URL(), "sk-e", "model insured-model input 1 output 4"),
		vendorBlock("failing", "openai", failing.URL(), "sk-f", "model insured-model input 2 output 4"),
		vendorBlock("good", "openai", good.URL(), "sk-g", "model insured-model input 3 output 4"),
	)
	startRouter(t, fmt.Sprintf(`log {
		output file %s
		format json
	}
	log_append llm_vendor {http.llm_router.vendor}
	log_append llm_model {http.llm_router.model}
	log_append llm_routing {http.llm_router.routing}
	log_append llm_attempts {http.llm_router.attempts}
	log_append llm_prompt_tokens {http.llm_router.prompt_tokens}
	log_append llm_completion_tokens {http.llm_router.completion_tokens}
	log_append llm_cost_usd {http.llm_router.cost_usd}
	log_append llm_billable {http.llm_router.billable}
	log_append llm_ttft_ms {http.llm_router.ttft_ms}
	%s`, logPath, block))

	token := fmt.Sprintf("insured-%d", time.Now().UnixNano())
	resp, body := chat(t, "insured-model", `"routing":"price"`, "Authorization", "Bearer "+token)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "good", resp.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, "3", resp.Header.Get("X-LLM-Attempts"))

	c := clientStats(t, clientKey(token))
	assert.Equal(t, int64(1), c.Get("billable_requests").Int())
	assert.Equal(t, int64(30), c.Get("billable_prompt_tokens").Int())
	assert.Equal(t, int64(12), c.Get("billable_completion_tokens").Int())
	assert.InDelta(t, (30*3+12*4)/1e6, c.Get("billable_cost_usd").Float(), 1e-12)
	assert.Equal(t, int64(30), c.Get("absorbed_prompt_tokens").Int(), "the empty answer's prompt is absorbed")
	assert.InDelta(t, 30*1/1e6, c.Get("absorbed_cost_usd").Float(), 1e-12)

	// Metrics keep billable and absorbed apart.
	metrics := strings.Join(scrapeMetrics(t), "\n")
	assert.Contains(t, metrics, `caddy_llm_router_tokens_total{billing="absorbed",model="insured-model",type="prompt",vendor="empty"} 30`)
	assert.Contains(t, metrics, `caddy_llm_router_tokens_total{billing="billable",model="insured-model",type="completion",vendor="good"} 12`)
	assert.NotContains(t, metrics, `caddy_llm_router_tokens_total{billing="billable",model="insured-model",type="prompt",vendor="empty"}`)
	assert.Contains(t, metrics, `caddy_llm_router_requests_total{model="insured-model",outcome="success",routing="price",vendor="good"} 1`)
	assert.Contains(t, metrics, `caddy_llm_router_failovers_total{model="insured-model",reason="empty_completion",vendor="empty"} 1`)
	assert.Contains(t, metrics, `caddy_llm_router_failovers_total{model="insured-model",reason="server_error",vendor="failing"} 1`)
	assert.Contains(t, metrics, `caddy_llm_router_ttft_seconds_count{model="insured-model",vendor="good"} 1`)
	assert.Contains(t, metrics, `caddy_llm_router_breaker_state{model="insured-model",vendor="good"} 0`)
	assert.Contains(t, metrics, `caddy_llm_router_cost_usd_total{billing="absorbed",model="insured-model",vendor="empty"} 3e-05`)

	// The access log carries the placeholders.
	var entry map[string]any
	require.Eventually(t, func() bool {
		raw, err := os.ReadFile(logPath)
		if err != nil {
			return false
		}
		for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			if strings.Contains(line, `"llm_vendor"`) && json.Unmarshal([]byte(line), &entry) == nil {
				return true
			}
		}
		return false
	}, 3*time.Second, 20*time.Millisecond)
	assert.Equal(t, "good", entry["llm_vendor"])
	assert.Equal(t, "insured-model", entry["llm_model"])
	assert.Equal(t, "price", entry["llm_routing"])
	assert.EqualValues(t, 3, entry["llm_attempts"])
	assert.EqualValues(t, 30, entry["llm_prompt_tokens"])
	assert.EqualValues(t, 12, entry["llm_completion_tokens"])
	assert.InDelta(t, (30*3+12*4)/1e6, entry["llm_cost_usd"], 1e-12)
	assert.Equal(t, true, entry["llm_billable"])
	assert.Greater(t, entry["llm_ttft_ms"], 0.0)
	assert.NotContains(t, fmt.Sprint(entry), "sk-")
	assert.NotContains(t, fmt.Sprint(entry), token)
}

// Every request gets one structured log line with the decision (candidates
// in ranked order with tier, predicted latency and expected cost), the failed
// attempts and the outcome, and never a key or the prompt.
func TestDecisionLogLine(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "router.log")
	down := fakevendor.Start(t, fakevendor.Options{Name: "down", Status: http.StatusServiceUnavailable})
	up := fakevendor.Start(t, fakevendor.Options{Name: "up"})
	tester := testservices.NewCaddyTester(t)
	tester.InitServer(fmt.Sprintf(`{
	skip_install_trust
	admin localhost:2999
	http_port %d
	https_port 9443
	log routerlog {
		output file %s
		format json
		include http.handlers.llm_router
	}
}
:%d {
	%s
}`, routerPort, logPath, routerPort, routerBlock([]string{"exploration 0"},
		vendorBlock("down", "openai", down.URL(), "sk-down-secret", "model logged-model input 0.1"),
		vendorBlock("up", "openai", up.URL(), "sk-up-secret", "model logged-model input 1"),
	)), "caddyfile")
	require.False(t, t.Failed())

	const secretPrompt = "my secret prompt text"
	resp, body := post(t, "/v1/chat/completions",
		`{"model":"logged-model","routing":"price","messages":[{"role":"user","content":"`+secretPrompt+`"}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)

	var line gjson.Result
	require.Eventually(t, func() bool {
		raw, _ := os.ReadFile(logPath)
		for _, l := range strings.Split(string(raw), "\n") {
			if r := gjson.Parse(l); r.Get("msg").String() == "routed" && r.Get("model").String() == "logged-model" {
				line = r
				return true
			}
		}
		return false
	}, 3*time.Second, 20*time.Millisecond)
	assert.Equal(t, "price", line.Get("routing").String())
	cands := line.Get("decision.candidates").Array()
	require.Len(t, cands, 2)
	assert.Equal(t, "down", cands[0].Get("vendor").String())
	assert.Equal(t, "clean", cands[0].Get("tier").String())
	assert.Greater(t, cands[0].Get("expected_cost_usd").Float(), 0.0)
	assert.Greater(t, cands[1].Get("expected_cost_usd").Float(), cands[0].Get("expected_cost_usd").Float())
	assert.False(t, line.Get("decision.explored").Bool())
	failed := line.Get("failed_attempts").Array()
	require.Len(t, failed, 1)
	assert.Equal(t, "down", failed[0].Get("vendor").String())
	assert.Equal(t, int64(503), failed[0].Get("status").Int())
	assert.Equal(t, "up", line.Get("vendor").String())
	assert.Equal(t, "success", line.Get("outcome").String())
	assert.Equal(t, int64(2), line.Get("attempts").Int())
	assert.True(t, line.Get("billable").Bool())

	raw, _ := os.ReadFile(logPath)
	for _, secret := range []string{"sk-down-secret", "sk-up-secret", secretPrompt} {
		assert.NotContains(t, string(raw), secret)
	}
}
