package fakevendor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const chatBody = `{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]}`

func post(t *testing.T, url, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// readEvent reads one SSE event and returns its data payload.
func readEvent(r *bufio.Reader) (string, error) {
	var data []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if len(data) == 0 {
				continue
			}
			return strings.Join(data, "\n"), nil
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			data = append(data, d)
		}
	}
}

func readAllEvents(t *testing.T, body io.Reader) []string {
	t.Helper()
	r := bufio.NewReader(body)
	var out []string
	for {
		ev, err := readEvent(r)
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, ev)
	}
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &m), s)
	return m
}

func TestNonStreamingShape(t *testing.T) {
	v := Start(t, Options{Name: "alpha"})
	resp, b := post(t, v.URL()+"/v1/chat/completions", chatBody, "Authorization", "Bearer sk-x")

	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))

	m := decode(t, string(b))
	id, _ := m["id"].(string)
	assert.True(t, strings.HasPrefix(id, "chatcmpl-"), id)
	created, _ := m["created"].(float64)
	assert.InDelta(t, float64(time.Now().Unix()), created, 5)

	p := len(chatBody) / 4
	want := fmt.Sprintf(`{
		"id": %q, "object": "chat.completion", "created": %d, "model": "gpt-test",
		"system_fingerprint": "fp_alpha",
		"choices": [{"index": 0,
			"message": {"role": "assistant", "content": "Hello from alpha.", "refusal": null},
			"logprobs": null, "finish_reason": "stop"}],
		"usage": {"prompt_tokens": %d, "completion_tokens": 3, "total_tokens": %d}
	}`, id, int64(created), p, p+3)
	assert.JSONEq(t, want, string(b))

	// Key order follows OpenAI's.
	assert.True(t, strings.HasPrefix(string(b), `{"id":"chatcmpl-`), string(b))

	reqs := v.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, http.MethodPost, reqs[0].Method)
	assert.Equal(t, "/v1/chat/completions", reqs[0].Path)
	assert.Equal(t, strings.TrimPrefix(v.URL(), "http://"), reqs[0].Host)
	assert.Equal(t, "Bearer sk-x", reqs[0].Header.Get("Authorization"))
	assert.Equal(t, chatBody, string(reqs[0].Body))
	assert.Equal(t, 1, v.Count())

	// Returned copies are independent of the recorder.
	reqs[0].Body[0] = 'X'
	reqs[0].Header.Set("Authorization", "changed")
	assert.Equal(t, chatBody, string(v.Requests()[0].Body))
	assert.Equal(t, "Bearer sk-x", v.Requests()[0].Header.Get("Authorization"))
}

func TestPromptTokensAndReplyOptions(t *testing.T) {
	v := Start(t, Options{Reply: "  one two\tthree\n", PromptTokens: 42})
	_, b := post(t, v.URL()+"/v1/chat/completions", chatBody)
	m := decode(t, string(b))
	assert.Equal(t, "  one two\tthree\n", m["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"])
	assert.Equal(t, map[string]any{"prompt_tokens": 42.0, "completion_tokens": 3.0, "total_tokens": 45.0}, m["usage"])
	assert.Equal(t, "fp_fake", m["system_fingerprint"])
}

func TestSplitWords(t *testing.T) {
	for in, want := range map[string][]string{
		"Hello from X.":      {"Hello", " from", " X."},
		"  a b":              {"  a", " b"},
		"a  b\n":             {"a", "  b\n"},
		"one":                {"one"},
		"":                   nil,
		"héllo wörld":        {"héllo", " wörld"},
		"line1\nline2 word3": {"line1", "\nline2", " word3"},
	} {
		got := splitWords(in)
		assert.Equal(t, want, got, "%q", in)
		assert.Equal(t, in, strings.Join(got, ""))
	}
}

