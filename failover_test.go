package llmrouter_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// Each kind of vendor failure moves the request to the next vendor, and the
// client sees only the success.
func TestFailoverToNextVendor(t *testing.T) {
	cases := []struct {
		name    string
		first   func(t *testing.T) string // returns the failing vendor's base URL
		reason  string
		status  int
		headers http.Header
	}{
		{name: "dead port", first: func(t *testing.T) string { return fakevendor.DeadURL(t) }},
		{name: "429", status: http.StatusTooManyRequests, headers: http.Header{"Retry-After": {"1"}}},
		{name: "503", status: http.StatusServiceUnavailable},
		{name: "401", status: http.StatusUnauthorized},
		{name: "500", status: http.StatusInternalServerError},
		{name: "404 model not on this vendor", status: http.StatusNotFound},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			model := "failover-model-" + string(rune('a'+i))
			good := fakevendor.Start(t, fakevendor.Options{Name: "good"})
			var firstURL string
			var bad *fakevendor.Vendor
			if c.first != nil {
				firstURL = c.first(t)
			} else {
				bad = fakevendor.Start(t, fakevendor.Options{Name: "bad", Status: c.status, Header: c.headers})
				firstURL = bad.URL()
			}
			// bad is cheaper, so price routing tries it first
			startRouter(t, routerBlock(nil,
				vendorBlock("bad", "openai_compatible", firstURL, "", "model "+model+" input 0.1 output 0.1"),
				vendorBlock("good", "openai_compatible", good.URL(), "", "model "+model+" input 1 output 1"),
			))

			resp, body := chat(t, model, `"routing":"price"`)
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			assert.Equal(t, "good", resp.Header.Get("X-LLM-Vendor"))
			assert.Equal(t, "2", resp.Header.Get("X-LLM-Attempts"))
			assert.Equal(t, "chat.completion", gjson.Get(body, "object").String())
			assert.Empty(t, resp.Header.Get("X-Llm-Router-Failover"))
			if bad != nil {
				assert.Equal(t, 1, bad.Count())
				// both vendors got the same, complete body
				assert.JSONEq(t, string(bad.Requests()[0].Body), string(good.Requests()[0].Body))
			}
			assert.Equal(t, 1, good.Count())

			// the failed vendor now ranks last: the next request goes straight to good
			resp, _ = chat(t, model, `"routing":"price"`)
			assert.Equal(t, "good", resp.Header.Get("X-LLM-Vendor"))
			assert.Equal(t, "1", resp.Header.Get("X-LLM-Attempts"))
		})
	}
}

// A request the vendor rejects as malformed is the client's to fix: it comes
// back as is and no other vendor is bothered.
func TestClientErrorIsReturnedAsIs(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			model := fmt.Sprintf("client-error-%d", status)
			const vendorBody = `{"error":{"message":"messages[0].content is invalid","type":"invalid_request_error","param":"messages","code":null}}`
			strict := fakevendor.Start(t, fakevendor.Options{Name: "strict", Status: status, ErrorBody: vendorBody})
			other := fakevendor.Start(t, fakevendor.Options{Name: "other"})
			startRouter(t, routerBlock(nil,
				vendorBlock("strict", "openai_compatible", strict.URL(), "", "model "+model+" input 0.1"),
				vendorBlock("other", "openai_compatible", other.URL(), "", "model "+model+" input 1"),
			))
			resp, body := chat(t, model, `"routing":"price"`)
			assert.Equal(t, status, resp.StatusCode)
			assert.JSONEq(t, vendorBody, body)
			assert.Equal(t, "strict", resp.Header.Get("X-LLM-Vendor"))
			assert.Equal(t, 0, other.Count())
		})
	}
}

