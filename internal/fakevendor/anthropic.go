package fakevendor

import (
	"bytes"
	"context"
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

// AnthropicVendor is a fake Anthropic Messages API on 127.0.0.1: it answers
// POST …/v1/messages the way api.anthropic.com does, as a message JSON or,
// with "stream": true, as the SSE stream message_start, content_block_start,
// ping, content_block_delta…, content_block_stop, message_delta,
// message_stop (each with its "event:" line). It validates what the real API
// validates first (anthropic-version, the x-api-key when RequireKey is set,
// model, max_tokens, messages, unknown top-level fields) and answers errors
// in Anthropic's shape, {"type":"error","error":{"type","message"}}. It
// records every request it receives. It never reaches the internet.
// POST …/v1/messages/count_tokens answers {"input_tokens": len(body)/4+1000}
// (a count tests can tell from the router's own estimate).
type AnthropicVendor struct {
	srv *httptest.Server

	mu   sync.RWMutex
	opts AnthropicOptions
	reqs []Recorded

	closing   chan struct{}
	closeOnce sync.Once

	lookups lookups // lookups.go: the API's model metadata calls
}

// AnthropicOptions shape the fake's answers. Zero values mean "answer
// immediately, successfully, with a short text".
type AnthropicOptions struct {
	Name  string // used in the default reply ("Hello from <Name>."); default "anthropic"
	Reply string // the answer's text, streamed split into word chunks; default "Hello from <Name>." unless ToolCall is set
	// ToolCall, when set, adds a tool_use block after the text (if any) and
	// makes stop_reason "tool_use". Streamed, its input arrives as a few
	// input_json_delta fragments.
	ToolCall *AnthropicToolCall
	// StopReason overrides stop_reason (default "end_turn", "tool_use" with
	// ToolCall), e.g. "max_tokens" or "refusal".
	StopReason string

	InputTokens         int // usage.input_tokens; 0 = len(body)/4
	OutputTokens        int // usage.output_tokens; 0 = the number of text chunks and tool input fragments
	CacheReadTokens     int // usage.cache_read_input_tokens
	CacheCreationTokens int // usage.cache_creation_input_tokens

	// Status, if non-zero and not 200, answers every request (after the key
	// check) with this status and an Anthropic error of ErrorType
	// (default by status: 529 overloaded_error "Overloaded", 429
	// rate_limit_error, 402 billing_error, 500 api_error, ...) and
	// ErrorMessage (default "fake <status>", or "Overloaded").
	Status       int
	ErrorType    string
	ErrorMessage string

	TTFT     time.Duration // delay before the answer (streaming: before message_start)
	PerToken time.Duration // delay before each streamed delta; non-streaming: per output chunk before answering

	RequireKey string      // if set, requests must carry "x-api-key: <key>", else 401 authentication_error
	Header     http.Header // extra response headers (e.g. Retry-After)

	// StreamError, if set, makes a stream send, after StreamErrorAfter text
	// deltas, the event "event: error" with this error type (e.g.
	// "overloaded_error") and end there, as Anthropic does when it fails
	// after answering 200.
	StreamError      string
	StreamErrorAfter int
}

// AnthropicToolCall is the tool_use block the fake answers with.
type AnthropicToolCall struct {
	ID    string // default "toolu_" + random hex
	Name  string
	Input string // a JSON object; default {}
}

// AnthropicOverloadedBody is the body of Anthropic's 529 (and, as an SSE
// event's data, of its mid-stream overload error).
const AnthropicOverloadedBody = `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`

// StartAnthropic starts a fake Anthropic API on 127.0.0.1; t.Cleanup closes
// it when t is non-nil (otherwise the caller closes it).
func StartAnthropic(t testing.TB, o AnthropicOptions) *AnthropicVendor {
	if t != nil {
		t.Helper()
	}
	v := &AnthropicVendor{opts: anthropicCloneOptions(o), closing: make(chan struct{})}
	v.lookups = lookups{api: lookupAnthropic, keyOK: func(r *http.Request) bool {
		v.mu.RLock()
		key := v.opts.RequireKey
		v.mu.RUnlock()
		return key == "" || r.Header.Get("X-Api-Key") == key
	}}
	v.srv = httptest.NewServer(v.lookups.wrap(v.serveHTTP))
	if t != nil {
		t.Cleanup(v.Close)
	}
	return v
}

// URL returns the base URL, e.g. http://127.0.0.1:41234 (the fake serves
// any path ending in /v1/messages).
func (v *AnthropicVendor) URL() string { return v.srv.URL }

// Close aborts in-flight requests and shuts the server down. It is safe to
// call more than once.
func (v *AnthropicVendor) Close() {
	v.closeOnce.Do(func() {
		close(v.closing)
		v.srv.Close()
	})
}

// SetOptions changes the behaviour at runtime (concurrency-safe).
func (v *AnthropicVendor) SetOptions(o AnthropicOptions) {
	o = anthropicCloneOptions(o)
	v.mu.Lock()
	v.opts = o
	v.mu.Unlock()
}

// Requests returns copies of every request received, in order.
func (v *AnthropicVendor) Requests() []Recorded {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]Recorded, len(v.reqs))
	for i, r := range v.reqs {
		out[i] = r.clone()
	}
	return out
}