func TestOtherEndpointsAndPaths(t *testing.T) {
	v := Start(t, Options{Name: "az"})

	// Azure-style path with query string.
	resp, b := post(t, v.URL()+"/openai/deployments/gpt4/chat/completions?api-version=2024-06-01", chatBody)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "chat.completion", decode(t, string(b))["object"])
	r := v.Requests()[0]
	assert.Equal(t, "/openai/deployments/gpt4/chat/completions", r.Path)
	assert.Equal(t, "api-version=2024-06-01", r.RawQuery)

	resp, b = post(t, v.URL()+"/v1/embeddings", `{"model":"text-embedding-3-small","input":"hello"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	m := decode(t, string(b))
	assert.Equal(t, "list", m["object"])
	assert.Equal(t, "text-embedding-3-small", m["model"])
	data := m["data"].([]any)
	require.Len(t, data, 1)
	d := data[0].(map[string]any)
	assert.Equal(t, "embedding", d["object"])
	assert.Equal(t, 0.0, d["index"])
	assert.NotEmpty(t, d["embedding"])
	assert.Contains(t, m["usage"], "prompt_tokens")

	resp, b = post(t, v.URL()+"/v1/completions", `{"model":"gpt-3.5-turbo-instruct","prompt":"hi"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	m = decode(t, string(b))
	assert.Equal(t, "text_completion", m["object"])
	assert.True(t, strings.HasPrefix(m["id"].(string), "cmpl-"))
	c := m["choices"].([]any)[0].(map[string]any)
	assert.Equal(t, "Hello from az.", c["text"])
	assert.Equal(t, "stop", c["finish_reason"])

	// Streaming legacy completions.
	resp, err := http.Post(v.URL()+"/v1/completions", "application/json",
		strings.NewReader(`{"model":"m","prompt":"hi","stream":true}`))
	require.NoError(t, err)
	evs := readAllEvents(t, resp.Body)
	resp.Body.Close()
	require.Len(t, evs, 5) // 3 words, stop, [DONE]
	var text strings.Builder
	for _, ev := range evs[:3] {
		text.WriteString(decode(t, ev)["choices"].([]any)[0].(map[string]any)["text"].(string))
	}
	assert.Equal(t, "Hello from az.", text.String())
	assert.Equal(t, "[DONE]", evs[4])

	// Unknown path and wrong method.
	resp, b = post(t, v.URL()+"/v1/nope", chatBody)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Contains(t, string(b), `"type":"invalid_request_error"`)
	resp, err = http.Get(v.URL() + "/v1/chat/completions")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestBadJSON(t *testing.T) {
	v := Start(t, Options{})
	resp, b := post(t, v.URL()+"/v1/chat/completions", `{"model":`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	e := decode(t, string(b))["error"].(map[string]any)
	assert.Equal(t, "invalid_request_error", e["type"])
	assert.Contains(t, e, "param")
	assert.Contains(t, e, "code")
	assert.NotEmpty(t, e["message"])
	assert.Equal(t, 1, v.Count(), "bad requests are recorded too")
}

func TestStreamingSequence(t *testing.T) {
	v := Start(t, Options{Name: "beta", Reply: "one two three"})
	resp, err := http.Post(v.URL()+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"gpt-s","stream":true,"messages":[]}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))

	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(raw), "data: {"), string(raw))
	assert.True(t, strings.HasSuffix(string(raw), "data: [DONE]\n\n"), string(raw))

	evs := readAllEvents(t, strings.NewReader(string(raw)))
	require.Len(t, evs, 1+3+1+1)
	assert.Equal(t, "[DONE]", evs[len(evs)-1])

	var id string
	var text strings.Builder
	for i, ev := range evs[:len(evs)-1] {
		m := decode(t, ev)
		assert.NotContains(t, m, "usage", "no usage key without include_usage")
		if i == 0 {
			id = m["id"].(string)
		}
		assert.Equal(t, id, m["id"])
		assert.True(t, strings.HasPrefix(id, "chatcmpl-"))
		assert.Equal(t, "chat.completion.chunk", m["object"])
		assert.Equal(t, "gpt-s", m["model"])
		assert.Equal(t, "fp_beta", m["system_fingerprint"])
		assert.Contains(t, m, "created")
		ch := m["choices"].([]any)
		require.Len(t, ch, 1)
		c := ch[0].(map[string]any)
		assert.Equal(t, 0.0, c["index"])
		assert.Contains(t, c, "logprobs")
		assert.Nil(t, c["logprobs"])
		delta := c["delta"].(map[string]any)
		switch {
		case i == 0:
			assert.Equal(t, map[string]any{"role": "assistant", "content": ""}, delta)
			assert.Nil(t, c["finish_reason"])
			assert.Contains(t, c, "finish_reason")
		case i <= 3:
			assert.Len(t, delta, 1)
			text.WriteString(delta["content"].(string))
			assert.Nil(t, c["finish_reason"])
		default:
			assert.Empty(t, delta)
			assert.Equal(t, "stop", c["finish_reason"])
		}
	}
	assert.Equal(t, "one two three", text.String())
}

func TestStreamingIncludeUsage(t *testing.T) {
	v := Start(t, Options{Reply: "a b", PromptTokens: 10})
	resp, err := http.Post(v.URL()+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"m","stream":true,"stream_options":{"include_usage":true}}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	evs := readAllEvents(t, resp.Body)
	require.Len(t, evs, 1+2+1+1+1)
	for _, ev := range evs[:4] {
		m := decode(t, ev)
		assert.Contains(t, m, "usage")
		assert.Nil(t, m["usage"])
		assert.Len(t, m["choices"], 1)
	}
	assert.Equal(t, "stop", decode(t, evs[3])["choices"].([]any)[0].(map[string]any)["finish_reason"])
	u := decode(t, evs[4])
	assert.Equal(t, []any{}, u["choices"])
	assert.Equal(t, "chat.completion.chunk", u["object"])
	assert.Equal(t, map[string]any{"prompt_tokens": 10.0, "completion_tokens": 2.0, "total_tokens": 12.0}, u["usage"])
	assert.Equal(t, "[DONE]", evs[5])

	// include_usage false: no usage chunk.
	resp2, err := http.Post(v.URL()+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"m","stream":true,"stream_options":{"include_usage":false}}`))
	require.NoError(t, err)
	defer resp2.Body.Close()
	evs = readAllEvents(t, resp2.Body)
	require.Len(t, evs, 1+2+1+1)
	for _, ev := range evs[:4] {
		assert.NotContains(t, decode(t, ev), "usage")
	}
}

func TestStreamingFlushesEachEvent(t *testing.T) {
	const perToken = 200 * time.Millisecond
	v := Start(t, Options{Reply: "a b c d e", PerToken: perToken})
	start := time.Now()
	resp, err := http.Post(v.URL()+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"m","stream":true}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)

	// The role chunk is sent before any PerToken sleep.
	ev, err := readEvent(r)
	require.NoError(t, err)
	assert.Less(t, time.Since(start), perToken, "first event must arrive before the first PerToken sleep ends")
	assert.Equal(t, "assistant", decode(t, ev)["choices"].([]any)[0].(map[string]any)["delta"].(map[string]any)["role"])

	// The first content chunk arrives while the handler is still producing the rest.
	ev, err = readEvent(r)
	require.NoError(t, err)
	assert.Equal(t, "a", decode(t, ev)["choices"].([]any)[0].(map[string]any)["delta"].(map[string]any)["content"])
	assert.Equal(t, int64(1), v.inflight.Load(), "stream still in progress")

	var last time.Time
	n := 0
	for {
		ev, err = readEvent(r)
		require.NoError(t, err)
		n++
		last = time.Now()
		if ev == "[DONE]" {
			break
		}
	}
	assert.Equal(t, 4+1+1, n)
	assert.GreaterOrEqual(t, last.Sub(start), 5*perToken)
}

func TestTTFTAndPerTokenNonStreaming(t *testing.T) {
	v := Start(t, Options{TTFT: 100 * time.Millisecond, PerToken: 50 * time.Millisecond, Reply: "x y"})
	start := time.Now()
	resp, _ := post(t, v.URL()+"/v1/chat/completions", chatBody)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
}

func TestTTFTPerPromptKB(t *testing.T) {
	v := Start(t, Options{TTFTPerPromptKB: 25 * time.Millisecond})
	start := time.Now()
	post(t, v.URL()+"/v1/chat/completions", chatBody)
	small := time.Since(start)

	big := fmt.Sprintf(`{"model":"m","messages":[{"role":"user","content":%q}]}`, strings.Repeat("x", 20*1024))
	start = time.Now()
	post(t, v.URL()+"/v1/chat/completions", big)
	large := time.Since(start)

	assert.Less(t, small, 250*time.Millisecond)
	assert.GreaterOrEqual(t, large, 500*time.Millisecond)
}

func TestStatusAndHeader(t *testing.T) {
	v := Start(t, Options{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"7"}}})
	resp, b := post(t, v.URL()+"/v1/chat/completions", chatBody)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "7", resp.Header.Get("Retry-After"))
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"error":{"message":"fake 429","type":"requests","param":null,"code":null}}`, string(b))

	// Streaming requests fail the same way.
	resp, b = post(t, v.URL()+"/v1/chat/completions", `{"model":"m","stream":true}`)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Contains(t, string(b), `"fake 429"`)

	v.SetOptions(Options{Status: 503})
	resp, b = post(t, v.URL()+"/v1/chat/completions", chatBody)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("Retry-After"))
	assert.JSONEq(t, `{"error":{"message":"fake 503","type":"server_error","param":null,"code":null}}`, string(b))

	v.SetOptions(Options{Status: 400, ErrorBody: `{"error":{"message":"context_length_exceeded"}}`})
	resp, b = post(t, v.URL()+"/v1/chat/completions", chatBody)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, `{"error":{"message":"context_length_exceeded"}}`, string(b))

	// Status 200 means success; Header also applies to successes.
	v.SetOptions(Options{Status: 200, Header: http.Header{"X-Ratelimit-Remaining-Requests": {"99"}}})
	resp, _ = post(t, v.URL()+"/v1/chat/completions", chatBody)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "99", resp.Header.Get("X-Ratelimit-Remaining-Requests"))
	assert.Equal(t, 5, v.Count())
}

