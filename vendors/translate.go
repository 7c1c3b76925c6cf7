package vendors

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tidwall/gjson"
)

// nativeAPI is what a kind that does not speak OpenAI's chat completions API
// (Anthropic Messages, Bedrock Converse, Gemini generateContent) provides to
// translate both ways. Clients keep speaking OpenAI; the router speaks each
// vendor's production API.
type nativeAPI struct {
	// prepare builds the native request on out: URL (scheme, host, path,
	// query), body, Content-Type and the kind's own headers, and its auth
	// (a header, or a signature computed last over the final body). The
	// caller has already removed client credentials and set the operator's
	// extra headers.
	prepare func(v *Vendor, out *http.Request, a Attempt) error
	// newStream returns a decoder for one attempt's native stream.
	newStream func(v *Vendor, a Attempt) streamDecoder
	// completion turns a native non-streaming answer into an OpenAI
	// chat.completion object.
	completion func(v *Vendor, a Attempt, body []byte) ([]byte, error)
	// errorMessage extracts type and message from a native error body; nil
	// means the generic extraction (ErrorMessage) is enough.
	errorMessage func(body []byte) (errType, message string)
}

// streamDecoder turns a native stream into OpenAI chat.completion.chunk
// events. It lives for one attempt, so it keeps its state (tool call
// indexes, usage so far) in itself.
type streamDecoder interface {
	// feed consumes the next vendor bytes, in any split, and renders what
	// they complete into w.
	feed(p []byte, w *chunkWriter) error
	// end is called at the vendor's EOF; it renders anything pending. A
	// stream that ended properly renders the usage chunk and [DONE]; one
	// that did not renders neither, so the router can tell.
	end(w *chunkWriter) error
}

// errNativeStream is returned by decoders for framing they cannot read.
var errNativeStream = errors.New("malformed vendor stream")

// Native reports whether the vendor speaks its own API rather than OpenAI's,
// so that its answers and errors are translated.
func (v *Vendor) Native() bool { return v.native != nil }

// TranslateResponse makes a successful (2xx) response of a native kind read
// as OpenAI: a stream becomes OpenAI SSE chunks (usage chunk included, so the
// router can meter it), a JSON answer becomes a chat.completion object.
// Headers are fixed to match. For OpenAI-compatible kinds it does nothing.
func (v *Vendor) TranslateResponse(resp *http.Response, a Attempt) {
	n := v.native
	if n == nil {
		return
	}
	resp.Header.Del("Content-Length")
	resp.Header.Del("Content-Encoding")
	resp.ContentLength = -1
	if a.Stream {
		resp.Header.Set("Content-Type", "text/event-stream")
		resp.Body = &translatingStream{src: resp.Body, dec: n.newStream(v, a), w: newChunkWriter(a.Model)}
		return
	}
	resp.Header.Set("Content-Type", "application/json")
	resp.Body = &translatingJSON{src: resp.Body, v: v, a: a}
}