// Count returns the number of requests received.
func (v *AnthropicVendor) Count() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.reqs)
}

// Reset forgets the recorded requests.
func (v *AnthropicVendor) Reset() {
	v.mu.Lock()
	v.reqs = nil
	v.mu.Unlock()
}

func anthropicCloneOptions(o AnthropicOptions) AnthropicOptions {
	o.Header = o.Header.Clone()
	if o.ToolCall != nil {
		tc := *o.ToolCall
		o.ToolCall = &tc
	}
	return o
}

// anthropicTopLevel are the request fields the Messages API knows; any
// other is a 400 ("Extra inputs are not permitted").
var anthropicTopLevel = map[string]bool{
	"model": true, "messages": true, "max_tokens": true, "system": true, "metadata": true,
	"stop_sequences": true, "stream": true, "temperature": true, "top_p": true, "top_k": true,
	"tools": true, "tool_choice": true, "thinking": true, "service_tier": true, "container": true,
	"mcp_servers": true, "context_management": true,
}

func (v *AnthropicVendor) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	v.mu.Lock()
	v.reqs = append(v.reqs, Recorded{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host,
		Header: r.Header.Clone(), Body: bytes.Clone(body),
	})
	o := v.opts
	v.mu.Unlock()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-v.closing:
			cancel()
		case <-ctx.Done():
		}
	}()

	for k, vals := range o.Header {
		for _, val := range vals {
			w.Header().Add(k, val)
		}
	}
	w.Header().Set("Request-Id", newID("req_fake"))

	path := strings.TrimRight(r.URL.Path, "/")
	countTokens := strings.HasSuffix(path, "/v1/messages/count_tokens")
	if !countTokens && !strings.HasSuffix(path, "/v1/messages") {
		anthropicError(w, http.StatusNotFound, "not_found_error", "Not Found")
		return
	}
	if r.Method != http.MethodPost {
		anthropicError(w, http.StatusMethodNotAllowed, "invalid_request_error", "Method Not Allowed")
		return
	}
	if o.RequireKey != "" {
		switch key := r.Header.Get("X-Api-Key"); {
		case key == "":
			anthropicError(w, http.StatusUnauthorized, "authentication_error", "x-api-key header is required")
			return
		case key != o.RequireKey:
			anthropicError(w, http.StatusUnauthorized, "authentication_error", "invalid x-api-key")
			return
		}
	}
	if r.Header.Get("Anthropic-Version") == "" {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required")
		return
	}
	if o.Status != 0 && o.Status != http.StatusOK {
		if !sleep(ctx, o.TTFT) {
			abort()
		}
		typ, msg := o.ErrorType, o.ErrorMessage
		if typ == "" {
			typ = anthropicErrorType(o.Status)
		}
		if msg == "" {
			msg = fmt.Sprintf("fake %d", o.Status)
			if o.Status == 529 {
				msg = "Overloaded"
			}
		}
		anthropicError(w, o.Status, typ, msg)
		return
	}

	if countTokens {
		// count_tokens: {"input_tokens": n}, a fixed rule (len/4) that
		// tests can tell from the router's own estimate.
		var req anthropicRequestBody
		if json.Unmarshal(body, &req) != nil || req.Model == "" || len(req.Messages) == 0 {
			anthropicError(w, http.StatusBadRequest, "invalid_request_error", "model and messages are required")
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"input_tokens": len(body)/4 + 1000})
		return
	}
	req, problem := anthropicValidate(body)
	if problem != "" {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", problem)
		return
	}

	m := anthropicNewMessage(o, req.Model, len(body))
	if !sleep(ctx, o.TTFT) {
		abort()
	}
	if req.Stream {
		m.stream(ctx, w, o)
		return
	}
	if !sleep(ctx, o.PerToken*time.Duration(m.outputTokens)) {
		abort()
	}
	writeJSON(w, http.StatusOK, m.json())
}