func TestHeaderOptionIsCopied(t *testing.T) {
	h := http.Header{"Retry-After": {"1"}}
	v := Start(t, Options{Status: 429, Header: h})
	h.Set("Retry-After", "999")
	resp, _ := post(t, v.URL()+"/v1/chat/completions", chatBody)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
}

func TestRequireKey(t *testing.T) {
	v := Start(t, Options{RequireKey: "sk-good"})
	url := v.URL() + "/v1/chat/completions"

	resp, b := post(t, url, chatBody)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	e := decode(t, string(b))["error"].(map[string]any)
	assert.Equal(t, "invalid_request_error", e["type"])
	assert.Equal(t, "invalid_api_key", e["code"])
	assert.Contains(t, e, "param")

	resp, _ = post(t, url, chatBody, "Authorization", "Bearer sk-bad")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = post(t, url, chatBody, "api-key", "sk-bad")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = post(t, url, chatBody, "Authorization", "sk-good")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	resp, _ = post(t, url, chatBody, "Authorization", "Bearer sk-good")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = post(t, url, chatBody, "api-key", "sk-good")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 6, v.Count())
}

func TestSetOptionsRuntimeAndReset(t *testing.T) {
	v := Start(t, Options{Name: "one"})
	url := v.URL() + "/v1/chat/completions"

	_, b := post(t, url, chatBody)
	assert.Contains(t, string(b), "Hello from one.")

	v.SetOptions(Options{Name: "two", Status: 500})
	resp, _ := post(t, url, chatBody)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)

	v.SetOptions(Options{Name: "two"})
	resp, b = post(t, url, `{"model":"third"}`)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(b), "Hello from two.")

	reqs := v.Requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, `{"model":"third"}`, string(reqs[2].Body))

	v.Reset()
	assert.Equal(t, 0, v.Count())
	assert.Empty(t, v.Requests())
	post(t, url, chatBody)
	assert.Equal(t, 1, v.Count())
}

