// Package fakevendor provides fake OpenAI-compatible LLM vendors for tests and
// for the no-API-key demo.
//
// A Vendor is an HTTP server on 127.0.0.1 (httptest.NewServer) that answers
// POST …/chat/completions (streaming or not), …/completions and …/embeddings
// the way the OpenAI API does, with knobs for latency (time to first token,
// per-token delay, prompt-size dependent delay, keep-alives before the first
// event), failure (fixed error status, required API key, and Fault: the ways a
// vendor fails after answering 200, before or after its first content token),
// and the usage reporting quirks of OpenAI-compatible vendors (UsageStyle). It
// records every request it receives so tests can assert on what the router
// forwarded, and counts the requests the client abandoned (Cancelled). It
// never reaches the internet.
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
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
)

// Vendor is a fake OpenAI-compatible server on 127.0.0.1: it serves any path
// ending in /chat/completions, /completions or /embeddings, and the model
// lookups GET …/models/{id} and GET …/models (lookups.go).
type Vendor struct {
	server[Options, Recorded]

	inflight  atomic.Int64 // handlers currently running
	cancelled atomic.Int64 // requests the client abandoned before the response was complete
}

// newLookups is the OpenAI fake's model lookups, behind its current key.
func (v *Vendor) newLookups() {
	v.lookups = lookups{api: lookupOpenAI, keyOK: func(r *http.Request) bool {
		v.mu.RLock()
		key := v.opts.RequireKey
		v.mu.RUnlock()
		return key == "" || hasKey(r, key)
	}}
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

	// Fault makes successful (200) chat and legacy completions fail in one
	// of the ways real vendors do once they have answered 200; see Fault.
	// Embeddings ignore it.
	Fault Fault
	// CutAfter is the number of content chunks FaultCutAfter and
	// FaultStallAfter send before cutting or stalling (0: right after the
	// role chunk, before any content; at least the number of words: after
	// every content chunk, before the finish chunk).
	CutAfter int

	// KeepAlives is the number of keep-alives a 200 chat or legacy
	// completion sends after TTFT, before its first event (streaming: SSE
	// comments ": keep-alive\n\n"; non-streaming: leading "\n" lines before
	// the JSON body, as DeepSeek does). The response headers are flushed at
	// once (after TTFT), then each keep-alive is sent, and flushed, after
	// KeepAliveEvery.
	KeepAlives     int
	KeepAliveEvery time.Duration

	// UsageStyle is how a stream reports token usage; see UsageStyle.
	UsageStyle UsageStyle
	// RejectStreamOptions refuses any request whose body has a top-level
	// "stream_options" key (even null) with Mistral's 422
	// StreamOptionsRejectedBody, before TTFT. Usually paired with
	// UsageFinalChunk.
	RejectStreamOptions bool
	// CompletionTokens, when > 0, is the usage.completion_tokens reported at
	// the end (non-streaming body, usage chunk, final chunk) instead of the
	// number of content chunks sent. UsageCumulative's running counts are
	// capped at it.
	CompletionTokens int
	// CachedTokens, when > 0, is reported as
	// usage.prompt_tokens_details.cached_tokens (the key is absent when 0).
	CachedTokens int
	// EndWithLastEvent sends a stream's last event ([DONE]) unflushed, so
	// that it leaves with the end of the response (the chunked terminator)
	// in one write: the client reads the two together.
	EndWithLastEvent bool
}

// Fault is a way a vendor fails after answering 200. The zero value,
// FaultNone, is a normal answer. Faults apply to …/chat/completions and
// …/completions (which have no role chunk: wherever "role chunk" is written
// below, legacy completions send nothing); a forced Status takes precedence.
// PerToken still paces the content chunks that are sent.
type Fault int