// TranslateError turns a native kind's error body into OpenAI's error shape,
// {"error":{"message","type","param","code"}}, so that a vendor error the
// client gets as is (a 400 about its request) reads like every other. The
// message is redacted of the vendor's key. For OpenAI-compatible kinds it
// returns body unchanged.
func (v *Vendor) TranslateError(status int, body []byte) []byte {
	n := v.native
	if n == nil {
		return body
	}
	errType, msg := "", ErrorMessage(body)
	if n.errorMessage != nil {
		errType, msg = n.errorMessage(body)
	}
	if errType == "" {
		errType = "invalid_request_error"
		if status >= 500 {
			errType = "server_error"
		}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	if msg == "" {
		msg = "the vendor answered HTTP " + strconv.Itoa(status)
	}
	out := []byte(`{"error":{"message":`)
	out = gjson.AppendJSONString(out, v.Redact(msg))
	out = append(out, `,"type":`...)
	out = gjson.AppendJSONString(out, errType)
	out = append(out, `,"param":null,"code":null}}`...)
	return out
}

// maxNativeJSON bounds a native non-streaming answer the translator reads.
const maxNativeJSON = 64 << 20

// translatingJSON reads a native JSON answer whole on first Read and hands
// out its OpenAI translation.
type translatingJSON struct {
	src  io.ReadCloser
	v    *Vendor
	a    Attempt
	out  []byte
	err  error
	done bool
}

func (t *translatingJSON) Read(p []byte) (int, error) {
	if !t.done {
		t.done = true
		body, err := io.ReadAll(io.LimitReader(t.src, maxNativeJSON))
		if err != nil {
			t.err = err
		} else {
			t.out, t.err = t.v.native.completion(t.v, t.a, body)
		}
	}
	if len(t.out) > 0 {
		n := copy(p, t.out)
		t.out = t.out[n:]
		return n, nil
	}
	if t.err != nil {
		return 0, t.err
	}
	return 0, io.EOF
}

func (t *translatingJSON) Close() error { return t.src.Close() }

// translatingStream reads a native stream and hands out OpenAI SSE events.
type translatingStream struct {
	src  io.ReadCloser
	dec  streamDecoder
	w    *chunkWriter
	buf  []byte
	out  []byte
	err  error // sticky: the vendor's read error, or a decoding error
	eof  bool
	sent bool // the decoder's end has run
}

func (t *translatingStream) Read(p []byte) (int, error) {
	for len(t.out) == 0 {
		if t.sent {
			if t.err != nil {
				return 0, t.err
			}
			return 0, io.EOF
		}
		if t.eof || t.err != nil {
			if t.err == nil {
				t.err = t.dec.end(t.w)
			}
			t.sent = true
			t.out = t.w.take()
			continue
		}
		if t.buf == nil {
			t.buf = make([]byte, 32<<10)
		}
		n, err := t.src.Read(t.buf)
		if n > 0 {
			if derr := t.dec.feed(t.buf[:n], t.w); derr != nil {
				t.err = derr
			}
			t.out = t.w.take()
		}
		if err == io.EOF {
			t.eof = true
		} else if err != nil && t.err == nil {
			t.err = err
		}
	}
	n := copy(p, t.out)
	t.out = t.out[n:]
	return n, nil
}

func (t *translatingStream) Close() error { return t.src.Close() }

// Usage is a translated answer's token usage, in OpenAI's terms.
type Usage struct {
	PromptTokens     int // including cached ones
	CachedTokens     int
	CompletionTokens int
	ReasoningTokens  int
}

// chunkWriter renders OpenAI chat.completion.chunk SSE events for one
// translated stream. Every chunk carries the same id, created and model.
type chunkWriter struct {
	id      string
	model   string
	created int64
	buf     []byte
	started bool // the role chunk was written
}

func newChunkWriter(model string) *chunkWriter {
	return &chunkWriter{id: "chatcmpl-" + strconv.FormatInt(time.Now().UnixNano(), 36), model: model,
		created: time.Now().Unix()}
}

// setID adopts the vendor's message id, when it has one, before the first chunk.
func (w *chunkWriter) setID(id string) {
	if id != "" && !w.started {
		w.id = id
	}
}

// take returns the rendered bytes and empties the buffer.
func (w *chunkWriter) take() []byte {
	out := w.buf
	w.buf = nil
	return out
}

// open starts a chunk up to its "choices" array.
func (w *chunkWriter) open() {
	w.buf = append(w.buf, `data: {"id":`...)
	w.buf = gjson.AppendJSONString(w.buf, w.id)
	w.buf = append(w.buf, `,"object":"chat.completion.chunk","created":`...)
	w.buf = strconv.AppendInt(w.buf, w.created, 10)
	w.buf = append(w.buf, `,"model":`...)
	w.buf = gjson.AppendJSONString(w.buf, w.model)
	w.buf = append(w.buf, `,"choices":`...)
}

// delta writes one chunk whose single choice has the given delta object
// (raw JSON) and finish reason ("" for null).
func (w *chunkWriter) delta(delta string, finish string) {
	w.open()
	w.buf = append(w.buf, `[{"index":0,"delta":`...)
	w.buf = append(w.buf, delta...)
	w.buf = append(w.buf, `,"logprobs":null,"finish_reason":`...)
	if finish == "" {
		w.buf = append(w.buf, "null"...)
	} else {
		w.buf = gjson.AppendJSONString(w.buf, finish)
	}
	w.buf = append(w.buf, "}]}\n\n"...)
}

// role writes the first chunk, {"role":"assistant","content":""}, once.
func (w *chunkWriter) role() {
	if w.started {
		return
	}
	w.started = true
	w.delta(`{"role":"assistant","content":""}`, "")
}

// content writes a text delta.
func (w *chunkWriter) content(text string) {
	if text == "" {
		return
	}
	w.role()
	w.delta(string(gjson.AppendJSONString([]byte(`{"content":`), text))+"}", "")
}

// reasoning writes a reasoning delta (the non-standard reasoning_content
// field that DeepSeek made common).
func (w *chunkWriter) reasoning(text string) {
	if text == "" {
		return
	}
	w.role()
	w.delta(string(gjson.AppendJSONString([]byte(`{"reasoning_content":`), text))+"}", "")
}

// toolCallStart opens tool call number index (0-based, counting tool calls
// only) with its id and function name.
func (w *chunkWriter) toolCallStart(index int, id, name string) {
	w.role()
	b := []byte(`{"tool_calls":[{"index":`)
	b = strconv.AppendInt(b, int64(index), 10)
	b = append(b, `,"id":`...)
	b = gjson.AppendJSONString(b, id)
	b = append(b, `,"type":"function","function":{"name":`...)
	b = gjson.AppendJSONString(b, name)
	b = append(b, `,"arguments":""}}]}`...)
	w.delta(string(b), "")
}

// toolCallArgs appends a fragment of tool call index's JSON arguments.
func (w *chunkWriter) toolCallArgs(index int, fragment string) {
	if fragment == "" {
		return
	}
	b := []byte(`{"tool_calls":[{"index":`)
	b = strconv.AppendInt(b, int64(index), 10)
	b = append(b, `,"function":{"arguments":`...)
	b = gjson.AppendJSONString(b, fragment)
	b = append(b, `}}]}`...)
	w.delta(string(b), "")
}

// finish writes the chunk with the finish reason and an empty delta.
func (w *chunkWriter) finish(reason string) {
	w.role()
	w.delta("{}", reason)
}

// usage writes the usage-only chunk (choices empty), as OpenAI does for
// stream_options.include_usage; the router removes it again if the client
// did not ask for it.
func (w *chunkWriter) usage(u Usage) {
	w.open()
	w.buf = append(w.buf, `[],"usage":`...)
	w.buf = appendUsage(w.buf, u)
	w.buf = append(w.buf, "}\n\n"...)
}

// errorEvent writes an OpenAI-shaped error event, for a native error inside
// a 200 stream (Anthropic's overloaded_error, a Bedrock exception frame).
func (w *chunkWriter) errorEvent(message, errType, code string) {
	w.buf = append(w.buf, `data: {"error":{"message":`...)
	w.buf = gjson.AppendJSONString(w.buf, message)
	w.buf = append(w.buf, `,"type":`...)
	w.buf = gjson.AppendJSONString(w.buf, errType)
	w.buf = append(w.buf, `,"param":null,"code":`...)
	if code == "" {
		w.buf = append(w.buf, "null"...)
	} else {
		w.buf = gjson.AppendJSONString(w.buf, code)
	}
	w.buf = append(w.buf, "}}\n\n"...)
}

// done writes the final `data: [DONE]`.
func (w *chunkWriter) done() {
	w.buf = append(w.buf, "data: [DONE]\n\n"...)
}

// appendUsage renders u as OpenAI's usage object.
func appendUsage(b []byte, u Usage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens+u.CompletionTokens), 10)
	if u.CachedTokens > 0 {
		b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
		b = strconv.AppendInt(b, int64(u.CachedTokens), 10)
		b = append(b, '}')
	}
	if u.ReasoningTokens > 0 {
		b = append(b, `,"completion_tokens_details":{"reasoning_tokens":`...)
		b = strconv.AppendInt(b, int64(u.ReasoningTokens), 10)
		b = append(b, '}')
	}
	return append(b, '}')
}