func TestConcurrentRequests(t *testing.T) {
	v := Start(t, Options{PerToken: time.Millisecond})
	url := v.URL() + "/v1/chat/completions"
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"model":"m%d","stream":%t}`, i, i%2 == 0)
			resp, err := http.Post(url, "application/json", strings.NewReader(body))
			if !assert.NoError(t, err) {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
		if i%10 == 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v.SetOptions(Options{PerToken: time.Millisecond, Header: http.Header{"X-I": {fmt.Sprint(i)}}})
				_ = v.Requests()
				_ = v.Count()
			}()
		}
	}
	wg.Wait()
	assert.Equal(t, n, v.Count())
}

func TestDeadURL(t *testing.T) {
	u := DeadURL(t)
	assert.True(t, strings.HasPrefix(u, "http://127.0.0.1:"), u)
	_, err := http.Post(u+"/v1/chat/completions", "application/json", strings.NewReader(chatBody))
	require.Error(t, err)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
}

func TestCancellationStopsStream(t *testing.T) {
	v := Start(t, Options{Reply: strings.Repeat("word ", 100), PerToken: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.URL()+"/v1/chat/completions",
		strings.NewReader(`{"model":"m","stream":true}`))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	r := bufio.NewReader(resp.Body)
	_, err = readEvent(r)
	require.NoError(t, err)
	_, err = readEvent(r)
	require.NoError(t, err)
	require.Equal(t, int64(1), v.inflight.Load())

	start := time.Now()
	cancel()
	resp.Body.Close()
	require.Eventually(t, func() bool { return v.inflight.Load() == 0 }, 2*time.Second, 5*time.Millisecond,
		"handler must return promptly after the client disconnects")
	assert.Less(t, time.Since(start), time.Second)
}

func TestCancellationDuringTTFT(t *testing.T) {
	v := Start(t, Options{TTFT: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.URL()+"/v1/chat/completions", strings.NewReader(chatBody))
	require.NoError(t, err)
	_, err = http.DefaultClient.Do(req)
	require.Error(t, err)
	require.Eventually(t, func() bool { return v.inflight.Load() == 0 }, 2*time.Second, 5*time.Millisecond)
	assert.Equal(t, 1, v.Count())
}

func TestCloseAbortsInFlight(t *testing.T) {
	v := Start(nil, Options{TTFT: time.Minute})
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Post(v.URL()+"/v1/chat/completions", "application/json", strings.NewReader(chatBody))
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	require.Eventually(t, func() bool { return v.inflight.Load() == 1 }, 2*time.Second, 5*time.Millisecond)

	done := make(chan struct{})
	go func() { v.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Close blocked on an in-flight request")
	}
	v.Close() // idempotent
	select {
	case err := <-errc:
		assert.Error(t, err, "an aborted request must not look like a (empty) success")
	case <-time.After(3 * time.Second):
		t.Fatal("client never returned")
	}
}

func TestCloseTruncatesStream(t *testing.T) {
	v := Start(t, Options{Reply: strings.Repeat("w ", 50), PerToken: 50 * time.Millisecond})
	resp, err := http.Post(v.URL()+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m","stream":true}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	_, err = readEvent(r)
	require.NoError(t, err)
	v.Close()
	for {
		ev, err := readEvent(r)
		if err != nil {
			assert.NotErrorIs(t, err, io.EOF, "stream must end with a transport error, not a clean EOF")
			return
		}
		require.NotEqual(t, "[DONE]", ev)
	}
}

// ---------------------------------------------------------------------------
// Faults, keep-alives, usage styles, cancellation

// openStream posts body to …/chat/completions (or path) with ctx and returns
// the response, whose body the caller reads.
func openStream(t *testing.T, ctx context.Context, url, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// streamAll posts a request and returns the raw body, which must end cleanly.
func streamAll(t *testing.T, url, body string) (*http.Response, string) {
	t.Helper()
	resp := openStream(t, context.Background(), url, body)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "the body must end cleanly")
	return resp, string(raw)
}

var finishReasons = []any{"stop", "length", "tool_calls", "content_filter", "function_call"}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// assertUsageShape checks a CompletionUsage object and returns it.
func assertUsageShape(t *testing.T, u any) map[string]any {
	t.Helper()
	m, ok := u.(map[string]any)
	require.True(t, ok, "usage must be an object: %v", u)
	assert.Subset(t, []string{"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details"}, keys(m))
	for _, k := range []string{"prompt_tokens", "completion_tokens", "total_tokens"} {
		n, ok := m[k].(float64)
		if assert.True(t, ok, "usage.%s must be an integer: %v", k, m) {
			assert.Equal(t, float64(int(n)), n)
			assert.GreaterOrEqual(t, n, 0.0)
		}
	}
	assert.Equal(t, m["prompt_tokens"].(float64)+m["completion_tokens"].(float64), m["total_tokens"])
	if d, ok := m["prompt_tokens_details"]; ok {
		dm, ok := d.(map[string]any)
		require.True(t, ok)
		assert.Equal(t, []string{"cached_tokens"}, keys(dm))
	}
	return m
}

// assertChunkShape checks that a chat chunk has OpenAI's shape
// (CreateChatCompletionStreamResponse), finish_reason "error" aside when
// allowErrorFinish, and returns it decoded.
func assertChunkShape(t *testing.T, ev string, allowErrorFinish bool) map[string]any {
	t.Helper()
	m := decode(t, ev)
	assert.True(t, strings.HasPrefix(ev, `{"id":"chatcmpl-`), ev)
	assert.Subset(t, []string{"id", "object", "created", "model", "system_fingerprint", "choices", "usage"}, keys(m))
	assert.IsType(t, "", m["id"])
	assert.Equal(t, "chat.completion.chunk", m["object"])
	assert.IsType(t, 0.0, m["created"])
	assert.IsType(t, "", m["model"])
	assert.IsType(t, "", m["system_fingerprint"])
	choices, ok := m["choices"].([]any)
	require.True(t, ok, ev)
	if len(choices) == 0 {
		assertUsageShape(t, m["usage"])
	}
	for _, c := range choices {
		cm := c.(map[string]any)
		assert.ElementsMatch(t, []string{"index", "delta", "logprobs", "finish_reason"}, keys(cm), ev)
		assert.Equal(t, 0.0, cm["index"])
		assert.Nil(t, cm["logprobs"])
		if f := cm["finish_reason"]; f != nil {
			if !(allowErrorFinish && f == "error") {
				assert.Contains(t, finishReasons, f, ev)
			}
		}
		d := cm["delta"].(map[string]any)
		assert.Subset(t, []string{"role", "content"}, keys(d))
		if r, ok := d["role"]; ok {
			assert.Equal(t, "assistant", r)
		}
		if c, ok := d["content"]; ok {
			assert.IsType(t, "", c)
		}
	}
	if u, ok := m["usage"]; ok && u != nil {
		assertUsageShape(t, u)
	}
	return m
}

func choice0(m map[string]any) map[string]any {
	return m["choices"].([]any)[0].(map[string]any)
}