const (
	// FaultNone answers normally.
	FaultNone Fault = iota
	// FaultErrorEventBeforeToken: streaming: 200, the role chunk, then,
	// after PerToken, the event "data: " + ErrorEvent, and the stream ends
	// cleanly without [DONE]. Non-streaming: 200 with ErrorEvent as the
	// JSON body (as some vendors and proxies do).
	FaultErrorEventBeforeToken
	// FaultEndBeforeToken: streaming: 200, the role chunk, then, after
	// PerToken, the body ends cleanly (no content, no finish chunk, no
	// [DONE]). Non-streaming: 200 application/json with an empty body.
	FaultEndBeforeToken
	// FaultZeroTokens answers 200 with empty content and
	// usage.completion_tokens 0 (unless CompletionTokens is set). Streaming:
	// role chunk, finish chunk ("stop"), the usage chunk if asked for,
	// [DONE]. Non-streaming: message content "".
	FaultZeroTokens
	// FaultErrorFinish is FaultZeroTokens with finish_reason "error" (which
	// is not in OpenAI's finish_reason enum; some compatible vendors send
	// it).
	FaultErrorFinish
	// FaultCutAfter: streaming: after CutAfter content chunks (flushed), the
	// connection is dropped mid-stream (no finish chunk, no [DONE], no final
	// zero-length chunk), so the client sees a transport error, not a clean
	// EOF. Non-streaming: the headers (with the full Content-Length) and the
	// first half of the body, then the connection is dropped.
	FaultCutAfter
	// FaultStallAfter: streaming: after CutAfter content chunks, nothing
	// more is sent until the client goes away (counted by Cancelled) or the
	// vendor is closed. Non-streaming: the headers and the first half of
	// the body, then the same stall.
	FaultStallAfter
	// FaultMalformedJSON: non-streaming: 200 application/json with the
	// truncated body MalformedBody. Streaming: 200 and a single event whose
	// data is MalformedBody (not JSON), then the stream ends cleanly (no
	// role chunk, no [DONE]).
	FaultMalformedJSON
)

var faultNames = [...]string{"FaultNone", "FaultErrorEventBeforeToken", "FaultEndBeforeToken",
	"FaultZeroTokens", "FaultErrorFinish", "FaultCutAfter", "FaultStallAfter", "FaultMalformedJSON"}

func (f Fault) String() string {
	if f >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// UsageStyle is how a stream reports token usage. Non-streaming answers
// always carry a "usage" object.
type UsageStyle int

const (
	// UsageOpenAI (the default): when the request has
	// stream_options.include_usage true, every chunk has "usage":null and a
	// last chunk with "choices":[] carries the usage before [DONE];
	// otherwise no chunk has a "usage" key.
	UsageOpenAI UsageStyle = iota
	// UsageCumulative (Gemini's OpenAI compatibility): every chunk carries
	// a usage object with the completion tokens sent so far, whether or not
	// include_usage was asked for; the finish chunk carries the final
	// usage; there is no usage-only chunk.
	UsageCumulative
	// UsageFinalChunk (Mistral): only the finish chunk (the one with the
	// finish_reason) carries usage, whether or not include_usage was asked
	// for; the other chunks have no "usage" key; there is no usage-only
	// chunk. See also RejectStreamOptions.
	UsageFinalChunk
)

var usageStyleNames = [...]string{"UsageOpenAI", "UsageCumulative", "UsageFinalChunk"}

func (s UsageStyle) String() string {
	if s >= 0 && int(s) < len(usageStyleNames) {
		return usageStyleNames[s]
	}
	return fmt.Sprintf("UsageStyle(%d)", int(s))
}

// Bodies the fake sends verbatim.
const (
	// ErrorEvent is the data of FaultErrorEventBeforeToken's SSE error event
	// (and its non-streaming body).
	ErrorEvent = `{"error":{"message":"fake overloaded","type":"server_error","param":null,"code":"overloaded"}}`
	// MalformedBody is FaultMalformedJSON's truncated JSON.
	MalformedBody = `{"id": "x", "choices": [`
	// StreamOptionsRejectedBody is Mistral's 422 answer to a request with
	// "stream_options" (Options.RejectStreamOptions). It is not
	// OpenAI-shaped: "message" is an object.
	StreamOptionsRejectedBody = `{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","stream_options"],"msg":"Extra inputs are not permitted"}]},"type":"invalid_request_message_error","param":null,"code":null}`
)

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
	v := newVendor(o)
	v.serve(v.serveHTTP)
	if t != nil {
		t.Cleanup(v.Close)
	}
	return v
}

// StartOn starts a fake vendor listening on addr (such as 127.0.0.1:9101),
// for the demo, whose Caddyfile names fixed ports. The caller closes it.
func StartOn(addr string, o Options) (*Vendor, error) {
	v := newVendor(o)
	if err := v.serveOn(addr, v.serveHTTP); err != nil {
		return nil, err
	}
	return v, nil
}

// newVendor is a Vendor not yet serving.
func newVendor(o Options) *Vendor {
	v := &Vendor{}
	v.init(o, cloneOptions, Recorded.clone)
	v.newLookups()
	return v
}

// Reset forgets the recorded requests and zeroes Cancelled.
func (v *Vendor) Reset() {
	v.server.Reset()
	v.cancelled.Store(0)
}

