// Package fakevendor provides fake OpenAI-compatible LLM vendors for tests and
// for the no-API-key demo.
//
// A Vendor is an HTTP server on 127.0.0.1 (httptest.NewServer) that answers
// POST …/chat/completions (streaming or not), …/completions and …/embeddings
// the way the OpenAI API does, with knobs for latency (time to first token,
// per-token delay, prompt-size dependent delay) and failure (fixed error
// status, required API key). It records every request it receives so tests
// can assert on what the router forwarded. It never reaches the internet.
package fakevendor

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
)

// Vendor is a fake OpenAI-compatible chat completions server on 127.0.0.1.
type Vendor struct {
	srv *httptest.Server

	mu   sync.RWMutex
	opts Options
	reqs []Recorded

	closing   chan struct{} // closed by Close: aborts in-flight sleeps/streams
	closeOnce sync.Once

	inflight atomic.Int64 // handlers currently running (used by tests)
}

// Options shape its behaviour. Zero values mean "answer immediately, successfully".
type Options struct {
	Name     string        // used in reply text ("Hello from <Name>") and the "system_fingerprint"
	TTFT     time.Duration // delay before the first byte (headers) of a success; streaming: before the first event
	PerToken time.Duration // delay between streamed content chunks (non-streaming: added per completion token before answering)
	// TTFTPerPromptKB adds this much TTFT per KiB of request body, so a vendor can be fast on small prompts and slow on large ones.
	TTFTPerPromptKB time.Duration
	Reply           string      // completion text; default "Hello from <Name>." ; streamed split into word chunks
	PromptTokens    int         // usage.prompt_tokens to report; 0 = len(body)/4
	Status          int         // if non-zero and not 200: answer every request with this status and an OpenAI-shaped error body
	ErrorBody       string      // body for Status (default {"error":{"message":"fake <status>","type":"...","param":null,"code":null}})
	Header          http.Header // extra response headers (e.g. Retry-After)
	RequireKey      string      // if set, requests must carry one of: "Authorization: Bearer <key>", "api-key: <key>"; else 401 OpenAI-shaped
}

// Recorded is a copy of one request received by a Vendor.
type Recorded struct {
	Method, Path, RawQuery, Host string
	Header                       http.Header
	Body                         []byte
}

// DefaultName is the vendor name used when Options.Name is empty.
const DefaultName = "fake"

// Start starts a fake vendor on 127.0.0.1 (httptest.NewServer); t.Cleanup
// closes it when t is non-nil. Accepts testing.TB or nil (the demo calls it
// with nil and closes it itself).
func Start(t testing.TB, o Options) *Vendor {
	if t != nil {
		t.Helper()
	}
	v := &Vendor{
		opts:    cloneOptions(o),
		closing: make(chan struct{}),
	}
	v.srv = httptest.NewServer(http.HandlerFunc(v.serveHTTP))
	if t != nil {
		t.Cleanup(v.Close)
	}
	return v
}

// StartOn starts a fake vendor listening on addr (such as 127.0.0.1:9101),
// for the demo, whose Caddyfile names fixed ports. The caller closes it.
func StartOn(addr string, o Options) (*Vendor, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	v := &Vendor{
		opts:    cloneOptions(o),
		closing: make(chan struct{}),
	}
	v.srv = httptest.NewUnstartedServer(http.HandlerFunc(v.serveHTTP))
	v.srv.Listener.Close()
	v.srv.Listener = ln
	v.srv.Start()
	return v, nil
}

// URL returns the base URL, e.g. http://127.0.0.1:41234. The fake serves any
// path ending in /chat/completions, /completions or /embeddings.
func (v *Vendor) URL() string { return v.srv.URL }

// Close aborts in-flight requests (sleeps and streams stop at once and their
// connections are dropped, so clients see a transport error or a truncated
// stream) and shuts the server down. It is safe to call more than once.
func (v *Vendor) Close() {
	v.closeOnce.Do(func() {
		close(v.closing)
		v.srv.Close()
	})
}

// SetOptions changes the behaviour at runtime (concurrency-safe). Requests
// already being served keep the options they started with.
func (v *Vendor) SetOptions(o Options) {
	o = cloneOptions(o)
	v.mu.Lock()
	v.opts = o
	v.mu.Unlock()
}

// Requests returns copies of every request received, in order.
func (v *Vendor) Requests() []Recorded {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]Recorded, len(v.reqs))
	for i, r := range v.reqs {
		out[i] = r.clone()
	}
	return out
}