func TestFaultErrorEventBeforeToken(t *testing.T) {
	v := Start(t, Options{Fault: FaultErrorEventBeforeToken, PerToken: 100 * time.Millisecond})
	url := v.URL() + "/v1/chat/completions"
	start := time.Now()
	resp, raw := streamAll(t, url, `{"model":"m","stream":true}`)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "the error comes after PerToken")
	evs := readAllEvents(t, strings.NewReader(raw))
	require.Len(t, evs, 2, raw)
	m := assertChunkShape(t, evs[0], false)
	assert.Equal(t, map[string]any{"role": "assistant", "content": ""}, choice0(m)["delta"])
	assert.Equal(t, ErrorEvent, evs[1])
	assert.True(t, strings.HasSuffix(raw, "\n\ndata: "+ErrorEvent+"\n\n"), raw)
	assert.NotContains(t, raw, "[DONE]")
	e := decode(t, evs[1])["error"].(map[string]any)
	assert.Equal(t, map[string]any{"message": "fake overloaded", "type": "server_error", "param": nil, "code": "overloaded"}, e)

	// Non-streaming: 200 with the error object as body.
	resp, b := post(t, url, chatBody)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, ErrorEvent, string(b))
	assert.Equal(t, 0, v.Cancelled())
}

func TestFaultEndBeforeToken(t *testing.T) {
	v := Start(t, Options{Fault: FaultEndBeforeToken})
	url := v.URL() + "/v1/chat/completions"
	resp, raw := streamAll(t, url, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	evs := readAllEvents(t, strings.NewReader(raw))
	require.Len(t, evs, 1, raw)
	m := assertChunkShape(t, evs[0], false)
	assert.Equal(t, "assistant", choice0(m)["delta"].(map[string]any)["role"])
	assert.Nil(t, choice0(m)["finish_reason"])

	resp, b := post(t, url, chatBody)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Empty(t, b)

	// Legacy completions have no role chunk: nothing at all.
	resp, raw = streamAll(t, v.URL()+"/v1/completions", `{"model":"m","prompt":"x","stream":true}`)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, raw)
}

func TestFaultZeroTokens(t *testing.T) {
	v := Start(t, Options{Fault: FaultZeroTokens, PromptTokens: 9, Reply: "not sent"})
	url := v.URL() + "/v1/chat/completions"

	_, raw := streamAll(t, url, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`)
	evs := readAllEvents(t, strings.NewReader(raw))
	require.Len(t, evs, 4, raw) // role, finish, usage, [DONE]
	assert.Equal(t, map[string]any{"role": "assistant", "content": ""}, choice0(assertChunkShape(t, evs[0], false))["delta"])
	fin := choice0(assertChunkShape(t, evs[1], false))
	assert.Equal(t, "stop", fin["finish_reason"])
	assert.Empty(t, fin["delta"])
	u := assertChunkShape(t, evs[2], false)
	assert.Equal(t, []any{}, u["choices"])
	assert.Equal(t, map[string]any{"prompt_tokens": 9.0, "completion_tokens": 0.0, "total_tokens": 9.0}, u["usage"])
	assert.Equal(t, "[DONE]", evs[3])

	// Without include_usage.
	_, raw = streamAll(t, url, `{"model":"m","stream":true}`)
	evs = readAllEvents(t, strings.NewReader(raw))
	require.Len(t, evs, 3, raw)
	assert.Equal(t, "[DONE]", evs[2])

	resp, b := post(t, url, chatBody)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	m := decode(t, string(b))
	c := choice0(m)
	assert.Equal(t, map[string]any{"role": "assistant", "content": "", "refusal": nil}, c["message"])
	assert.Equal(t, "stop", c["finish_reason"])
	assert.Equal(t, map[string]any{"prompt_tokens": 9.0, "completion_tokens": 0.0, "total_tokens": 9.0}, m["usage"])
}

func TestFaultErrorFinish(t *testing.T) {
	v := Start(t, Options{Fault: FaultErrorFinish, PromptTokens: 5})
	url := v.URL() + "/v1/chat/completions"

	_, raw := streamAll(t, url, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`)
	evs := readAllEvents(t, strings.NewReader(raw))
	require.Len(t, evs, 4, raw)
	fin := choice0(assertChunkShape(t, evs[1], true))
	assert.Equal(t, "error", fin["finish_reason"])
	assert.Empty(t, fin["delta"])
	assert.Equal(t, 0.0, assertChunkShape(t, evs[2], true)["usage"].(map[string]any)["completion_tokens"])
	assert.Equal(t, "[DONE]", evs[3])
	for _, ev := range evs[:3] {
		assert.NotContains(t, ev, `"content":"H`)
	}

	_, b := post(t, url, chatBody)
	m := decode(t, string(b))
	assert.Equal(t, "error", choice0(m)["finish_reason"])
	assert.Equal(t, "", choice0(m)["message"].(map[string]any)["content"])
	assert.Equal(t, 0.0, m["usage"].(map[string]any)["completion_tokens"])

	// Legacy completions too.
	_, b = post(t, v.URL()+"/v1/completions", `{"model":"m","prompt":"x"}`)
	m = decode(t, string(b))
	assert.Equal(t, "error", choice0(m)["finish_reason"])
	assert.Equal(t, "", choice0(m)["text"])
}