func TestAllVendorsFailingGivesAttemptsError(t *testing.T) {
	limited := fakevendor.Start(t, fakevendor.Options{Name: "limited", Status: http.StatusTooManyRequests,
		ErrorBody: `{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}`})
	down := fakevendor.Start(t, fakevendor.Options{Name: "down", Status: http.StatusServiceUnavailable,
		ErrorBody: `{"error":{"message":"The server is overloaded","type":"server_error","param":null,"code":null}}`})
	dead := fakevendor.DeadURL(t)
	startRouter(t, routerBlock(nil,
		vendorBlock("dead", "openai_compatible", dead, "", "model doomed-model input 0.1"),
		vendorBlock("limited", "openai_compatible", limited.URL(), "", "model doomed-model input 0.2"),
		vendorBlock("down", "openai", down.URL(), "sk-super-secret-key", "model doomed-model input 0.3"),
	))

	resp, body := chat(t, "doomed-model", `"routing":"price"`)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, body)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, "3", resp.Header.Get("X-LLM-Attempts"))
	assertOpenAIError(t, body, "server_error", "vendors_failed")
	msg := gjson.Get(body, "error.message").String()
	assert.Contains(t, msg, "down answered 503")
	assert.Contains(t, msg, "The server is overloaded")

	attempts := gjson.Get(body, "error.attempts").Array()
	require.Len(t, attempts, 3)
	assert.Equal(t, "dead", attempts[0].Get("vendor").String())
	assert.Equal(t, int64(0), attempts[0].Get("status").Int())
	assert.Equal(t, "limited", attempts[1].Get("vendor").String())
	assert.Equal(t, int64(429), attempts[1].Get("status").Int())
	assert.Equal(t, "Rate limit reached for requests", attempts[1].Get("message").String())
	assert.Equal(t, "down", attempts[2].Get("vendor").String())
	assert.Equal(t, int64(503), attempts[2].Get("status").Int())
	assert.NotContains(t, body, "sk-super-secret-key")
	assert.NotContains(t, body, "127.0.0.1", "vendor addresses stay private")
}

// The last vendor's rate limit stays a 429, so SDKs back off and retry.
func TestAllVendorsRateLimitedGives429(t *testing.T) {
	a := fakevendor.Start(t, fakevendor.Options{Name: "a", Status: http.StatusTooManyRequests})
	b := fakevendor.Start(t, fakevendor.Options{Name: "b", Status: http.StatusTooManyRequests})
	startRouter(t, routerBlock(nil,
		vendorBlock("a", "openai_compatible", a.URL(), "", "model limited-model"),
		vendorBlock("b", "openai_compatible", b.URL(), "", "model limited-model"),
	))
	resp, body := chat(t, "limited-model", "")
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, body)
	assertOpenAIError(t, body, "rate_limit_error", "vendors_failed")
	assert.Len(t, gjson.Get(body, "error.attempts").Array(), 2)
}

// retries caps how many vendors are tried.
func TestRetriesCap(t *testing.T) {
	var blocks []string
	var fakes []*fakevendor.Vendor
	for _, id := range []string{"r1", "r2", "r3"} {
		f := fakevendor.Start(t, fakevendor.Options{Name: id, Status: http.StatusServiceUnavailable})
		fakes = append(fakes, f)
		blocks = append(blocks, vendorBlock(id, "openai_compatible", f.URL(), "", "model capped-model"))
	}
	startRouter(t, routerBlock([]string{"retries 1"}, blocks...))
	resp, body := chat(t, "capped-model", "")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, body)
	assert.Len(t, gjson.Get(body, "error.attempts").Array(), 2)
	total := 0
	for _, f := range fakes {
		total += f.Count()
	}
	assert.Equal(t, 2, total)
}

// A vendor that sends nothing within ttft_timeout is given up for the next.
func TestFirstByteTimeoutFailsOver(t *testing.T) {
	stuck := fakevendor.Start(t, fakevendor.Options{Name: "stuck", TTFT: 5 * time.Second})
	quick := fakevendor.Start(t, fakevendor.Options{Name: "quick"})
	startRouter(t, routerBlock([]string{"ttft_timeout 200ms"},
		vendorBlock("stuck", "openai_compatible", stuck.URL(), "", "model stuck-model input 0.1"),
		vendorBlock("quick", "openai_compatible", quick.URL(), "", "model stuck-model input 1"),
	))
	start := time.Now()
	resp, body := chat(t, "stuck-model", `"routing":"price"`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "quick", resp.Header.Get("X-LLM-Vendor"))
	assert.Less(t, time.Since(start), 3*time.Second)
}
