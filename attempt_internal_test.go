package llmrouter

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
	"go.uber.org/zap"

	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// The failover rules, tested on the selection policy and the attempt
// transport alone: a router built without Provision, a fake inner
// RoundTripper in place of Caddy's HTTP transport, and the proxy loop
// reverse_proxy runs (select, round trip, retry on a transport error). No
// Caddy, no sockets: each case takes milliseconds.

// unitKey is the key of every vendor of the unit router.
const unitKey = "sk-unit-0123456789"

// fakeInner answers each attempt with the function registered for its
// vendor's host, and records the hosts it was asked for.
type fakeInner struct {
	mu      sync.Mutex
	answers map[string]func(*http.Request) (*http.Response, error)
	hosts   []string
}

func (f *fakeInner) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.hosts = append(f.hosts, r.URL.Host)
	answer := f.answers[r.URL.Host]
	f.mu.Unlock()
	if answer == nil {
		// As Caddy's transport reports a refused connection.
		return nil, reverseproxy.NewDialError(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")})
	}
	return answer(r)
}

// answer returns a canned response with status, content type and body.
func answer(status int, contentType, body string) func(*http.Request) (*http.Response, error) {
	return func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {contentType}},
			Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
	}
}

// Answers of an OpenAI-compatible vendor.
var (
	okJSON = answer(200, "application/json", `{"id":"c","object":"chat.completion","created":1,"model":"m",`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],`+
		`"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
	okStream = answer(200, "text/event-stream", string(sseOf(`{"role":"assistant","content":""}`, `{"content":"hi"}`))+
		"data: [DONE]\n\n")
)

// sseOf is a chat stream of one chunk per delta.
func sseOf(deltas ...string) []byte {
	var b strings.Builder
	for _, d := range deltas {
		b.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":` +
			d + `,"finish_reason":null}]}` + "\n\n")
	}
	return []byte(b.String())
}

// unitRouter is a router over vendors a, b and c (openai_compatible, at hosts
// a.test, b.test and c.test, in that order of price) serving model "m", and
// an anthropic vendor serving "claude", built without Provision.
func unitRouter(t *testing.T, inner http.RoundTripper, retries *int) (*LLMRouter, *attemptTransport) {
	t.Helper()
	price := func(p float64) *float64 { return &p }
	var cfgs []VendorConfig
	for i, id := range []string{"a", "b", "c"} {
		cfgs = append(cfgs, VendorConfig{ID: id, Kind: "openai_compatible", BaseURL: "http://" + id + ".test/v1",
			APIKey: unitKey, Models: []ModelConfig{{Name: "m", InputPrice: price(float64(i + 1)), OutputPrice: price(1)}}})
	}
	cfgs = append(cfgs, VendorConfig{ID: "anthropic", BaseURL: "http://anthropic.test", APIKey: unitKey,
		Models: []ModelConfig{{Name: "claude"}, {Name: "m", InputPrice: price(9), OutputPrice: price(9)}}})
	table, err := buildRouteTable(cfgs, caddy.NewReplacer(), selector.NewMemoryStore())
	require.NoError(t, err)
	require.NoError(t, initMetrics(nil))
	h := &LLMRouter{VendorHeader: DefaultVendorHeader, TTFTTimeout: caddy.Duration(time.Second),
		StreamIdleTimeout: caddy.Duration(time.Second), routing: selector.Price,
		selector: selector.New(selector.Config{ExplorationShare: -1}), table: table, logger: zap.NewNop()}
	if retries != nil {
		h.maxTries = *retries + 1
	}
	return h, &attemptTransport{router: h, inner: inner}
}

// proxyLoop runs a request through the policy and the transport the way
// reverse_proxy does: it selects a route, round-trips, and tries the next
// route while the attempt failed with a (transport) error. It returns the
// response the client gets, or nil, and the request's state.
func proxyLoop(t *testing.T, h *LLMRouter, tr *attemptTransport, body string, header ...string) (*http.Response, *requestState) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	st, err := h.inspect(req, opChat, []byte(body), time.Now())
	require.NoError(t, err)
	st.clientHeader = http.Header{}
	req = req.WithContext(context.WithValue(req.Context(), stateCtxKey{}, st))
	policy := rankedPolicy{router: h}
	for policy.Select(nil, req, nil) != nil {
		resp, err := tr.RoundTrip(req)
		if err == nil {
			return resp, st
		}
	}
	return nil, st
}