// readUntilError reads events until an error and returns them and the error.
func readUntilError(r *bufio.Reader) ([]string, error) {
	var evs []string
	for {
		ev, err := readEvent(r)
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

func TestFaultCutAfter(t *testing.T) {
	v := Start(t, Options{Fault: FaultCutAfter, CutAfter: 2, Reply: "one two three four", PerToken: 10 * time.Millisecond})
	url := v.URL() + "/v1/chat/completions"

	for _, tc := range []struct {
		cutAfter int
		want     []string
	}{{2, []string{"one", " two"}}, {0, nil}, {10, []string{"one", " two", " three", " four"}}} {
		v.SetOptions(Options{Fault: FaultCutAfter, CutAfter: tc.cutAfter, Reply: "one two three four", PerToken: 10 * time.Millisecond})
		resp := openStream(t, context.Background(), url, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		evs, err := readUntilError(bufio.NewReader(resp.Body))
		require.Error(t, err)
		assert.NotErrorIs(t, err, io.EOF, "a cut is a transport error, not a clean end (CutAfter %d)", tc.cutAfter)
		require.Len(t, evs, 1+len(tc.want), "CutAfter %d", tc.cutAfter)
		var got []string
		for _, ev := range evs[1:] {
			c := choice0(assertChunkShape(t, ev, false))
			assert.Nil(t, c["finish_reason"])
			got = append(got, c["delta"].(map[string]any)["content"].(string))
		}
		assert.Equal(t, tc.want, got)
	}

	// Non-streaming: half a body, then the connection drops.
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(chatBody))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(string(b), `{"id":"chatcmpl-`), string(b))

	require.Eventually(t, func() bool { return v.Inflight() == 0 }, 2*time.Second, 5*time.Millisecond)
	assert.Equal(t, 0, v.Cancelled(), "the vendor's own cut is not a client cancellation")
}

func TestFaultStallAfter(t *testing.T) {
	v := Start(t, Options{Fault: FaultStallAfter, CutAfter: 1, Reply: "one two three"})
	url := v.URL() + "/v1/chat/completions"

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := openStream(t, ctx, url, `{"model":"m","stream":true}`)
	r := bufio.NewReader(resp.Body)
	for range 2 { // role, "one"
		_, err := readEvent(r)
		require.NoError(t, err)
	}
	next := make(chan error, 1)
	go func() {
		_, err := readEvent(r)
		next <- err
	}()
	select {
	case err := <-next:
		t.Fatalf("the stream must stall, got an event or error %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	assert.Equal(t, 1, v.Inflight())
	assert.Equal(t, 0, v.Cancelled())

	cancel()
	require.Eventually(t, func() bool { return v.Cancelled() == 1 }, time.Second, 5*time.Millisecond,
		"the stalled handler sees the client go away")
	require.Eventually(t, func() bool { return v.Inflight() == 0 }, time.Second, 5*time.Millisecond)
	assert.Error(t, <-next)

	// Non-streaming: headers and half a body, then the stall.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	resp = openStream(t, ctx2, url, chatBody)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	buf := make([]byte, 10)
	_, err := io.ReadFull(resp.Body, buf)
	require.NoError(t, err)
	assert.Equal(t, `{"id":"cha`, string(buf))
	cancel2()
	require.Eventually(t, func() bool { return v.Cancelled() == 2 }, time.Second, 5*time.Millisecond)

	// A stall ended by the vendor's Close is not a cancellation.
	w := Start(nil, Options{Fault: FaultStallAfter})
	resp = openStream(t, context.Background(), w.URL()+"/v1/chat/completions", `{"model":"m","stream":true}`)
	_, err = readEvent(bufio.NewReader(resp.Body))
	require.NoError(t, err)
	require.Equal(t, 1, w.Inflight())
	w.Close() // waits for the handler
	assert.Equal(t, 0, w.Inflight())
	assert.Equal(t, 0, w.Cancelled())
}

func TestFaultMalformedJSON(t *testing.T) {
	v := Start(t, Options{Fault: FaultMalformedJSON})
	url := v.URL() + "/v1/chat/completions"

	resp, b := post(t, url, chatBody)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, `{"id": "x", "choices": [`, string(b))
	assert.Equal(t, MalformedBody, string(b))
	assert.False(t, json.Valid(b))

	resp, raw := streamAll(t, url, `{"model":"m","stream":true}`)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "data: "+MalformedBody+"\n\n", raw)
	evs := readAllEvents(t, strings.NewReader(raw))
	require.Len(t, evs, 1)
	assert.False(t, json.Valid([]byte(evs[0])))
}

func TestKeepAlivesStreaming(t *testing.T) {
	const every = 100 * time.Millisecond
	v := Start(t, Options{KeepAlives: 3, KeepAliveEvery: every, Reply: "a b"})
	start := time.Now()
	resp := openStream(t, context.Background(), v.URL()+"/v1/chat/completions", `{"model":"m","stream":true}`)
	assert.Less(t, time.Since(start), every, "headers are flushed before the keep-alives")
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	r := bufio.NewReader(resp.Body)
	var lines []string
	for range 6 {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		lines = append(lines, line)
	}
	assert.Equal(t, []string{": keep-alive\n", "\n", ": keep-alive\n", "\n", ": keep-alive\n", "\n"}, lines)
	ev, err := readEvent(r)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 3*every, "each keep-alive comes after KeepAliveEvery")
	assert.Equal(t, "assistant", choice0(assertChunkShape(t, ev, false))["delta"].(map[string]any)["role"])
	rest, err := readUntilError(r)
	assert.ErrorIs(t, err, io.EOF)
	require.Len(t, rest, 2+1+1)
	assert.Equal(t, "[DONE]", rest[3])
}

