package fakevendor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
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
	server[AnthropicOptions, Recorded]
}

// AnthropicOptions shape the fake's answers. Zero values mean "answer
// immediately, successfully, with a short text".
type AnthropicOptions struct {
	Name  string // used in the default reply ("Hello from <Name>."); default "anthropic"
	Reply string // the answer's text, streamed split into word chunks; default "Hello from <Name>." unless ToolCall is set
	// Thinking, when set, comes first as a thinking block (streamed in word
	// chunks, then its signature_delta) signed as Claude signs
	// (ClaudeSignature).
	Thinking string
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
	v := newAnthropic(o)
	v.serve(v.serveHTTP)
	if t != nil {
		t.Cleanup(v.Close)
	}
	return v
}

// StartAnthropicOn starts a fake Anthropic API listening on addr (e.g.
// "127.0.0.1:9105"), for programs such as the demo; the caller closes it.
func StartAnthropicOn(addr string, o AnthropicOptions) (*AnthropicVendor, error) {
	v := newAnthropic(o)
	if err := v.serveOn(addr, v.serveHTTP); err != nil {
		return nil, err
	}
	return v, nil
}

func newAnthropic(o AnthropicOptions) *AnthropicVendor {
	v := &AnthropicVendor{}
	v.init(o, anthropicCloneOptions, Recorded.clone)
	v.lookups = lookups{api: lookupAnthropic, keyOK: func(r *http.Request) bool {
		v.mu.RLock()
		key := v.opts.RequireKey
		v.mu.RUnlock()
		return key == "" || r.Header.Get("X-Api-Key") == key
	}}
	return v
}

func anthropicCloneOptions(o AnthropicOptions) AnthropicOptions {
	o.Header = o.Header.Clone()
	if o.ToolCall != nil {
		tc := *o.ToolCall
		o.ToolCall = &tc
	}
	return o
}

func (v *AnthropicVendor) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	o := v.record(recorded(r, body))

	ctx, cancel := v.requestContext(r.Context())
	defer cancel()

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

	req, problem := claudeValidate(body, claudeAPI, countTokens)
	if problem != "" {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", problem)
		return
	}
	if countTokens {
		// count_tokens: {"input_tokens": n}, a fixed rule (len/4) that
		// tests can tell from the router's own estimate.
		writeJSON(w, http.StatusOK, map[string]int{"input_tokens": len(body)/4 + 1000})
		return
	}
	m := anthropicNewMessage(o.answer(), req.Model, len(body))
	if !sleep(ctx, o.TTFT) {
		abort()
	}
	if req.Stream {
		anthropicSSE(ctx, w, m, o.PerToken, o.StreamError, o.StreamErrorAfter)
		return
	}
	if !sleep(ctx, o.PerToken*time.Duration(m.outputTokens)) {
		abort()
	}
	writeJSON(w, http.StatusOK, m.json())
}

// answer is what the options make the fake answer.
func (o AnthropicOptions) answer() claudeAnswer {
	return claudeAnswer{Name: o.Name, Reply: o.Reply, Thinking: o.Thinking, ToolCall: o.ToolCall,
		StopReason: o.StopReason, InputTokens: o.InputTokens, OutputTokens: o.OutputTokens,
		CacheRead: o.CacheReadTokens, CacheWrite: o.CacheCreationTokens}
}

// anthropicSSE writes m as Anthropic's SSE stream (each event with its
// "event:" line, flushed), perToken apart; streamError, if set, ends it
// after streamErrorAfter text deltas with an error event of that type. It
// stops when ctx is done (the client went away or the fake is closing).
func anthropicSSE(ctx context.Context, w http.ResponseWriter, m anthropicMessage, perToken time.Duration, streamError string, streamErrorAfter int) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	send := func(event string, data map[string]any) bool {
		b, err := marshal(data)
		if err != nil {
			panic(err)
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil || rc.Flush() != nil {
			abort()
		}
		return true
	}
	e := claudeEmitter{send: send, pause: func() bool {
		if !sleep(ctx, perToken) {
			abort()
		}
		return true
	}}
	if streamError != "" {
		e.failAfter = streamErrorAfter
		e.fail = func() bool {
			msg := "fake " + streamError
			if streamError == "overloaded_error" {
				msg = "Overloaded"
			}
			return send("error", map[string]any{"type": "error", "error": map[string]string{"type": streamError, "message": msg}})
		}
	}
	m.events(e, nil)
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
