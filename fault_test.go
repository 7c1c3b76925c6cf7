package llmrouter_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// loadResult is one request of a load run.
type loadResult struct {
	stream   bool
	status   int
	vendor   string
	attempts string
	body     string
	err      error
	took     time.Duration
}

// runLoad sends n chat requests for model, concurrency at a time, every
// other one streaming, and returns them all. It is bounded: each request has
// the client's timeout, and only loopback is involved.
func runLoad(t *testing.T, model string, n, concurrency int, extra string) []loadResult {
	t.Helper()
	return runLoadWith(t, client, model, n, concurrency, extra)
}

// runLoadWith is runLoad with a given HTTP client.
func runLoadWith(t *testing.T, client *http.Client, model string, n, concurrency int, extra string) []loadResult {
	t.Helper()
	results := make([]loadResult, n)
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			stream := i%2 == 1
			body := fmt.Sprintf(`{"model":%q,"stream":%t,"messages":[{"role":"user","content":"request %d"}]%s}`, model, stream, i, extra)
			start := time.Now()
			req, _ := http.NewRequest(http.MethodPost, routerURL+"/v1/chat/completions", strings.NewReader(body))
			resp, err := client.Do(req)
			r := loadResult{stream: stream, err: err}
			if err == nil {
				b, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				r.status, r.body, r.err = resp.StatusCode, string(b), rerr
				r.vendor, r.attempts = resp.Header.Get("X-LLM-Vendor"), resp.Header.Get("X-LLM-Attempts")
			}
			r.took = time.Since(start)
			results[i] = r
		}()
	}
	wg.Wait()
	return results
}

// streamEnding tells how a streamed body ended: "done" ([DONE] after
// content), "error" (an explicit error event last), or "bad".
func streamEnding(body string) string {
	switch {
	case strings.HasSuffix(body, "data: [DONE]\n\n"):
		return "done"
	case strings.HasSuffix(body, "}}\n\n"):
		events := strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
		if last := strings.TrimPrefix(events[len(events)-1], "data: "); gjson.Get(last, "error.message").Exists() {
			return "error"
		}
	}
	return "bad"
}

// tlsVendorURL is a vendor whose TLS the router cannot verify: every attempt
// fails in the handshake.
func tlsVendorURL(t *testing.T) string {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a request got through a failed TLS handshake")
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Three vendors, one or two of them faulty in every way a vendor fails, under
// concurrent load: every request succeeds (a healthy vendor was always
// there), nothing is served twice, committed streams that break end with an
// explicit error event, nothing hangs past its deadlines, and goroutines come
// back to their baseline.
func TestFaultsUnderLoad(t *testing.T) {
	type faulty struct {
		url          func(t *testing.T) string // for vendors that are not fakes
		opts         fakevendor.Options
		breaksStream bool // fails after commit: its streams end with an error event
	}
	cases := []struct {
		name string
		bad  []faulty
	}{
		{"refused and 500 storm", []faulty{
			{url: func(t *testing.T) string { return fakevendor.DeadURL(t) }},
			{opts: fakevendor.Options{Status: http.StatusInternalServerError}},
		}},
		{"accepts and hangs, 429 with Retry-After", []faulty{
			{opts: fakevendor.Options{TTFT: 10 * time.Second}},
			{opts: fakevendor.Options{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"1"}}}},
		}},
		{"503 and 529 storms, slow healthy vendor", []faulty{
			{opts: fakevendor.Options{Status: http.StatusServiceUnavailable}},
			{opts: fakevendor.Options{Status: 529}},
		}},
		{"malformed JSON and SSE, TLS failure", []faulty{
			{opts: fakevendor.Options{Fault: fakevendor.FaultMalformedJSON}},
			{url: tlsVendorURL},
		}},
		{"stream cut mid-way, stall after the first token", []faulty{
			{opts: fakevendor.Options{Fault: fakevendor.FaultCutAfter, CutAfter: 2, Reply: "a b c d e"}, breaksStream: true},
			{opts: fakevendor.Options{Fault: fakevendor.FaultStallAfter, CutAfter: 2, Reply: "a b c d e"}, breaksStream: true},
		}},
		{"empty answers and errors before the first token", []faulty{
			{opts: fakevendor.Options{Fault: fakevendor.FaultZeroTokens}},
			{opts: fakevendor.Options{Fault: fakevendor.FaultErrorEventBeforeToken}},
		}},
	}
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			model := fmt.Sprintf("fault-model-%d", ci)
			good := fakevendor.Start(t, fakevendor.Options{Name: "good", TTFT: 20 * time.Millisecond, Reply: "fine thanks"})
			var blocks []string
			fakes := map[string]*fakevendor.Vendor{}
			breaks := map[string]bool{}
			for i, f := range c.bad {
				id := fmt.Sprintf("bad%d", i)
				u := ""
				if f.url != nil {
					u = f.url(t)
				} else {
					f.opts.Name = id
					fakes[id] = fakevendor.Start(t, f.opts)
					u = fakes[id].URL()
				}
				breaks[id] = f.breaksStream
				// faulty vendors are cheaper, so price routing tries them first
				blocks = append(blocks, vendorBlock(id, "openai_compatible", u, "", fmt.Sprintf("model %s input 0.%d", model, i+1)))
			}
			blocks = append(blocks, vendorBlock("good", "openai_compatible", good.URL(), "", "model "+model+" input 5"))
			startRouter(t, routerBlock([]string{"ttft_timeout 1s", "stream_idle_timeout 1s", "cooldown 200ms 1s"}, blocks...))
			client.CloseIdleConnections()
			baseline := runtime.NumGoroutine()

			start := time.Now()
			results := runLoad(t, model, 160, 16, `,"routing":"price"`)
			elapsed := time.Since(start)

			served := map[string]int{}
			for i, r := range results {
				require.NoError(t, r.err, "request %d", i)
				require.Equal(t, http.StatusOK, r.status, "request %d: %s", i, r.body)
				served[r.vendor]++
				assert.Less(t, r.took, 5*time.Second, "request %d hung", i)
				if !r.stream {
					assert.Equal(t, "fine thanks", gjson.Get(r.body, "choices.0.message.content").String(), "request %d from %s", i, r.vendor)
					continue
				}
				switch ending := streamEnding(r.body); {
				case breaks[r.vendor]:
					// Committed, then broken: no failover after commit,
					// and the client is told.
					assert.Equal(t, "error", ending, "request %d from %s: %q", i, r.vendor, r.body)
					assert.Equal(t, "1", r.attempts)
					assert.NotContains(t, r.body, "fine thanks", "no second vendor's answer after commit")
				default:
					assert.Equal(t, "done", ending, "request %d from %s: %q", i, r.vendor, r.body)
					assert.Equal(t, "fine thanks", streamText(t, r.body))
				}
			}
			// Nothing was served twice: the healthy vendor answered exactly
			// the requests it is credited with.
			assert.Equal(t, served["good"], good.Count())
			for id, f := range fakes {
				if breaks[id] {
					assert.Equal(t, served[id], f.Count()-countNonStreamed(f), "vendor %s", id)
				}
			}
			t.Logf("%s: 160 requests in %s; served by %v", c.name, elapsed.Round(time.Millisecond), served)

			// Connections and goroutines return to their baseline.
			for _, f := range fakes {
				f.Close()
			}
			good.Close()
			client.CloseIdleConnections()
			require.Eventually(t, func() bool { return runtime.NumGoroutine() <= baseline+5 }, 10*time.Second, 50*time.Millisecond,
				"goroutines: %d, baseline %d", runtime.NumGoroutine(), baseline)
		})
	}
}