// failed lists the failed attempts as "vendor status reason".
func failed(st *requestState) []string {
	var out []string
	for _, a := range st.attempts.failed {
		out = append(out, a.Vendor+" "+http.StatusText(a.Status)+" "+a.Reason)
	}
	return out
}

const unitBody = `{"model":"m","messages":[{"role":"user","content":"hello"}]}`

// A vendor's failover answer moves the request on; the client gets the next
// vendor's answer, and the failure is recorded with its reason.
func TestAttemptTransport_FailsOverOnVendorError(t *testing.T) {
	for status, reason := range map[int]string{429: "rate_limited", 503: "overloaded", 500: "server_error",
		401: "auth", 404: "not_found", 402: "quota"} {
		inner := &fakeInner{answers: map[string]func(*http.Request) (*http.Response, error){
			"a.test": answer(status, "application/json", `{"error":{"message":"no","type":"x"}}`),
			"b.test": okJSON,
		}}
		h, tr := unitRouter(t, inner, nil)
		resp, st := proxyLoop(t, h, tr, unitBody)
		require.NotNil(t, resp, "%d", status)
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, []string{"a " + http.StatusText(status) + " " + reason}, failed(st))
		assert.Equal(t, "b", st.result.served.vendor.ID())
		assert.Equal(t, 2, st.attempts.tries)
		assert.Equal(t, "2", st.clientHeader.Get("X-Llm-Attempts"))
		assert.Equal(t, "b", st.clientHeader.Get("X-Llm-Vendor"))
		_ = resp.Body.Close()
	}
}

// An error about the request itself goes back to the client as the vendor
// sent it (without the router's key), and no other vendor is tried.
func TestAttemptTransport_ClientErrorGoesBack(t *testing.T) {
	body := `{"error":{"message":"bad messages for ` + unitKey + `","type":"invalid_request_error","param":null,"code":null}}`
	inner := &fakeInner{answers: map[string]func(*http.Request) (*http.Response, error){
		"a.test": answer(400, "application/json", body), "b.test": okJSON}}
	h, tr := unitRouter(t, inner, nil)
	resp, st := proxyLoop(t, h, tr, unitBody)
	require.NotNil(t, resp)
	assert.Equal(t, 400, resp.StatusCode)
	got, _ := io.ReadAll(resp.Body)
	assert.Equal(t, strings.ReplaceAll(body, unitKey, "[redacted]"), string(got))
	assert.Equal(t, []string{"a.test"}, inner.hosts)
	assert.Equal(t, outcomeClientError, st.result.outcome)
	assert.Empty(t, st.attempts.failed)
}

// Until its first content token a 200 is still a failover; each way of
// saying nothing has its reason.
func TestAttemptTransport_CommitPoint(t *testing.T) {
	cases := map[string]struct {
		answer func(*http.Request) (*http.Response, error)
		reason string
	}{
		"error event":        {answer(200, "text/event-stream", `data: {"error":{"message":"overloaded","type":"server_error"}}`+"\n\n"), "stream_error"},
		"stream cut":         {answer(200, "text/event-stream", string(sseOf(`{"role":"assistant","content":""}`))), "stream_broken"},
		"stream without any": {answer(200, "text/event-stream", string(sseOf(`{"role":"assistant","content":""}`))+"data: [DONE]\n\n"), "empty_completion"},
		"zero completion": {answer(200, "application/json", `{"choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":5,"completion_tokens":0}}`), "empty_completion"},
		"not JSON":   {answer(200, "application/json", `{"choices":[`), "bad_response"},
		"error body": {answer(200, "application/json", `{"error":{"message":"busy","type":"server_error"}}`), "stream_error"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			inner := &fakeInner{answers: map[string]func(*http.Request) (*http.Response, error){"a.test": c.answer, "b.test": okStream}}
			h, tr := unitRouter(t, inner, nil)
			resp, st := proxyLoop(t, h, tr, unitBody)
			require.NotNil(t, resp)
			got, _ := io.ReadAll(resp.Body)
			require.NoError(t, resp.Body.Close())
			assert.Contains(t, string(got), `"content":"hi"`, "the client gets b's answer, and only b's")
			assert.Equal(t, []string{"a OK " + c.reason}, failed(st))
			assert.Equal(t, "b", st.result.served.vendor.ID())
			assert.True(t, st.result.completed)
		})
	}
}