type anthropicRequestBody struct {
	Model     string            `json:"model"`
	MaxTokens *int              `json:"max_tokens"`
	Messages  []json.RawMessage `json:"messages"`
	Stream    bool              `json:"stream"`
}

// anthropicValidate checks a request body as the real API does first; it
// returns the error message, or "".
func anthropicValidate(body []byte) (anthropicRequestBody, string) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return anthropicRequestBody{}, "There was an issue with your request body: invalid JSON"
	}
	for name := range fields {
		if !anthropicTopLevel[name] {
			return anthropicRequestBody{}, name + ": Extra inputs are not permitted"
		}
	}
	var req anthropicRequestBody
	if err := json.Unmarshal(body, &req); err != nil {
		return req, "There was an issue with your request body: " + err.Error()
	}
	switch {
	case req.Model == "":
		return req, "model: Field required"
	case req.MaxTokens == nil:
		return req, "max_tokens: Field required"
	case *req.MaxTokens < 1:
		return req, "max_tokens: Input should be greater than or equal to 1"
	case len(req.Messages) == 0:
		return req, "messages: at least one message is required"
	}
	return req, ""
}

func anthropicErrorType(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// anthropicError writes {"type":"error","error":{"type","message"},"request_id"}.
func anthropicError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{
		"type":       "error",
		"error":      map[string]string{"type": typ, "message": msg},
		"request_id": w.Header().Get("Request-Id"),
	})
}

// anthropicMessage is one answer, shared by the JSON and the stream.
type anthropicMessage struct {
	id, model, stop   string
	chunks            []string // text deltas
	tool              *AnthropicToolCall
	toolParts         []string // input_json_delta fragments
	inputTokens       int
	outputTokens      int
	cacheRead, create int
}

func anthropicNewMessage(o AnthropicOptions, model string, bodyLen int) anthropicMessage {
	m := anthropicMessage{id: newID("msg_fake"), model: model, stop: "end_turn",
		inputTokens: o.InputTokens, cacheRead: o.CacheReadTokens, create: o.CacheCreationTokens}
	reply := o.Reply
	if reply == "" && o.ToolCall == nil {
		name := o.Name
		if name == "" {
			name = "anthropic"
		}
		reply = "Hello from " + name + "."
	}
	m.chunks = splitWords(reply)
	if o.ToolCall != nil {
		tc := *o.ToolCall
		if tc.ID == "" {
			tc.ID = newID("toolu_")
		}
		if strings.TrimSpace(tc.Input) == "" {
			tc.Input = "{}"
		}
		m.tool, m.stop = &tc, "tool_use"
		// A few fragments, cut anywhere, as Anthropic does.
		in := tc.Input
		step := max(1, (len(in)+2)/3)
		for len(in) > 0 {
			n := min(step, len(in))
			m.toolParts = append(m.toolParts, in[:n])
			in = in[n:]
		}
	}
	if o.StopReason != "" {
		m.stop = o.StopReason
	}
	if m.inputTokens == 0 {
		m.inputTokens = bodyLen / 4
	}
	m.outputTokens = o.OutputTokens
	if m.outputTokens == 0 {
		m.outputTokens = len(m.chunks) + len(m.toolParts)
	}
	return m
}