// Cancelled returns the number of requests whose handler saw the client go
// away (context cancelled, or a write or flush failed) before the response
// was complete: during TTFT, keep-alives or PerToken delays, mid-stream, or
// in FaultStallAfter's stall. Requests cut short by the vendor itself (Close,
// FaultCutAfter) are not counted. The count is updated before the handler
// returns, so once Inflight() is 0 it is final. Reset zeroes it.
func (v *Vendor) Cancelled() int { return int(v.cancelled.Load()) }

// Inflight returns the number of requests being handled right now.
func (v *Vendor) Inflight() int { return int(v.inflight.Load()) }

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
	epResponses
)

func endpointOf(path string) endpoint {
	p := strings.TrimRight(path, "/")
	switch {
	case strings.HasSuffix(p, "/responses") || strings.Contains(p, "/responses/"):
		return epResponses
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
	o := v.record(recorded(r, body))

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
			v.gone()
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
	if r.Method != http.MethodPost && ep != epResponses {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "", fmt.Sprintf("Method %s not allowed for %s", r.Method, r.URL.Path),
			"invalid_request_error", "")
		return
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil && r.Method == http.MethodPost {
		writeError(w, http.StatusBadRequest, "",
			"We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
			"invalid_request_error", "")
		return
	}

	if o.RejectStreamOptions && hasTopLevelKey(body, "stream_options") {
		writeError(w, http.StatusUnprocessableEntity, StreamOptionsRejectedBody, "", "", "")
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
		created:          time.Now().Unix(),
		model:            req.Model,
		fingerprint:      "fp_" + name,
		reply:            reply,
		chunks:           chunks,
		finish:           "stop",
		promptTokens:     promptTokens,
		completionTokens: o.CompletionTokens,
		cachedTokens:     o.CachedTokens,
	}
	if ep == epChat {
		resp.id = newID("chatcmpl-")
	} else {
		resp.id = newID("cmpl-")
	}

	// 5. Time to first token.
	if !sleep(ctx, ttft) {
		v.gone()
	}

	var out outcome
	switch {
	case ep == epResponses:
		out = v.serveResponses(ctx, w, r, body, resp, o)
	case ep == epEmbeddings:
		writeJSON(w, http.StatusOK, resp.embeddings())
	case req.Stream:
		s := &streamer{
			ctx: ctx, w: w, rc: http.NewResponseController(w), ep: ep, r: resp, o: o,
			includeUsage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage,
		}
		out = s.run()
	default:
		out = answer(ctx, w, ep, resp, o)
	}
	switch out {
	case outcomeGone:
		v.gone()
	case outcomeCut:
		abort()
	}
}

// outcome is how a success response ended.
type outcome int

const (
	outcomeDone outcome = iota // written as intended (possibly a clean but faulty end)
	outcomeGone                // interrupted: the client went away or the vendor is closing
	outcomeCut                 // the vendor drops the connection on purpose (FaultCutAfter)
)

// abort ends the handler without a (complete) response: net/http closes the
// connection, so the client sees a transport error or a truncated stream,
// never an empty 200.
func abort() { panic(http.ErrAbortHandler) }

// gone aborts a request that was interrupted before its response was
// complete, counting it in Cancelled unless the interruption is the vendor's
// own Close (which closes v.closing before it drops the connections).
func (v *Vendor) gone() {
	select {
	case <-v.closing:
	default:
		v.cancelled.Add(1)
	}
	abort()
}

// hasTopLevelKey reports whether body is a JSON object with key.
func hasTopLevelKey(body []byte, key string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	_, ok := m[key]
	return ok
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
	finish                        string // finish_reason
	promptTokens                  int
	completionTokens              int // Options.CompletionTokens
	cachedTokens                  int // Options.CachedTokens
}

type usage struct {
	PromptTokens        int                  `json:"prompt_tokens"`
	CompletionTokens    int                  `json:"completion_tokens"`
	TotalTokens         int                  `json:"total_tokens"`
	PromptTokensDetails *promptTokensDetails `json:"prompt_tokens_details,omitempty"`
}

type promptTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

func (r response) makeUsage(completion int) usage {
	u := usage{PromptTokens: r.promptTokens, CompletionTokens: completion, TotalTokens: r.promptTokens + completion}
	if r.cachedTokens > 0 {
		u.PromptTokensDetails = &promptTokensDetails{CachedTokens: r.cachedTokens}
	}
	return u
}

// usage is the final usage after sent content chunks.
func (r response) usage(sent int) usage {
	if r.completionTokens > 0 {
		return r.makeUsage(r.completionTokens)
	}
	return r.makeUsage(sent)
}

// runningUsage is UsageCumulative's usage after sent content chunks, short
// of the end: capped at CompletionTokens so that the counts never decrease.
func (r response) runningUsage(sent int) usage {
	if r.completionTokens > 0 {
		return r.makeUsage(min(sent, r.completionTokens))
	}
	return r.makeUsage(sent)
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
			FinishReason: r.finish,
		}},
		Usage: r.usage(len(r.chunks)),
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
	finish := r.finish
	u := r.usage(len(r.chunks))
	return textCompletion{
		ID: r.id, Object: "text_completion", Created: r.created, Model: r.model,
		SystemFingerprint: r.fingerprint,
		Choices:           []textChoice{{Text: r.reply, FinishReason: &finish}},
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

// streamer writes the SSE stream of a 200 chat or legacy completion,
// flushing after every event and stopping as soon as ctx is done.
type streamer struct {
	ctx          context.Context
	w            http.ResponseWriter
	rc           *http.ResponseController
	ep           endpoint
	r            response
	o            Options
	includeUsage bool
	sent         int // content chunks sent
}

func (s *streamer) run() outcome {
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	s.w.WriteHeader(http.StatusOK)

	if s.o.KeepAlives > 0 {
		if s.rc.Flush() != nil {
			return outcomeGone
		}
		for range s.o.KeepAlives {
			if !sleep(s.ctx, s.o.KeepAliveEvery) || !s.write([]byte(": keep-alive\n\n")) {
				return outcomeGone
			}
		}
	}

	fault := s.o.Fault
	if fault == FaultMalformedJSON {
		return s.doneIf(s.sendData([]byte(MalformedBody)))
	}
	if s.ep == epChat {
		empty := ""
		if !s.send("assistant", &empty, nil) {
			return outcomeGone
		}
	}
	switch fault {
	case FaultErrorEventBeforeToken:
		return s.doneIf(sleep(s.ctx, s.o.PerToken) && s.sendData([]byte(ErrorEvent)))
	case FaultEndBeforeToken:
		return s.doneIf(sleep(s.ctx, s.o.PerToken))
	}

	chunks := s.r.chunks
	finish := "stop"
	switch fault {
	case FaultZeroTokens:
		chunks = nil
	case FaultErrorFinish:
		chunks, finish = nil, "error"
	case FaultCutAfter, FaultStallAfter:
		chunks = chunks[:min(max(s.o.CutAfter, 0), len(chunks))]
	}
	for _, c := range chunks {
		if !sleep(s.ctx, s.o.PerToken) {
			return outcomeGone
		}
		s.sent++ // before sending: the chunk's running usage counts it
		if !s.send("", &c, nil) {
			return outcomeGone
		}
	}
	switch fault {
	case FaultCutAfter:
		return outcomeCut
	case FaultStallAfter:
		<-s.ctx.Done()
		return outcomeGone
	}

	if s.ctx.Err() != nil || !s.send("", nil, &finish) {
		return outcomeGone
	}
	if s.usageStyle() == UsageOpenAI && s.includeUsage {
		u, _ := marshal(s.r.usage(s.sent))
		var final any
		if s.ep == epChat {
			final = chatChunk{
				ID: s.r.id, Object: "chat.completion.chunk", Created: s.r.created, Model: s.r.model,
				SystemFingerprint: s.r.fingerprint, Choices: []chunkChoice{}, Usage: u,
			}
		} else {
			final = textChunk{
				ID: s.r.id, Object: "text_completion", Created: s.r.created, Model: s.r.model,
				SystemFingerprint: s.r.fingerprint, Choices: []textChoice{}, Usage: u,
			}
		}
		if s.ctx.Err() != nil || !s.sendJSON(final) {
			return outcomeGone
		}
	}
	if s.o.EndWithLastEvent {
		// Returning writes the event and the end together.
		_, err := io.WriteString(s.w, "data: [DONE]\n\n")
		return s.doneIf(err == nil)
	}
	if s.ctx.Err() != nil || !s.sendData([]byte("[DONE]")) {
		return outcomeGone
	}
	return outcomeDone
}

func (s *streamer) doneIf(ok bool) outcome {
	if ok {
		return outcomeDone
	}
	return outcomeGone
}

// usageStyle is Options.UsageStyle, unknown values being UsageOpenAI.
func (s *streamer) usageStyle() UsageStyle {
	switch st := s.o.UsageStyle; st {
	case UsageCumulative, UsageFinalChunk:
		return st
	}
	return UsageOpenAI
}

// chunkUsage is the "usage" of a chunk with choices; final marks the finish
// chunk. nil omits the key.
func (s *streamer) chunkUsage(final bool) json.RawMessage {
	var u usage
	switch s.usageStyle() {
	case UsageCumulative:
		if final {
			u = s.r.usage(s.sent)
		} else {
			u = s.r.runningUsage(s.sent)
		}
	case UsageFinalChunk:
		if !final {
			return nil
		}
		u = s.r.usage(s.sent)
	default:
		if s.includeUsage {
			return json.RawMessage("null")
		}
		return nil
	}
	b, _ := marshal(u)
	return b
}

// send sends one chunk with one choice: role set is the chat role chunk,
// finish != nil the finish chunk, otherwise a content chunk.
func (s *streamer) send(role string, content *string, finish *string) bool {
	usage := s.chunkUsage(finish != nil)
	if s.ep == epChat {
		return s.sendJSON(chatChunk{
			ID: s.r.id, Object: "chat.completion.chunk", Created: s.r.created, Model: s.r.model,
			SystemFingerprint: s.r.fingerprint,
			Choices:           []chunkChoice{{Delta: delta{Role: role, Content: content}, FinishReason: finish}},
			Usage:             usage,
		})
	}
	text := ""
	if content != nil {
		text = *content
	}
	return s.sendJSON(textChunk{
		ID: s.r.id, Object: "text_completion", Created: s.r.created, Model: s.r.model,
		SystemFingerprint: s.r.fingerprint,
		Choices:           []textChoice{{Text: text, FinishReason: finish}},
		Usage:             usage,
	})
}

func (s *streamer) sendJSON(v any) bool {
	b, err := marshal(v)
	if err != nil {
		return false
	}
	return s.sendData(b)
}

// sendData sends one event "data: <data>\n\n".
func (s *streamer) sendData(data []byte) bool {
	buf := make([]byte, 0, len(data)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, "\n\n"...)
	return s.write(buf)
}

// write writes and flushes b; false means the client is gone.
func (s *streamer) write(b []byte) bool {
	if _, err := s.w.Write(b); err != nil {
		return false
	}
	return s.rc.Flush() == nil
}

// answer writes the body of a 200 non-streaming chat or legacy completion,
// after KeepAlives and the PerToken delay of the tokens it holds.
func answer(ctx context.Context, w http.ResponseWriter, ep endpoint, r response, o Options) outcome {
	tokens := len(r.chunks)
	switch o.Fault {
	case FaultZeroTokens:
		r.reply, r.chunks, tokens = "", nil, 0
	case FaultErrorFinish:
		r.reply, r.chunks, r.finish, tokens = "", nil, "error", 0
	case FaultErrorEventBeforeToken, FaultEndBeforeToken, FaultMalformedJSON:
		tokens = 0
	case FaultCutAfter, FaultStallAfter:
		tokens = min(max(o.CutAfter, 0), tokens)
	}
	var body []byte
	switch o.Fault {
	case FaultErrorEventBeforeToken:
		body = []byte(ErrorEvent)
	case FaultEndBeforeToken:
		body = []byte{}
	case FaultMalformedJSON:
		body = []byte(MalformedBody)
	default:
		var err error
		if ep == epChat {
			body, err = marshal(r.chatCompletion())
		} else {
			body, err = marshal(r.textCompletion())
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return outcomeDone
		}
	}

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/json")
	if o.KeepAlives > 0 {
		// Headers now, then the keep-alive lines; the body is chunked.
		w.WriteHeader(http.StatusOK)
		if rc.Flush() != nil {
			return outcomeGone
		}
		for range o.KeepAlives {
			if !sleep(ctx, o.KeepAliveEvery) {
				return outcomeGone
			}
			if _, err := io.WriteString(w, "\n"); err != nil || rc.Flush() != nil {
				return outcomeGone
			}
		}
	}
	if !sleep(ctx, o.PerToken*time.Duration(tokens)) {
		return outcomeGone
	}
	if o.KeepAlives <= 0 {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(http.StatusOK)
	}
	switch o.Fault {
	case FaultCutAfter, FaultStallAfter:
		if _, err := w.Write(body[:len(body)/2]); err != nil || rc.Flush() != nil {
			return outcomeGone
		}
		if o.Fault == FaultCutAfter {
			return outcomeCut
		}
		<-ctx.Done()
		return outcomeGone
	}
	if _, err := w.Write(body); err != nil {
		return outcomeGone
	}
	return outcomeDone
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
