package vendors

import (
	"bytes"
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

// Gemini's :streamGenerateContent?alt=sse answers with server-sent events
// (lines end in CRLF) whose data is each a whole GenerateContentResponse
// holding the next piece of the answer. The decoder turns each into OpenAI
// chunks:
//
//   - text parts → content deltas, thought parts → reasoning_content deltas;
//   - a functionCall part (always whole) → the tool call's start (id, name)
//     and its complete arguments at once;
//   - the finishReason (on the last response) → the finish chunk (tool_calls
//     when the stream called a function); a refused prompt
//     (promptFeedback.blockReason) → content_filter;
//   - usageMetadata is cumulative: the last one seen is the usage;
//   - {"error":{…}} as an event → an OpenAI error event, and the stream is
//     not finished.
//
// At the end of the body, a stream that had a finish reason gets the usage
// chunk and [DONE]; one that had none (cut off, or an error) gets neither, so
// the router can tell it was truncated.

// geminiMaxEvent bounds one SSE event (an inline image can be large).
const geminiMaxEvent = maxNativeJSON

// geminiStream decodes one attempt's Gemini SSE stream.
type geminiStream struct {
	model    string
	sse      geminiSSE
	tools    int  // tool calls started so far
	finished bool // the finish chunk was written
	failed   bool // an error event was written
	usage    billing.Usage
}

// newGeminiStream returns a decoder for a Gemini (or Vertex Gemini)
// streamGenerateContent?alt=sse body.
func newGeminiStream(model string) streamDecoder {
	return &geminiStream{model: model}
}

func (d *geminiStream) feed(p []byte, w *chunkWriter) error {
	return d.sse.feed(p, func(data []byte) error { return d.event(data, w) })
}

func (d *geminiStream) end(w *chunkWriter) error {
	// A last event without its blank line still counts if it is whole.
	err := d.sse.flush(func(data []byte) error {
		if !jsonwalk.Valid(data) {
			return nil
		}
		return d.event(data, w)
	})
	if err != nil {
		return err
	}
	if d.finished && !d.failed {
		w.usage(d.usage)
		w.done()
	}
	return nil
}

// event renders one GenerateContentResponse.
func (d *geminiStream) event(data []byte, w *chunkWriter) error {
	if d.failed {
		return nil
	}
	if !jsonwalk.Valid(data) {
		return fmt.Errorf("%w: a gemini event is not JSON", errNativeStream)
	}
	root := gjson.ParseBytes(data)
	if root.IsArray() { // errors come wrapped in a one-element array too
		root = root.Get("0")
	}
	if !root.IsObject() {
		return fmt.Errorf("%w: a gemini event is not a JSON object", errNativeStream)
	}
	r := geminiViewOf(root)
	if r.errObj.IsObject() {
		errType, msg := geminiErrorMessage(data)
		if errType == "" {
			errType = "server_error"
		}
		w.errorEvent(msg, errType, "")
		d.failed = true
		return nil
	}
	if r.responseID != "" {
		w.setID(r.responseID)
	}
	if r.usage.IsObject() {
		d.usage = geminiUsage(r.usage)
	}
	if d.finished {
		return nil
	}
	if !r.hasCandidate {
		if r.blockReason != "" {
			w.finish("content_filter")
			d.finished = true
		}
		return nil
	}
	w.role()
	r.parts.ForEach(func(_, p gjson.Result) bool {
		part := geminiPartOf(p)
		switch {
		case part.call.IsObject():
			i := d.tools
			d.tools++
			w.toolCallStart(i, geminiCallID(part.call.Get("id").String(), part.signature), part.call.Get("name").String())
			w.toolCallArgs(i, geminiArgsJSON(part.call.Get("args")))
		case part.thought:
			w.reasoning(part.text)
		default:
			w.content(part.text)
		}
		return true
	})
	if reason := geminiFinishReason(r.finishReason, d.tools > 0); reason != "" {
		w.finish(reason)
		d.finished = true
	}
	return nil
}

// geminiSSE splits a byte stream into server-sent events and hands each
// event's data (its data lines joined with "\n") to a callback. Lines may
// end in LF, CRLF or CR; comments and other fields are ignored.
type geminiSSE struct {
	buf     []byte // unconsumed bytes: at most a partial line
	scan    int    // how much of buf is known to hold no line end
	skipLF  bool   // the last byte seen was a CR: a leading LF is its pair
	crLines bool   // a line ended in a bare CR: see geminiLineEnd
	data    []byte // the current event's data so far
	has     bool   // the current event has a data field
}

// feed consumes p and calls fn for every event it completes. fn must not
// keep the slice.
func (s *geminiSSE) feed(p []byte, fn func(data []byte) error) error {
	if s.skipLF && len(p) > 0 {
		s.skipLF = false
		if p[0] == '\n' {
			p = p[1:]
		}
	}
	s.buf = append(s.buf, p...)
	start := 0
	for {
		i := geminiLineEnd(s.buf[s.scan:], s.crLines)
		if i < 0 {
			s.scan = len(s.buf)
			break
		}
		end := s.scan + i
		next := end + 1
		if s.buf[end] == '\r' {
			switch {
			case next == len(s.buf):
				s.skipLF = true
			case s.buf[next] == '\n':
				next++
			default:
				s.crLines = true
			}
		}
		if err := s.line(s.buf[start:end], fn); err != nil {
			return err
		}
		start, s.scan = next, next
	}
	if start > 0 {
		n := copy(s.buf, s.buf[start:])
		s.buf = s.buf[:n]
		s.scan -= start
	}
	if len(s.buf)+len(s.data) > geminiMaxEvent {
		return fmt.Errorf("%w: an event is larger than %d bytes", errNativeStream, geminiMaxEvent)
	}
	return nil
}

// geminiLineEnd returns the index of the first CR or LF in b, or -1. Two
// IndexByte scans beat one IndexAny, which goes byte by byte; but a stream
// whose lines end in a bare CR would make the LF scan run to the end of the
// buffer for every line, so such a stream switches to IndexAny (crLines).
func geminiLineEnd(b []byte, crLines bool) int {
	if crLines {
		return bytes.IndexAny(b, "\r\n")
	}
	lf := bytes.IndexByte(b, '\n')
	if lf < 0 {
		return bytes.IndexByte(b, '\r')
	}
	if cr := bytes.IndexByte(b[:lf], '\r'); cr >= 0 {
		return cr
	}
	return lf
}

// flush ends the stream: a partial last line counts as a line, and a
// pending event is dispatched as if the blank line had come.
func (s *geminiSSE) flush(fn func(data []byte) error) error {
	if len(s.buf) > 0 {
		line := s.buf
		s.buf = nil
		if err := s.line(line, fn); err != nil {
			return err
		}
	}
	return s.line(nil, fn)
}

// line handles one line (without its end).
func (s *geminiSSE) line(line []byte, fn func(data []byte) error) error {
	if len(line) == 0 {
		if !s.has {
			return nil
		}
		data := s.data
		s.data, s.has = s.data[:0], false
		return fn(data)
	}
	if line[0] == ':' {
		return nil
	}
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	if string(field) == "data" {
		if s.has {
			s.data = append(s.data, '\n')
		}
		s.data = append(s.data, value...)
		s.has = true
	}
	return nil
}