// Connection failures and a vendor that sends nothing within ttft_timeout
// move the request on too.
func TestAttemptTransport_TransportFailures(t *testing.T) {
	inner := &fakeInner{answers: map[string]func(*http.Request) (*http.Response, error){
		// a.test: nothing registered, the connection is refused.
		"b.test": func(r *http.Request) (*http.Response, error) {
			<-r.Context().Done() // accept and hang
			return nil, r.Context().Err()
		},
		"c.test": okJSON,
	}}
	h, tr := unitRouter(t, inner, nil)
	h.TTFTTimeout = caddy.Duration(50 * time.Millisecond)
	resp, st := proxyLoop(t, h, tr, unitBody)
	require.NotNil(t, resp)
	assert.Equal(t, []string{"a  connection_error", "b  timeout"}, failed(st))
	assert.Equal(t, "could not connect", st.attempts.failed[0].Message)
	assert.Equal(t, "no response within 50ms", st.attempts.failed[1].Message)
	assert.Equal(t, "c", st.result.served.vendor.ID())
}

// A request one vendor's API cannot express is refused there and goes on.
func TestAttemptTransport_UnsupportedRequest(t *testing.T) {
	inner := &fakeInner{answers: map[string]func(*http.Request) (*http.Response, error){"a.test": okJSON}}
	h, tr := unitRouter(t, inner, nil)
	resp, st := proxyLoop(t, h, tr, `{"model":"m","n":2,"messages":[{"role":"user","content":"x"}]}`, "vendor", "anthropic")
	assert.Nil(t, resp, "only anthropic was allowed, and it cannot do n > 1")
	require.Len(t, st.attempts.failed, 1)
	assert.Equal(t, vendors.ReasonUnsupported, st.attempts.failed[0].Reason)
	assert.Equal(t, http.StatusBadRequest, st.attempts.failed[0].Status)
	assert.Empty(t, inner.hosts, "nothing was sent")
}

