package fleettest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
	"github.com/caddy-llm/llmrouter/internal/testservices"
)

// limitsFleet starts two instances sharing one Redis (and the given
// limits block) in front of vendor, and returns them.
func limitsFleet(t *testing.T, vendor *fakevendor.Vendor, model, limitsBlock string) (a, b *instance) {
	t.Helper()
	redisAddr := testservices.RedisAddr(t)
	prefix := "llmr-fleettest-limits-" + randomHex(6) + ":"
	block := fmt.Sprintf(`		ledger memory
		ledger_key {http.request.header.X-Team}
		shared redis %s {
			key_prefix %s
		}
		%s
		vendor v openai_compatible {
			base_url %s
			model %s input 1 output 1
		}`, redisAddr, prefix, limitsBlock, vendor.URL(), model)
	return startInstance(t, "A", "", block), startInstance(t, "B", "", block)
}

// 100 requests per minute, configured on two instances sharing Redis and
// hammered by many concurrent clients through both: exactly 100 are
// admitted, and every refusal is a 429 rate_limit_exceeded with its wait.
func TestLimits_RateExactAcrossInstances(t *testing.T) {
	// The test must not straddle two minutes: a sliding window would then
	// admit part of the next minute's share.
	if untilMinute := time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)); untilMinute < 20*time.Second {
		time.Sleep(untilMinute + time.Second)
	}
	vendor := fakevendor.Start(t, fakevendor.Options{Name: "v", TTFT: time.Millisecond})
	a, b := limitsFleet(t, vendor, "rate-model", `limits {
			key {http.request.header.X-Team}
			tier default {
				requests 100 per 1m
			}
		}`)

	var admitted, refused, other atomic.Int64
	var badRefusal atomic.Value
	// 240 requests for a limit of 100.
	hammer(a, b, 16, 15, func(client *http.Client, in *instance) {
		resp, body, err := chatAs(client, in.url, "rate-model", "team-x")
		switch {
		case err != nil:
			other.Add(1)
		case resp.StatusCode == http.StatusOK:
			admitted.Add(1)
		case resp.StatusCode == http.StatusTooManyRequests:
			refused.Add(1)
			if !strings.Contains(string(body), `"rate_limit_exceeded"`) || resp.Header.Get("Retry-After-Ms") == "" ||
				resp.Header.Get("X-Ratelimit-Remaining-Requests") != "0" {
				badRefusal.Store(fmt.Sprintf("%v %s", resp.Header, body))
			}
		default:
			other.Add(1)
		}
	})
	assert.EqualValues(t, 100, admitted.Load(), "admitted across both instances")
	assert.EqualValues(t, 140, refused.Load())
	assert.Zero(t, other.Load())
	assert.Nil(t, badRefusal.Load(), "a refusal without its code or headers")
	assert.Equal(t, 100, vendor.Count())
}