func (m anthropicMessage) usage(output int) map[string]int {
	return map[string]int{
		"input_tokens":                m.inputTokens,
		"cache_creation_input_tokens": m.create,
		"cache_read_input_tokens":     m.cacheRead,
		"output_tokens":               output,
	}
}

// json is the non-streaming answer.
func (m anthropicMessage) json() map[string]any {
	content := []any{}
	if len(m.chunks) > 0 {
		content = append(content, map[string]any{"type": "text", "text": strings.Join(m.chunks, "")})
	}
	if m.tool != nil {
		content = append(content, map[string]any{"type": "tool_use", "id": m.tool.ID, "name": m.tool.Name,
			"input": json.RawMessage(m.tool.Input)})
	}
	return map[string]any{
		"id": m.id, "type": "message", "role": "assistant", "model": m.model, "content": content,
		"stop_reason": m.stop, "stop_sequence": nil, "usage": m.usage(m.outputTokens),
	}
}

// stream writes the SSE answer, flushing every event; it stops when ctx
// is done (the client went away or the fake is closing).
func (m anthropicMessage) stream(ctx context.Context, w http.ResponseWriter, o AnthropicOptions) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	send := func(event string, data any) {
		b, err := marshal(data)
		if err != nil {
			panic(err)
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil || rc.Flush() != nil {
			abort()
		}
	}
	pause := func() {
		if !sleep(ctx, o.PerToken) {
			abort()
		}
	}

	start := m.json()
	start["content"], start["stop_reason"] = []any{}, nil
	start["usage"] = m.usage(1)
	send("message_start", map[string]any{"type": "message_start", "message": start})

	index := 0
	if len(m.chunks) > 0 {
		send("content_block_start", map[string]any{"type": "content_block_start", "index": index,
			"content_block": map[string]any{"type": "text", "text": ""}})
		send("ping", map[string]string{"type": "ping"})
		for i, c := range m.chunks {
			if o.StreamError != "" && i == o.StreamErrorAfter {
				break
			}
			pause()
			send("content_block_delta", map[string]any{"type": "content_block_delta", "index": index,
				"delta": map[string]string{"type": "text_delta", "text": c}})
		}
	}
	if o.StreamError != "" {
		pause()
		msg := "fake " + o.StreamError
		if o.StreamError == "overloaded_error" {
			msg = "Overloaded"
		}
		send("error", map[string]any{"type": "error", "error": map[string]string{"type": o.StreamError, "message": msg}})
		return
	}
	if len(m.chunks) > 0 {
		send("content_block_stop", map[string]any{"type": "content_block_stop", "index": index})
		index++
	}
	if m.tool != nil {
		send("content_block_start", map[string]any{"type": "content_block_start", "index": index,
			"content_block": map[string]any{"type": "tool_use", "id": m.tool.ID, "name": m.tool.Name, "input": map[string]any{}}})
		send("content_block_delta", map[string]any{"type": "content_block_delta", "index": index,
			"delta": map[string]string{"type": "input_json_delta", "partial_json": ""}})
		for _, part := range m.toolParts {
			pause()
			send("content_block_delta", map[string]any{"type": "content_block_delta", "index": index,
				"delta": map[string]string{"type": "input_json_delta", "partial_json": part}})
		}
		send("content_block_stop", map[string]any{"type": "content_block_stop", "index": index})
	}
	send("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": m.stop, "stop_sequence": nil},
		"usage": map[string]int{"output_tokens": m.outputTokens}})
	send("message_stop", map[string]string{"type": "message_stop"})
}
