package llmrouter_test

import (
	"bufio"
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
)

// Before the first content token nothing has reached the client, so every
// way a vendor can fail there is a failover to the next vendor.
func TestFailoverBeforeCommit(t *testing.T) {
	cases := []struct {
		name   string
		opts   fakevendor.Options
		stream bool
		reason string
	}{
		{"error event in a 200 stream", fakevendor.Options{Fault: fakevendor.FaultErrorEventBeforeToken}, true, "stream_error"},
		{"stream ends before the first token", fakevendor.Options{Fault: fakevendor.FaultEndBeforeToken}, true, "stream_broken"},
		{"zero completion tokens, streaming", fakevendor.Options{Fault: fakevendor.FaultZeroTokens}, true, "empty_completion"},
		{"zero completion tokens, JSON", fakevendor.Options{Fault: fakevendor.FaultZeroTokens}, false, "empty_completion"},
		{"error finish reason", fakevendor.Options{Fault: fakevendor.FaultErrorFinish}, false, "empty_completion"},
		{"malformed JSON", fakevendor.Options{Fault: fakevendor.FaultMalformedJSON}, false, "bad_response"},
		{"malformed SSE", fakevendor.Options{Fault: fakevendor.FaultMalformedJSON}, true, "stream_broken"},
		{"keep-alives until ttft_timeout", fakevendor.Options{KeepAlives: 50, KeepAliveEvery: 50 * time.Millisecond}, true, "timeout"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			model := fmt.Sprintf("commit-model-%d", i)
			c.opts.Name = "bad"
			bad := fakevendor.Start(t, c.opts)
			good := fakevendor.Start(t, fakevendor.Options{Name: "good", Reply: "all good"})
			startRouter(t, routerBlock([]string{"ttft_timeout 400ms", "exploration 0"},
				vendorBlock("bad", "openai_compatible", bad.URL(), "", "model "+model+" input 0.1"),
				vendorBlock("good", "openai_compatible", good.URL(), "", "model "+model+" input 1"),
			))
			resp, body := chat(t, model, fmt.Sprintf(`"routing":"price","stream":%t`, c.stream))
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			assert.Equal(t, "good", resp.Header.Get("X-LLM-Vendor"))
			assert.Equal(t, "2", resp.Header.Get("X-LLM-Attempts"))
			assert.Equal(t, 1, bad.Count())
			if c.stream {
				assert.Equal(t, "all good", streamText(t, body))
				assert.NotContains(t, body, "fake overloaded", "nothing of the failed attempt reaches the client")
				assert.True(t, strings.HasSuffix(body, "data: [DONE]\n\n"))
			} else {
				assert.Equal(t, "all good", gjson.Get(body, "choices.0.message.content").String())
			}
			assert.Equal(t, c.reason, lastFailoverReason(t, "bad", model))
		})
	}
}

// streamText joins the content deltas of an SSE body.
func streamText(t *testing.T, body string) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, sseEvents(strings.NewReader(body), func(data string) {
		b.WriteString(gjson.Get(data, "choices.0.delta.content").String())
	}))
	return b.String()
}

// lastFailoverReason reads the failovers_total series of vendor and model
// from Caddy's metrics endpoint and returns the one reason it has.
func lastFailoverReason(t *testing.T, vendor, model string) string {
	t.Helper()
	var reason string
	for _, line := range scrapeMetrics(t) {
		if strings.HasPrefix(line, "caddy_llm_router_failovers_total{") &&
			strings.Contains(line, `model="`+model+`"`) && strings.Contains(line, `vendor="`+vendor+`"`) {
			_, after, _ := strings.Cut(line, `reason="`)
			reason, _, _ = strings.Cut(after, `"`)
		}
	}
	return reason
}

// scrapeMetrics returns the lines of Caddy's Prometheus metrics.
func scrapeMetrics(t *testing.T) []string {
	t.Helper()
	resp, err := client.Get("http://localhost:2999/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// After the first token the response belongs to the client: a vendor that
// then fails cannot be failed over, and the client gets an explicit error
// event, never a silent clean close.
func TestErrorEventAfterCommit(t *testing.T) {
	cut := fakevendor.Start(t, fakevendor.Options{Name: "cut", Fault: fakevendor.FaultCutAfter, CutAfter: 2,
		Reply: "one two three four"})
	spare := fakevendor.Start(t, fakevendor.Options{Name: "spare"})
	startRouter(t, routerBlock([]string{"exploration 0"},
		vendorBlock("cut", "openai_compatible", cut.URL(), "", "model cut-model input 0.1"),
		vendorBlock("spare", "openai_compatible", spare.URL(), "", "model cut-model input 1"),
	))
	resp, body := chat(t, "cut-model", `"routing":"price","stream":true`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "cut", resp.Header.Get("X-LLM-Vendor"))
	assert.Equal(t, 0, spare.Count(), "no failover after commit")

	const errorEvent = `data: {"error":{"message":"vendor cut stopped the stream before it was complete",` +
		`"type":"server_error","param":null,"code":"stream_interrupted"}}` + "\n\n"
	require.True(t, strings.HasSuffix(body, errorEvent), "body ends with the error event: %q", body)
	events := strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
	require.Len(t, events, 4, "role chunk, two content chunks, error event: %q", body)
	assert.Contains(t, events[0], `"role":"assistant"`)
	assert.Equal(t, "one two", streamText(t, body))
	assert.NotContains(t, body, "[DONE]")
}

// A client that goes away cancels the vendor's request at once.
func TestClientDisconnectCancelsVendor(t *testing.T) {
	slow := fakevendor.Start(t, fakevendor.Options{Name: "slow", PerToken: 200 * time.Millisecond,
		Reply: strings.Repeat("word ", 50)})
	startRouter(t, routerBlock(nil, vendorBlock("slow", "openai_compatible", slow.URL(), "", "model leave-model")))

	req, err := http.NewRequest(http.MethodPost, routerURL+"/v1/chat/completions",
		strings.NewReader(`{"model":"leave-model","stream":true,"messages":[{"role":"user","content":"go"}]}`))
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	r := bufio.NewReader(resp.Body)
	for { // read up to the first content event
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		if strings.Contains(line, `"content":"word`) {
			break
		}
	}
	resp.Body.Close()
	require.Eventually(t, func() bool { return slow.Cancelled() == 1 }, 2*time.Second, 10*time.Millisecond,
		"the vendor saw the request cancelled")
	assert.Equal(t, 0, slow.Inflight())
}

// readAll reads a response body.
func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return string(b)
}