// A stream that breaks after its first token cannot fail over: the client
// gets an explicit error event, never a silent clean close.
func TestAttemptTransport_BreakAfterCommit(t *testing.T) {
	inner := &fakeInner{answers: map[string]func(*http.Request) (*http.Response, error){
		"a.test": answer(200, "text/event-stream", string(sseOf(`{"role":"assistant","content":""}`, `{"content":"hal"}`))),
		"b.test": okStream,
	}}
	h, tr := unitRouter(t, inner, nil)
	resp, st := proxyLoop(t, h, tr, `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	require.NotNil(t, resp)
	got, _ := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	assert.Contains(t, string(got), `"content":"hal"`)
	events := strings.Split(strings.TrimSuffix(string(got), "\n\n"), "\n\n")
	last := strings.TrimPrefix(events[len(events)-1], "data: ")
	assert.Equal(t, "stream_interrupted", gjson.Get(last, "error.code").String())
	assert.Equal(t, []string{"a.test"}, inner.hosts, "no failover after commit")
	assert.False(t, st.result.completed)
	assert.Empty(t, st.attempts.failed)
}

// The policy hands out the ranked routes once each, routes whose breaker is
// open last, and stops at the retries cap.
func TestRankedPolicy_Select(t *testing.T) {
	inner := &fakeInner{answers: map[string]func(*http.Request) (*http.Response, error){}}
	h, tr := unitRouter(t, inner, nil)
	a := h.table.byModel["m"][0]
	h.selector.ObserveFailure(a.stats, selector.Failure{Kind: selector.FailureAuth}, time.Now())
	resp, _ := proxyLoop(t, h, tr, unitBody)
	assert.Nil(t, resp)
	assert.Equal(t, []string{"b.test", "c.test", "anthropic.test", "a.test"}, inner.hosts,
		"cheapest first, the open breaker last")

	one := 1
	inner = &fakeInner{answers: map[string]func(*http.Request) (*http.Response, error){}}
	h, tr = unitRouter(t, inner, &one)
	resp, st := proxyLoop(t, h, tr, unitBody)
	assert.Nil(t, resp)
	assert.Equal(t, []string{"a.test", "b.test"}, inner.hosts, "retries 1: two attempts")
	assert.Equal(t, 2, st.attempts.tries)
}

// A client that leaves while the router waits for the first token is no
// vendor's fault: nothing is recorded against the vendor.
func TestAttemptTransport_ClientLeaves(t *testing.T) {
	started := make(chan struct{})
	inner := &fakeInner{answers: map[string]func(*http.Request) (*http.Response, error){
		"a.test": func(r *http.Request) (*http.Response, error) {
			close(started)
			<-r.Context().Done()
			return nil, r.Context().Err()
		},
	}}
	h, tr := unitRouter(t, inner, nil)
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(unitBody))
	st, err := h.inspect(req, opChat, []byte(unitBody), time.Now())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), stateCtxKey{}, st))
	req = req.WithContext(ctx)
	require.NotNil(t, rankedPolicy{router: h}.Select(nil, req, nil))
	go func() { <-started; cancel() }()
	_, err = tr.RoundTrip(req)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, st.attempts.failed)
	assert.Equal(t, selector.Closed, h.selector.Snapshot(st.plan.ranked[0].stats, time.Now()).Breaker)
}

// A JSON answer too large to hold (its Content-Length over
// maxCommitJSONBody) is not inspected, but it still reaches the client whole.
func TestAttemptTransport_HugeAnswerPassesUninspected(t *testing.T) {
	body := `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}]}`
	inner := &fakeInner{answers: map[string]func(*http.Request) (*http.Response, error){
		"a.test": func(r *http.Request) (*http.Response, error) {
			resp, err := answer(200, "application/json", body)(r)
			resp.ContentLength = maxCommitJSONBody + 1 // as the vendor announced it
			return resp, err
		},
	}}
	h, tr := unitRouter(t, inner, nil)
	resp, st := proxyLoop(t, h, tr, unitBody)
	require.NotNil(t, resp)
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, body, string(got))
	assert.True(t, st.result.usage.Estimated)
	assert.True(t, st.result.completed)
}

// An attempt whose body may be the client's pooled bytes hands the transport
// the translator's in-memory reader (which net/http writes with the headers,
// through the connection's write buffer) and holds the buffer until the
// transport reports the body written; a small body is a copy and holds
// nothing.
func TestAttemptHoldsTheBodyUntilWritten(t *testing.T) {
	for _, c := range []struct {
		name  string
		size  int
		holds bool
	}{{"large", 8 << 10, true}, {"small", 100, false}} {
		t.Run(c.name, func(t *testing.T) {
			var sent *http.Request
			inner := &fakeInner{answers: map[string]func(*http.Request) (*http.Response, error){
				"a.test": func(r *http.Request) (*http.Response, error) { sent = r; return okJSON(r) },
			}}
			h, tr := unitRouter(t, inner, nil)
			body := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("x", c.size) + `"}]}`
			b := getBodyBuffer()
			require.NoError(t, b.readLimited(strings.NewReader(body), int64(len(body)), 1<<20))
			req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
			st, err := h.inspect(req, opChat, b.buf, time.Now())
			require.NoError(t, err)
			st.bodyBuffer, st.clientHeader = b, http.Header{}
			req = req.WithContext(context.WithValue(req.Context(), stateCtxKey{}, st))
			require.NotNil(t, rankedPolicy{router: h}.Select(nil, req, nil))
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			resp.Body.Close()

			require.NotNil(t, sent)
			assert.IsType(t, io.NopCloser(bytes.NewReader(nil)), sent.Body,
				"net/http sends only its own in-memory readers with the headers (isKnownInMemoryReader)")
			got, err := io.ReadAll(sent.Body)
			require.NoError(t, err)
			assert.Equal(t, body, string(got))
			trace := httptrace.ContextClientTrace(sent.Context())
			if !c.holds {
				assert.EqualValues(t, 1, b.refs.Load(), "a copied body holds nothing")
				assert.Nil(t, trace)
				b.release()
				return
			}
			assert.EqualValues(t, 2, b.refs.Load(), "held until written")
			require.NotNil(t, trace)
			trace.WroteRequest(httptrace.WroteRequestInfo{})
			assert.EqualValues(t, 1, b.refs.Load())
			b.release()
			assert.EqualValues(t, 0, b.refs.Load())
		})
	}
}