// ToolCall is one tool call of a translated answer.
type ToolCall struct {
	ID, Name, Arguments string // Arguments: JSON text
}

// Completion is a translated non-streaming answer.
type Completion struct {
	ID           string
	Model        string
	Content      string
	Reasoning    string
	ToolCalls    []ToolCall
	FinishReason string
	Usage        Usage
}

// render returns c as an OpenAI chat.completion object.
func (c Completion) render() []byte {
	id := c.ID
	if id == "" {
		id = "chatcmpl-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	var b bytes.Buffer
	b.WriteString(`{"id":`)
	b.Write(gjson.AppendJSONString(nil, id))
	b.WriteString(`,"object":"chat.completion","created":`)
	b.WriteString(strconv.FormatInt(time.Now().Unix(), 10))
	b.WriteString(`,"model":`)
	b.Write(gjson.AppendJSONString(nil, c.Model))
	b.WriteString(`,"choices":[{"index":0,"message":{"role":"assistant","content":`)
	if c.Content == "" && len(c.ToolCalls) > 0 {
		b.WriteString("null")
	} else {
		b.Write(gjson.AppendJSONString(nil, c.Content))
	}
	if c.Reasoning != "" {
		b.WriteString(`,"reasoning_content":`)
		b.Write(gjson.AppendJSONString(nil, c.Reasoning))
	}
	b.WriteString(`,"refusal":null`)
	if len(c.ToolCalls) > 0 {
		b.WriteString(`,"tool_calls":[`)
		for i, tc := range c.ToolCalls {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"id":`)
			b.Write(gjson.AppendJSONString(nil, tc.ID))
			b.WriteString(`,"type":"function","function":{"name":`)
			b.Write(gjson.AppendJSONString(nil, tc.Name))
			b.WriteString(`,"arguments":`)
			b.Write(gjson.AppendJSONString(nil, tc.Arguments))
			b.WriteString(`}}`)
		}
		b.WriteByte(']')
	}
	b.WriteString(`},"logprobs":null,"finish_reason":`)
	finish := c.FinishReason
	if finish == "" {
		finish = "stop"
	}
	b.Write(gjson.AppendJSONString(nil, finish))
	b.WriteString(`}],"usage":`)
	b.Write(appendUsage(nil, c.Usage))
	b.WriteString("}")
	return b.Bytes()
}