// A hard budget hammered by concurrent streaming requests through both
// instances: the total billable spend never exceeds it.
func TestLimits_HardBudgetAcrossInstances(t *testing.T) {
	// $1 per 1M tokens: a token is a micro-dollar. Each answer is 10
	// prompt and 1000 completion tokens, 1010 µUSD; a worst case is the
	// prompt and 4096 (the router sets max_tokens), about 4106 µUSD.
	vendor := fakevendor.Start(t, fakevendor.Options{Name: "v", TTFT: 20 * time.Millisecond,
		PromptTokens: 10, CompletionTokens: 1000})
	const budgetMicroUSD = 50_000
	a, b := limitsFleet(t, vendor, "budget-model", `limits {
			key {http.request.header.X-Team}
			tier default {
				usd 0.05 per day hard
			}
		}`)

	var admitted, refused atomic.Int64
	hammer(a, b, 12, 10, func(client *http.Client, in *instance) {
		resp, body, err := streamAs(client, in.url, "budget-model", "team-budget")
		if err != nil {
			t.Errorf("stream: %v", err)
			return
		}
		switch resp.StatusCode {
		case http.StatusOK:
			if !strings.Contains(string(body), "data: [DONE]") {
				t.Errorf("a started stream was cut: %s", body)
			}
			admitted.Add(1)
		case http.StatusTooManyRequests:
			if !strings.Contains(string(body), `"budget_exceeded"`) || resp.Header.Get("X-Should-Retry") != "false" {
				t.Errorf("refusal: %v %s", resp.Header, body)
			}
			refused.Add(1)
		default:
			t.Errorf("status %d: %s", resp.StatusCode, body)
		}
	})
	// What the two instances' ledgers billed the team.
	var spent float64
	for _, in := range []*instance{a, b} {
		resp, err := http.Get(in.admin + "/llm_router/stats")
		require.NoError(t, err)
		var stats struct {
			Clients []struct {
				Client          string  `json:"client"`
				BillableCostUSD float64 `json:"billable_cost_usd"`
			} `json:"clients"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&stats))
		resp.Body.Close()
		for _, c := range stats.Clients {
			if c.Client == "team-budget" {
				spent += c.BillableCostUSD
			}
		}
	}
	t.Logf("hard budget: %d admitted, $%.6f billed of $%.6f, %d refused", admitted.Load(), spent, budgetMicroUSD/1e6, refused.Load())
	assert.InDelta(t, float64(admitted.Load())*1010/1e6, spent, 1e-9, "each admitted stream billed its 1010 µUSD")
	assert.LessOrEqual(t, spent, budgetMicroUSD/1e6+1e-9, "the hard budget was overshot")
	assert.Greater(t, admitted.Load(), int64(budgetMicroUSD/4106/2), "the budget admitted too little")
	assert.Positive(t, refused.Load())
}

// chatAs sends a non-streaming chat completion as a team.
func chatAs(client *http.Client, url, model, team string) (*http.Response, []byte, error) {
	return send(client, url, team, fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hi"}]}`, model))
}

// streamAs sends a streaming chat completion as a team and reads it whole.
func streamAs(client *http.Client, url, model, team string) (*http.Response, []byte, error) {
	return send(client, url, team, fmt.Sprintf(`{"model":%q,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, model))
}

func send(client *http.Client, url, team, body string) (*http.Response, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Team", team)
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// Spend recorded before a restart still counts after it: a budget counter
// that starts in a new process starts from the ledger's rollups.
func TestLimits_BudgetSurvivesRestart(t *testing.T) {
	// A token is a micro-dollar; each answer costs 3010 µUSD, and a worst
	// case (max_tokens 4096) needs 4106 left, so $0.01 admits exactly two.
	vendor := fakevendor.Start(t, fakevendor.Options{Name: "v", PromptTokens: 10, CompletionTokens: 3000})
	block := fmt.Sprintf(`		ledger_key {http.request.header.X-Team}
		limits {
			key {http.request.header.X-Team}
			tier default {
				usd 0.01 per day hard
			}
		}
		vendor v openai_compatible {
			base_url %s
			model restart-model input 1 output 1
		}`, vendor.URL())
	client := &http.Client{Timeout: 10 * time.Second}
	statuses := func(in *instance, n int) []int {
		var out []int
		for range n {
			resp, body, err := chatAs(client, in.url, "restart-model", "team-restart")
			require.NoError(t, err)
			require.Contains(t, []int{http.StatusOK, http.StatusTooManyRequests}, resp.StatusCode, string(body))
			out = append(out, resp.StatusCode)
		}
		return out
	}

	first := startInstance(t, "first", "", block)
	assert.Equal(t, []int{200, 200, 429}, statuses(first, 3))
	first.stop()

	second := startInstance(t, "second", first.dataDir, block)
	assert.Equal(t, []int{429}, statuses(second, 1), "the restarted instance forgot what was spent")
	assert.Equal(t, 2, vendor.Count())
}

// hammer runs workers goroutines, each sending each requests through one of
// the two instances (alternately), and returns when all are done.
func hammer(a, b *instance, workers, each int, send func(*http.Client, *instance)) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			in := a
			if w%2 == 1 {
				in = b
			}
			for range each {
				send(client, in)
			}
		}()
	}
	wg.Wait()
}