func TestKeepAlivesNonStreaming(t *testing.T) {
	const every = 150 * time.Millisecond
	v := Start(t, Options{KeepAlives: 3, KeepAliveEvery: every, Reply: "x y", PromptTokens: 1})
	start := time.Now()
	resp := openStream(t, context.Background(), v.URL()+"/v1/chat/completions", chatBody)
	assert.Less(t, time.Since(start), every, "headers are flushed before the keep-alives")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	r := bufio.NewReader(resp.Body)
	c, err := r.ReadByte()
	require.NoError(t, err)
	assert.Equal(t, byte('\n'), c)
	first := time.Since(start)
	assert.Less(t, first, 2*every, "the first keep-alive line is flushed on its own")
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 3*every)
	body := "\n" + string(rest)
	assert.True(t, strings.HasPrefix(body, "\n\n\n{\"id\":\"chatcmpl-"), body)
	m := decode(t, body) // leading whitespace is valid JSON
	assert.Equal(t, "x y", choice0(m)["message"].(map[string]any)["content"])

	// A client that leaves during the keep-alives is counted.
	ctx, cancel := context.WithTimeout(context.Background(), every/2)
	defer cancel()
	resp = openStream(t, ctx, v.URL()+"/v1/chat/completions", chatBody)
	_, err = io.ReadAll(resp.Body)
	require.Error(t, err)
	require.Eventually(t, func() bool { return v.Cancelled() == 1 }, time.Second, 5*time.Millisecond)
}

// streamUsages returns the "usage" of each JSON event (missing key: "absent").
func streamUsages(t *testing.T, evs []string) []any {
	t.Helper()
	var out []any
	for _, ev := range evs {
		if ev == "[DONE]" {
			continue
		}
		m := assertChunkShape(t, ev, false)
		u, ok := m["usage"]
		if !ok {
			u = "absent"
		}
		out = append(out, u)
	}
	return out
}

func usageMap(p, c int, cached ...int) map[string]any {
	m := map[string]any{"prompt_tokens": float64(p), "completion_tokens": float64(c), "total_tokens": float64(p + c)}
	if len(cached) > 0 {
		m["prompt_tokens_details"] = map[string]any{"cached_tokens": float64(cached[0])}
	}
	return m
}

func TestUsageCumulative(t *testing.T) {
	v := Start(t, Options{UsageStyle: UsageCumulative, Reply: "a b c", PromptTokens: 4})
	url := v.URL() + "/v1/chat/completions"
	for _, body := range []string{
		`{"model":"m","stream":true}`,
		`{"model":"m","stream":true,"stream_options":{"include_usage":true}}`,
	} {
		_, raw := streamAll(t, url, body)
		evs := readAllEvents(t, strings.NewReader(raw))
		require.Len(t, evs, 1+3+1+1, "no usage-only chunk: %s", raw)
		assert.Equal(t, []any{usageMap(4, 0), usageMap(4, 1), usageMap(4, 2), usageMap(4, 3), usageMap(4, 3)},
			streamUsages(t, evs), body)
		assert.Equal(t, "stop", choice0(decode(t, evs[4]))["finish_reason"])
	}

	// CompletionTokens: the final chunk reports it; running counts are capped at it.
	v.SetOptions(Options{UsageStyle: UsageCumulative, Reply: "a b c", PromptTokens: 4, CompletionTokens: 2, CachedTokens: 3})
	_, raw := streamAll(t, url, `{"model":"m","stream":true}`)
	assert.Equal(t, []any{usageMap(4, 0, 3), usageMap(4, 1, 3), usageMap(4, 2, 3), usageMap(4, 2, 3), usageMap(4, 2, 3)},
		streamUsages(t, readAllEvents(t, strings.NewReader(raw))))
	v.SetOptions(Options{UsageStyle: UsageCumulative, Reply: "a b c", PromptTokens: 4, CompletionTokens: 50})
	_, raw = streamAll(t, url, `{"model":"m","stream":true}`)
	assert.Equal(t, []any{usageMap(4, 0), usageMap(4, 1), usageMap(4, 2), usageMap(4, 3), usageMap(4, 50)},
		streamUsages(t, readAllEvents(t, strings.NewReader(raw))))

	// A cut stream has counted what it sent.
	v.SetOptions(Options{UsageStyle: UsageCumulative, Reply: "a b c", PromptTokens: 4, Fault: FaultCutAfter, CutAfter: 2})
	resp := openStream(t, context.Background(), url, `{"model":"m","stream":true}`)
	evs, err := readUntilError(bufio.NewReader(resp.Body))
	assert.NotErrorIs(t, err, io.EOF)
	assert.Equal(t, []any{usageMap(4, 0), usageMap(4, 1), usageMap(4, 2)}, streamUsages(t, evs))
}

func TestUsageFinalChunkAndRejectStreamOptions(t *testing.T) {
	v := Start(t, Options{UsageStyle: UsageFinalChunk, Reply: "a b", PromptTokens: 6})
	url := v.URL() + "/v1/chat/completions"
	for _, body := range []string{
		`{"model":"m","stream":true}`,
		`{"model":"m","stream":true,"stream_options":{"include_usage":true}}`,
	} {
		_, raw := streamAll(t, url, body)
		evs := readAllEvents(t, strings.NewReader(raw))
		require.Len(t, evs, 1+2+1+1, "no usage-only chunk: %s", raw)
		assert.Equal(t, []any{"absent", "absent", "absent", usageMap(6, 2)}, streamUsages(t, evs), body)
		assert.Equal(t, "stop", choice0(decode(t, evs[3]))["finish_reason"])
	}

	v.SetOptions(Options{UsageStyle: UsageFinalChunk, RejectStreamOptions: true, Reply: "a b", PromptTokens: 6,
		CompletionTokens: 11, CachedTokens: 2})
	for _, body := range []string{
		`{"model":"m","stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"m","stream":true,"stream_options":null}`,
		`{"model":"m","stream_options":{"include_usage":false}}`,
	} {
		resp, b := post(t, url, body)
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		assert.Equal(t, StreamOptionsRejectedBody, string(b))
		assert.JSONEq(t, `{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","stream_options"],"msg":"Extra inputs are not permitted"}]},"type":"invalid_request_message_error","param":null,"code":null}`, string(b))
	}
	// A nested "stream_options" is not the top-level key.
	_, raw := streamAll(t, url, `{"model":"m","stream":true,"messages":[{"role":"user","content":"stream_options"}],"x":{"stream_options":1}}`)
	evs := readAllEvents(t, strings.NewReader(raw))
	assert.Equal(t, []any{"absent", "absent", "absent", usageMap(6, 11, 2)}, streamUsages(t, evs))
	assert.Equal(t, 2+3+1, v.Count(), "refused requests are recorded")
}