// Count returns the number of requests received.
func (v *Vendor) Count() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.reqs)
}

// Reset forgets the recorded requests.
func (v *Vendor) Reset() {
	v.mu.Lock()
	v.reqs = nil
	v.mu.Unlock()
}

// DeadURL returns the base URL of a 127.0.0.1 port that refuses connections
// (listen, note the port, close). t may be nil, in which case errors panic.
func DeadURL(t testing.TB) string {
	if t != nil {
		t.Helper()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		if t != nil {
			t.Fatalf("fakevendor.DeadURL: %v", err)
		}
		panic("fakevendor.DeadURL: " + err.Error())
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}

func (r Recorded) clone() Recorded {
	r.Header = r.Header.Clone()
	r.Body = bytes.Clone(r.Body)
	return r
}

func cloneOptions(o Options) Options {
	o.Header = o.Header.Clone()
	return o
}

// ---------------------------------------------------------------------------
// Handler

type endpoint int

const (
	epUnknown endpoint = iota
	epChat
	epCompletions
	epEmbeddings
)

func endpointOf(path string) endpoint {
	p := strings.TrimRight(path, "/")
	switch {
	case strings.HasSuffix(p, "/chat/completions"):
		return epChat
	case strings.HasSuffix(p, "/completions"):
		return epCompletions
	case strings.HasSuffix(p, "/embeddings"):
		return epEmbeddings
	}
	return epUnknown
}

// request is the part of an OpenAI request body the fake looks at.
type request struct {
	Model         string `json:"model"`
	Stream        bool   `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func (v *Vendor) serveHTTP(w http.ResponseWriter, r *http.Request) {
	v.inflight.Add(1)
	defer v.inflight.Add(-1)

	// 1. Record, before anything else.
	body, _ := io.ReadAll(r.Body)
	v.mu.Lock()
	v.reqs = append(v.reqs, Recorded{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Host:     r.Host,
		Header:   r.Header.Clone(),
		Body:     bytes.Clone(body),
	})
	o := v.opts // Header is cloned by SetOptions and never mutated: sharing is safe
	v.mu.Unlock()

	ctx, cancel := v.requestContext(r.Context())
	defer cancel()

	name := o.Name
	if name == "" {
		name = DefaultName
	}
	for k, vals := range o.Header {
		for _, val := range vals {
			w.Header().Add(k, val)
		}
	}
	w.Header().Set("X-Fake-Vendor", name)

	// 2. Authentication.
	if o.RequireKey != "" && !hasKey(r, o.RequireKey) {
		writeError(w, http.StatusUnauthorized, "",
			"Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
			"invalid_request_error", "invalid_api_key")
		return
	}

	ttft := o.TTFT + time.Duration(int64(o.TTFTPerPromptKB)*int64(len(body))/1024)

	// 3. Forced failure.
	if o.Status != 0 && o.Status != http.StatusOK {
		if !sleep(ctx, ttft) {
			abort()
		}
		writeError(w, o.Status, o.ErrorBody, fmt.Sprintf("fake %d", o.Status), errorType(o.Status), "")
		return
	}

	// 4. Routing and validation.
	ep := endpointOf(r.URL.Path)
	if ep == epUnknown {
		writeError(w, http.StatusNotFound, "", fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path),
			"invalid_request_error", "")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "", fmt.Sprintf("Method %s not allowed for %s", r.Method, r.URL.Path),
			"invalid_request_error", "")
		return
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "",
			"We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
			"invalid_request_error", "")
		return
	}

	reply := o.Reply
	if reply == "" {
		reply = "Hello from " + name + "."
	}
	chunks := splitWords(reply)
	promptTokens := o.PromptTokens
	if promptTokens == 0 {
		promptTokens = len(body) / 4
	}
	resp := response{
		created:      time.Now().Unix(),
		model:        req.Model,
		fingerprint:  "fp_" + name,
		reply:        reply,
		chunks:       chunks,
		promptTokens: promptTokens,
	}

	// 5. Time to first token.
	if !sleep(ctx, ttft) {
		abort()
	}

	switch {
	case ep == epEmbeddings:
		writeJSON(w, http.StatusOK, resp.embeddings())
	case req.Stream:
		includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
		if ep == epChat {
			resp.id = newID("chatcmpl-")
		} else {
			resp.id = newID("cmpl-")
		}
		if !streamResponse(ctx, w, ep, resp, o.PerToken, includeUsage) {
			abort()
		}
	default:
		if !sleep(ctx, o.PerToken*time.Duration(len(chunks))) {
			abort()
		}
		if ep == epChat {
			resp.id = newID("chatcmpl-")
			writeJSON(w, http.StatusOK, resp.chatCompletion())
		} else {
			resp.id = newID("cmpl-")
			writeJSON(w, http.StatusOK, resp.textCompletion())
		}
	}
}

// abort ends the handler without a (complete) response: net/http closes the
// connection, so the client sees a transport error or a truncated stream,
// never an empty 200. Used when the client went away or the vendor is closed.
func abort() { panic(http.ErrAbortHandler) }

// requestContext returns a context cancelled when the client goes away or the
// vendor is closed.
func (v *Vendor) requestContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		select {
		case <-v.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

func hasKey(r *http.Request, key string) bool {
	if r.Header.Get("api-key") == key {
		return true
	}
	auth := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(auth) > len(prefix) && strings.EqualFold(auth[:len(prefix)], prefix) {
		return strings.TrimSpace(auth[len(prefix):]) == key
	}
	return false
}

// sleep waits for d or until ctx is done; it reports whether to go on.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// splitWords splits s into word chunks whose concatenation is s: each chunk
// is a run of whitespace followed by a word ("Hello from X." → "Hello",
// " from", " X."); trailing whitespace sticks to the last chunk.
func splitWords(s string) []string {
	var out []string
	start := 0
	prevSpace := true
	for i, r := range s {
		space := unicode.IsSpace(r)
		if space && !prevSpace && i > start {
			out = append(out, s[start:i])
			start = i
		}
		prevSpace = space
	}
	if start < len(s) {
		rest := s[start:]
		if strings.TrimSpace(rest) == "" && len(out) > 0 {
			out[len(out)-1] += rest
		} else {
			out = append(out, rest)
		}
	}
	return out
}

func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// ---------------------------------------------------------------------------
// Errors

func errorType(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "requests"
	case status >= 500:
		return "server_error"
	default:
		return "invalid_request_error"
	}
}

type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// writeError writes an OpenAI-shaped error; raw, if non-empty, is written
// verbatim instead.
func writeError(w http.ResponseWriter, status int, raw, message, typ, code string) {
	if raw != "" {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(raw)))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, raw)
		return
	}
	e := apiError{Error: apiErrorBody{Message: message, Type: typ}}
	if code != "" {
		e.Error.Code = &code
	}
	writeJSON(w, status, e)
}

// ---------------------------------------------------------------------------
// Success bodies

type response struct {
	id, model, fingerprint, reply string
	created                       int64
	chunks                        []string
	promptTokens                  int
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func (r response) usage() usage {
	c := len(r.chunks)
	return usage{PromptTokens: r.promptTokens, CompletionTokens: c, TotalTokens: r.promptTokens + c}
}

type chatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint"`
	Choices           []chatChoice `json:"choices"`
	Usage             usage        `json:"usage"`
}

type chatChoice struct {
	Index        int         `json:"index"`
	Message      chatMessage `json:"message"`
	Logprobs     *struct{}   `json:"logprobs"`
	FinishReason string      `json:"finish_reason"`
}

type chatMessage struct {
	Role    string  `json:"role"`
	Content string  `json:"content"`
	Refusal *string `json:"refusal"`
}

func (r response) chatCompletion() chatCompletion {
	return chatCompletion{
		ID: r.id, Object: "chat.completion", Created: r.created, Model: r.model,
		SystemFingerprint: r.fingerprint,
		Choices: []chatChoice{{
			Message:      chatMessage{Role: "assistant", Content: r.reply},
			FinishReason: "stop",
		}},
		Usage: r.usage(),
	}
}

type textCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint"`
	Choices           []textChoice `json:"choices"`
	Usage             *usage       `json:"usage,omitempty"`
}