// countNonStreamed counts the non-streaming requests a fake received: a
// vendor that breaks streams fails those before commit, so they fail over.
func countNonStreamed(f *fakevendor.Vendor) int {
	n := 0
	for _, r := range f.Requests() {
		if !gjson.GetBytes(r.Body, "stream").Bool() {
			n++
		}
	}
	return n
}

// A huge answer (6 MiB of JSON) passes through, several at once, and what the
// router keeps afterwards does not grow with it.
func TestHugeResponse(t *testing.T) {
	big := strings.Repeat("lorem ", 1<<20)
	huge := fakevendor.Start(t, fakevendor.Options{Name: "huge", Reply: big})
	startRouter(t, routerBlock(nil, vendorBlock("huge", "openai_compatible", huge.URL(), "", "model huge-model")))

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			resp, body := chat(t, "huge-model", "")
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Len(t, gjson.Get(body, "choices.0.message.content").String(), len(big))
		})
	}
	wg.Wait()
	runtime.GC()
	runtime.ReadMemStats(&after)
	assert.Less(t, int64(after.HeapInuse)-int64(before.HeapInuse), int64(64<<20),
		"heap in use grew by %d bytes", int64(after.HeapInuse)-int64(before.HeapInuse))
}

// A config reload in the middle of the load loses no in-flight request and
// keeps what was learned.
func TestReloadUnderLoad(t *testing.T) {
	slow := fakevendor.Start(t, fakevendor.Options{Name: "slow", PerToken: 25 * time.Millisecond,
		Reply: "one two three four five six seven eight"})
	config := func(settings ...string) string {
		return routerBlock(settings, vendorBlock("slow", "openai_compatible", slow.URL(), "", "model reload-model"))
	}
	startRouterGraceful(t, config())
	resp, body := chat(t, "reload-model", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	before := adminStats(t, "slow", "reload-model").Get("successes").Int()

	// Fresh connections: a request sent on a keep-alive connection at the
	// moment the old server closes it never reaches Caddy at all (Go reports
	// "server closed idle connection", and SDKs retry it); that is not the
	// in-flight request this test is about.
	fresh := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var results []loadResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		results = runLoadWith(t, fresh, "reload-model", 40, 20, "")
	}()
	time.Sleep(100 * time.Millisecond)
	startRouterGraceful(t, config("ttft_timeout 30s")) // a reload while 20 requests are in flight
	<-done

	for i, r := range results {
		require.NoError(t, r.err, "request %d", i)
		require.Equal(t, http.StatusOK, r.status, "request %d: %s", i, r.body)
		if r.stream {
			assert.Equal(t, "done", streamEnding(r.body), "request %d: %q", i, r.body)
		}
	}
	after := adminStats(t, "slow", "reload-model").Get("successes").Int()
	assert.Equal(t, before+40, after, "the stats survived the reload and saw every request")
}

// startRouterGraceful is startRouter with Caddy's default (eternal) grace
// period, so that a reload waits for in-flight requests.
func startRouterGraceful(t *testing.T, block string) {
	t.Helper()
	startRouterWith(t, "", block)
}
