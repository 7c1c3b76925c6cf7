package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakePromptTokens is the prompt size every fake vendor reports.
const fakePromptTokens = 7

// fakeVendor is a small OpenAI-compatible chat completions server on
// 127.0.0.1. It answers POST …/chat/completions the way the OpenAI API does,
// streaming included (one flush per SSE event, and the usage chunk when
// stream_options.include_usage is set), or fails every request with a fixed
// status, or stalls. It records what it receives.
type fakeVendor struct {
	name   string
	reply  string        // completion text, streamed word by word
	status int           // non-zero: answer every request with this error status
	stall  time.Duration // wait this long (or until the client leaves) before answering

	srv *httptest.Server

	mu   sync.Mutex
	reqs []fakeRequest
}

// fakeRequest is one request a fake vendor received.
type fakeRequest struct {
	Path   string
	Header http.Header
	Body   []byte
}

// startFake starts a vendor that answers "Hello from <name>." (or reply).
func startFake(t *testing.T, name string) *fakeVendor {
	return startFakeWith(t, &fakeVendor{name: name})
}

// startFailingFake starts a vendor that answers every request with status.
func startFailingFake(t *testing.T, name string, status int) *fakeVendor {
	return startFakeWith(t, &fakeVendor{name: name, status: status})
}

func startFakeWith(t *testing.T, v *fakeVendor) *fakeVendor {
	t.Helper()
	if v.reply == "" {
		v.reply = "Hello from " + v.name + "."
	}
	v.srv = httptest.NewServer(http.HandlerFunc(v.serve))
	t.Cleanup(v.srv.Close)
	return v
}

// URL is the vendor's base URL; the router appends /chat/completions.
func (v *fakeVendor) URL() string { return v.srv.URL + "/v1" }

// Requests returns what the vendor received so far.
func (v *fakeVendor) Requests() []fakeRequest {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]fakeRequest(nil), v.reqs...)
}

// Reset forgets the recorded requests.
func (v *fakeVendor) Reset() {
	v.mu.Lock()
	v.reqs = nil
	v.mu.Unlock()
}

// words splits the reply into stream chunks whose concatenation is the reply.
func (v *fakeVendor) words() []string {
	fields := strings.SplitAfter(v.reply, " ")
	out := fields[:0]
	for _, f := range fields {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// usage is what the vendor reports for any request.
func (v *fakeVendor) usage() map[string]any {
	n := len(v.words())
	return map[string]any{
		"prompt_tokens":     fakePromptTokens,
		"completion_tokens": n,
		"total_tokens":      fakePromptTokens + n,
	}
}

func (v *fakeVendor) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/models") {
		// The router's health probe: a model lookup, as OpenAI answers it.
		// Not recorded with the API calls.
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"probe","object":"model","created":1700000000,"owned_by":"fake"}`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	v.mu.Lock()
	v.reqs = append(v.reqs, fakeRequest{Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	v.mu.Unlock()

	if v.stall > 0 {
		select {
		case <-time.After(v.stall):
		case <-r.Context().Done():
			return
		}
	}
	if v.status != 0 {
		writeFakeJSON(w, v.status, map[string]any{"error": map[string]any{
			"message": fmt.Sprintf("%s says %d", v.name, v.status),
			"type":    "server_error", "param": nil, "code": nil,
		}})
		return
	}
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		writeFakeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{
			"message": "Invalid URL (" + r.Method + " " + r.URL.Path + ")",
			"type":    "invalid_request_error", "param": nil, "code": nil,
		}})
		return
	}
	var req struct {
		Model         string `json:"model"`
		Stream        bool   `json:"stream"`
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeFakeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
			"message": "We could not parse the JSON body of your request.",
			"type":    "invalid_request_error", "param": nil, "code": nil,
		}})
		return
	}

	id := fmt.Sprintf("chatcmpl-%s-%d", v.name, time.Now().UnixNano())
	created := time.Now().Unix()
	if !req.Stream {
		writeFakeJSON(w, http.StatusOK, map[string]any{
			"id": id, "object": "chat.completion", "created": created, "model": req.Model,
			"system_fingerprint": "fp_" + v.name, "service_tier": "default",
			"choices": []any{map[string]any{
				"index": 0,
				"message": map[string]any{
					"role": "assistant", "content": v.reply, "refusal": nil, "annotations": []any{},
				},
				"logprobs":      nil,
				"finish_reason": "stop",
			}},
			"usage": v.usage(),
		})
		return
	}

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	send := func(data string) {
		fmt.Fprintf(w, "data: %s\n\n", data)
		if flusher != nil {
			flusher.Flush()
		}
	}
	chunk := func(choices []any, usage any) string {
		c := map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model,
			"system_fingerprint": "fp_" + v.name, "service_tier": "default", "choices": choices,
		}
		// As OpenAI does: with include_usage every chunk carries "usage",
		// null but on the last one; without it, no chunk does.
		if req.StreamOptions.IncludeUsage {
			c["usage"] = usage
		}
		b, _ := json.Marshal(c)
		return string(b)
	}
	choice := func(delta map[string]any, finish any) []any {
		return []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}
	}

	send(chunk(choice(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil), nil))
	for _, word := range v.words() {
		send(chunk(choice(map[string]any{"content": word}, nil), nil))
	}
	send(chunk(choice(map[string]any{}, "stop"), nil))
	if req.StreamOptions.IncludeUsage {
		send(chunk([]any{}, v.usage()))
	}
	send("[DONE]")
}

func writeFakeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