func TestCompletionAndCachedTokens(t *testing.T) {
	v := Start(t, Options{Reply: "a b c", PromptTokens: 100, CompletionTokens: 17, CachedTokens: 64})
	url := v.URL() + "/v1/chat/completions"

	_, b := post(t, url, chatBody)
	m := decode(t, string(b))
	assert.Equal(t, usageMap(100, 17, 64), m["usage"])
	assert.Equal(t, "a b c", choice0(m)["message"].(map[string]any)["content"])

	_, raw := streamAll(t, url, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`)
	evs := readAllEvents(t, strings.NewReader(raw))
	require.Len(t, evs, 1+3+1+1+1)
	assert.Equal(t, []any{nil, nil, nil, nil, nil, usageMap(100, 17, 64)}, streamUsages(t, evs))

	_, b = post(t, v.URL()+"/v1/completions", `{"model":"m","prompt":"x"}`)
	assert.Equal(t, usageMap(100, 17, 64), decode(t, string(b))["usage"])
}

func TestCancelledCountsClientDisconnects(t *testing.T) {
	v := Start(t, Options{Reply: strings.Repeat("word ", 100), PerToken: 50 * time.Millisecond})
	url := v.URL() + "/v1/chat/completions"
	assert.Equal(t, 0, v.Cancelled())
	assert.Equal(t, 0, v.Inflight())

	// A completed stream is not a cancellation.
	v.SetOptions(Options{})
	streamAll(t, url, `{"model":"m","stream":true}`)
	post(t, url, chatBody)
	assert.Equal(t, 0, v.Cancelled())

	// Mid-stream disconnect.
	v.SetOptions(Options{Reply: strings.Repeat("word ", 100), PerToken: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := openStream(t, ctx, url, `{"model":"m","stream":true}`)
	r := bufio.NewReader(resp.Body)
	for range 3 {
		_, err := readEvent(r)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, v.Inflight())
	start := time.Now()
	cancel()
	require.Eventually(t, func() bool { return v.Cancelled() == 1 }, time.Second, 2*time.Millisecond)
	assert.Less(t, time.Since(start), 500*time.Millisecond, "promptly")
	require.Eventually(t, func() bool { return v.Inflight() == 0 }, time.Second, 2*time.Millisecond)

	// Disconnect during TTFT, non-streaming, and during a forced error's TTFT.
	for _, o := range []Options{{TTFT: time.Minute}, {TTFT: time.Minute, Status: 503}, {PerToken: time.Minute}} {
		v.SetOptions(o)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(chatBody))
		require.NoError(t, err)
		_, err = http.DefaultClient.Do(req)
		cancel()
		require.Error(t, err)
	}
	require.Eventually(t, func() bool { return v.Cancelled() == 4 }, time.Second, 2*time.Millisecond)
	require.Eventually(t, func() bool { return v.Inflight() == 0 }, time.Second, 2*time.Millisecond)

	v.Reset()
	assert.Equal(t, 0, v.Cancelled())
	assert.Equal(t, 0, v.Count())
}

func TestCloseIsNotACancellation(t *testing.T) {
	v := Start(nil, Options{Reply: strings.Repeat("w ", 50), PerToken: 50 * time.Millisecond})
	resp := openStream(t, context.Background(), v.URL()+"/v1/chat/completions", `{"model":"m","stream":true}`)
	_, err := readEvent(bufio.NewReader(resp.Body))
	require.NoError(t, err)
	v.Close()
	assert.Equal(t, 0, v.Inflight())
	assert.Equal(t, 0, v.Cancelled())
}

// Every chunk the fake streams keeps OpenAI's shape, whatever the usage
// style, fault or include_usage.
func TestChunkShapesAcrossOptions(t *testing.T) {
	v := Start(t, Options{})
	url := v.URL() + "/v1/chat/completions"
	for _, style := range []UsageStyle{UsageOpenAI, UsageCumulative, UsageFinalChunk} {
		for _, fault := range []Fault{FaultNone, FaultErrorEventBeforeToken, FaultEndBeforeToken, FaultZeroTokens, FaultErrorFinish} {
			for _, body := range []string{`{"model":"m","stream":true}`, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`} {
				v.SetOptions(Options{UsageStyle: style, Fault: fault, CachedTokens: 1, KeepAlives: 1})
				resp, raw := streamAll(t, url, body)
				require.Equal(t, http.StatusOK, resp.StatusCode)
				evs := readAllEvents(t, strings.NewReader(raw))
				require.NotEmpty(t, evs, "%v %v", style, fault)
				id := ""
				for _, ev := range evs {
					if ev == "[DONE]" || ev == ErrorEvent {
						continue
					}
					m := assertChunkShape(t, ev, fault == FaultErrorFinish)
					if id == "" {
						id = m["id"].(string)
					}
					assert.Equal(t, id, m["id"], "every chunk has the same id")
				}
				hasDone := evs[len(evs)-1] == "[DONE]"
				assert.Equal(t, fault != FaultErrorEventBeforeToken && fault != FaultEndBeforeToken, hasDone, "%v %v", style, fault)
			}
		}
	}
	assert.Equal(t, "FaultCutAfter", FaultCutAfter.String())
	assert.Equal(t, "UsageFinalChunk", UsageFinalChunk.String())
	assert.Equal(t, "Fault(99)", Fault(99).String())
}