type textChoice struct {
	Text         string    `json:"text"`
	Index        int       `json:"index"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

func (r response) textCompletion() textCompletion {
	stop := "stop"
	u := r.usage()
	return textCompletion{
		ID: r.id, Object: "text_completion", Created: r.created, Model: r.model,
		SystemFingerprint: r.fingerprint,
		Choices:           []textChoice{{Text: r.reply, FinishReason: &stop}},
		Usage:             &u,
	}
}

type embeddingList struct {
	Object string          `json:"object"`
	Data   []embeddingItem `json:"data"`
	Model  string          `json:"model"`
	Usage  embeddingUsage  `json:"usage"`
}

type embeddingItem struct {
	Object    string    `json:"object"`
	Index     int       `json:"index"`
	Embedding []float64 `json:"embedding"`
}

type embeddingUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

func (r response) embeddings() embeddingList {
	return embeddingList{
		Object: "list",
		Data: []embeddingItem{{
			Object:    "embedding",
			Embedding: []float64{0.0023064255, -0.009327292, 0.015797347, -0.0077780345},
		}},
		Model: r.model,
		Usage: embeddingUsage{PromptTokens: r.promptTokens, TotalTokens: r.promptTokens},
	}
}

// ---------------------------------------------------------------------------
// Streaming

type chatChunk struct {
	ID                string          `json:"id"`
	Object            string          `json:"object"`
	Created           int64           `json:"created"`
	Model             string          `json:"model"`
	SystemFingerprint string          `json:"system_fingerprint"`
	Choices           []chunkChoice   `json:"choices"`
	Usage             json.RawMessage `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int       `json:"index"`
	Delta        delta     `json:"delta"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type delta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type textChunk struct {
	ID                string          `json:"id"`
	Object            string          `json:"object"`
	Created           int64           `json:"created"`
	Model             string          `json:"model"`
	SystemFingerprint string          `json:"system_fingerprint"`
	Choices           []textChoice    `json:"choices"`
	Usage             json.RawMessage `json:"usage,omitempty"`
}

// streamResponse writes the SSE stream for chat or legacy completions,
// flushing after every event and stopping as soon as ctx is done. It reports
// whether the stream was completed.
func streamResponse(ctx context.Context, w http.ResponseWriter, ep endpoint, r response, perToken time.Duration, includeUsage bool) bool {
	flusher, _ := w.(http.Flusher)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)

	var nullUsage json.RawMessage
	if includeUsage {
		nullUsage = json.RawMessage("null")
	}
	stop := "stop"

	// event builds one chunk; content == nil with finish == nil is the chat
	// role chunk, finish != nil the final chunk.
	event := func(role string, content *string, finish *string) any {
		if ep == epChat {
			return chatChunk{
				ID: r.id, Object: "chat.completion.chunk", Created: r.created, Model: r.model,
				SystemFingerprint: r.fingerprint,
				Choices:           []chunkChoice{{Delta: delta{Role: role, Content: content}, FinishReason: finish}},
				Usage:             nullUsage,
			}
		}
		text := ""
		if content != nil {
			text = *content
		}
		return textChunk{
			ID: r.id, Object: "text_completion", Created: r.created, Model: r.model,
			SystemFingerprint: r.fingerprint,
			Choices:           []textChoice{{Text: text, FinishReason: finish}},
			Usage:             nullUsage,
		}
	}
	send := func(v any) bool {
		b, err := marshal(v)
		if err != nil {
			return false
		}
		return sendRaw(w, flusher, b)
	}

	if ep == epChat {
		empty := ""
		if !send(event("assistant", &empty, nil)) {
			return false
		}
	}
	for _, c := range r.chunks {
		if !sleep(ctx, perToken) {
			return false
		}
		if !send(event("", &c, nil)) {
			return false
		}
	}
	if ctx.Err() != nil || !send(event("", nil, &stop)) {
		return false
	}
	if includeUsage {
		u, _ := marshal(r.usage())
		var final any
		if ep == epChat {
			final = chatChunk{
				ID: r.id, Object: "chat.completion.chunk", Created: r.created, Model: r.model,
				SystemFingerprint: r.fingerprint, Choices: []chunkChoice{}, Usage: u,
			}
		} else {
			final = textChunk{
				ID: r.id, Object: "text_completion", Created: r.created, Model: r.model,
				SystemFingerprint: r.fingerprint, Choices: []textChoice{}, Usage: u,
			}
		}
		if ctx.Err() != nil || !send(final) {
			return false
		}
	}
	if ctx.Err() != nil {
		return false
	}
	return sendRaw(w, flusher, []byte("[DONE]"))
}

func sendRaw(w http.ResponseWriter, flusher http.Flusher, data []byte) bool {
	buf := make([]byte, 0, len(data)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, "\n\n"...)
	if _, err := w.Write(buf); err != nil {
		return false
	}
	if flusher != nil {
		flusher.Flush()
	}
	return true
}

// marshal is json.Marshal without HTML escaping and without trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
