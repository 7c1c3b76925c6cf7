package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"
)

// fakeVendor is the benchmark's vendor: a minimal OpenAI-compatible chat
// completions server on loopback that answers at once, from precomputed
// bytes, so that as little as possible of core 1 goes to it. Unlike
// internal/fakevendor it records nothing (that fake keeps every request body,
// which at thousands of requests per second is a memory leak) and does no
// JSON encoding per chunk.
//
// A non-streaming request gets a chat.completion with a 20-word reply and its
// usage. A streaming request gets the role chunk, one chunk per word (20),
// the finish chunk, the usage-only chunk when the request asks for
// stream_options.include_usage (the mix always does), and [DONE], each event
// written and flushed on its own as a real vendor does.
type fakeVendor struct {
	srv  *http.Server
	ln   net.Listener
	bare bool // answers without openAIHeaders

	conns atomic.Int64 // TCP connections accepted since start
	reqs  atomic.Int64
}

// replyWords is the completion every answer carries: 20 words, so 20 content
// chunks per stream.
var replyWords = strings.Fields("The quick brown fox jumps over the lazy dog while " +
	"seven tired gateways proxy every token across the loopback interface today")

const (
	fakeID      = "chatcmpl-bench0000000000000000"
	fakeCreated = "1763700000"
)

// Precomputed SSE events. chunkPrefix/chunkSuffix wrap a delta.
var (
	streamRole       = []byte(event(chunk(`{"role":"assistant","content":""}`, "null", false)))
	streamRoleUsage  = []byte(event(chunk(`{"role":"assistant","content":""}`, "null", true)))
	streamWords      [][]byte // content chunks without "usage"
	streamWordsUsage [][]byte // content chunks with "usage":null (include_usage)
	streamFinish     = []byte(event(chunk(`{}`, `"stop"`, false)))
	streamFinishU    = []byte(event(chunk(`{}`, `"stop"`, true)))
	streamDone       = []byte("data: [DONE]\n\n")
	replyText        = strings.Join(replyWords, " ")
)

func init() {
	for i, w := range replyWords {
		if i > 0 {
			w = " " + w
		}
		d := `{"content":` + strconv.Quote(w) + `}`
		streamWords = append(streamWords, []byte(event(chunk(d, "null", false))))
		streamWordsUsage = append(streamWordsUsage, []byte(event(chunk(d, "null", true))))
	}
}

func chunk(delta, finish string, usageNull bool) string {
	s := `{"id":"` + fakeID + `","object":"chat.completion.chunk","created":` + fakeCreated +
		`,"model":"gpt-4o","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":` + delta +
		`,"logprobs":null,"finish_reason":` + finish + `}]`
	if usageNull {
		s += `,"usage":null`
	}
	return s + "}"
}

func event(data string) string { return "data: " + data + "\n\n" }

func usageJSON(b []byte, prompt int) []byte {
	completion := len(replyWords)
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(completion), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt+completion), 10)
	return append(b, '}')
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// openAIHeaders are the headers OpenAI's chat completions answer with besides
// the content's (its request id, processing time, API version and the six
// x-ratelimit-* of the account), so that every mode handles what a real
// vendor sends: reverse_proxy forwards them all, the router drops the
// account's rate limits (headers.go). Shared values, never written to.
var openAIHeaders = http.Header{
	"X-Request-Id":                   {"req_bench0000000000000000000000"},
	"Openai-Processing-Ms":           {"412"},
	"Openai-Version":                 {"2020-10-01"},
	"X-Ratelimit-Limit-Requests":     {"10000"},
	"X-Ratelimit-Limit-Tokens":       {"30000000"},
	"X-Ratelimit-Remaining-Requests": {"9999"},
	"X-Ratelimit-Remaining-Tokens":   {"29999000"},
	"X-Ratelimit-Reset-Requests":     {"6ms"},
	"X-Ratelimit-Reset-Tokens":       {"2ms"},
}

// startFake listens on addr (127.0.0.1:port) and serves until Close.
func startFake(addr string, bare bool) (*fakeVendor, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	f := &fakeVendor{ln: ln, bare: bare}
	f.srv = &http.Server{
		Handler:           f,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				f.conns.Add(1)
			}
		},
	}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

func (f *fakeVendor) addr() string { return f.ln.Addr().String() }

func (f *fakeVendor) Close() error { return f.srv.Close() }

func (f *fakeVendor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/models") {
		// The router's health probe of an openai_compatible vendor: a list
		// that names the benchmark's model. Not counted as a request.
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"object":"list","data":[{"id":"gpt-4o","object":"model","created":1700000000,"owned_by":"bench"}]}`))
		return
	}
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error","param":null,"code":null}}`, http.StatusNotFound)
		return
	}
	f.reqs.Add(1)
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if _, err := buf.ReadFrom(r.Body); err != nil {
		return
	}
	body := buf.Bytes()
	// The mix puts "stream" and "stream_options" before "messages", so gjson
	// finds them without scanning a large prompt.
	res := gjson.GetManyBytes(body, "stream", "stream_options.include_usage")
	prompt := len(body) / 4
	h := w.Header()
	if !f.bare {
		for name, v := range openAIHeaders {
			h[name] = v
		}
	}
	if !res[0].Bool() {
		out := make([]byte, 0, 512)
		out = append(out, `{"id":"`+fakeID+`","object":"chat.completion","created":`+fakeCreated+
			`,"model":"gpt-4o","system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":`+
			strconv.Quote(replyText)+`,"refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":`...)
		out = usageJSON(out, prompt)
		out = append(out, '}')
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(out)))
		_, _ = w.Write(out)
		return
	}
	includeUsage := res[1].Bool()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(b []byte) bool {
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	role, words, finish := streamRole, streamWords, streamFinish
	if includeUsage {
		role, words, finish = streamRoleUsage, streamWordsUsage, streamFinishU
	}
	if !send(role) {
		return
	}
	for _, c := range words {
		if !send(c) {
			return
		}
	}
	if !send(finish) {
		return
	}
	if includeUsage {
		u := make([]byte, 0, 320)
		u = append(u, `data: {"id":"`+fakeID+`","object":"chat.completion.chunk","created":`+fakeCreated+
			`,"model":"gpt-4o","system_fingerprint":"fp_bench","choices":[],"usage":`...)
		u = usageJSON(u, prompt)
		u = append(u, "}\n\n"...)
		if !send(u) {
			return
		}
	}
	send(streamDone)
}

// drain reads and discards a body; used by probes.
func drain(r io.Reader) { _, _ = io.Copy(io.Discard, r) }

func (f *fakeVendor) String() string { return fmt.Sprintf("fake vendor on %s", f.addr()) }
