package vendors

import (
	"bytes"
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
	"github.com/caddy-llm/llmrouter/internal/meter"
)

// Limits that keep a broken or hostile stream from growing the decoder
// without bound.
const (
	anthropicMaxEvent  = 8 << 20 // bytes of one SSE line or one event's data
	anthropicMaxBlocks = 1 << 16 // content block index
)

// anthropicStream decodes Anthropic's SSE stream (Messages with
// "stream": true; also Claude on Vertex AI's streamRawPredict) into OpenAI
// chunks:
//
//   - message_start: the message id becomes the chunk id, the role chunk is
//     written, input and cache token counts are kept;
//   - content_block_start: a tool_use block opens a tool call (indexes count
//     tool calls only, not Anthropic's content blocks); text and thinking
//     blocks carry their (normally empty) initial text;
//   - content_block_delta: text_delta → content, thinking_delta →
//     reasoning_content, input_json_delta → tool call arguments;
//     signature_delta and citations are dropped;
//   - message_delta: stop_reason → the finish chunk; its usage (cumulative)
//     replaces the counts it carries;
//   - message_stop: the usage chunk and [DONE];
//   - error: an OpenAI error event (type and code = Anthropic's error type,
//     e.g. overloaded_error), and nothing more;
//   - ping, content_block_stop and unknown events: nothing.
//
// SSE framing: "event:" and "data:" lines (the event type is read from the
// data's "type", the event name is only a fallback), LF, CRLF or CR line
// ends, comments, split anywhere across feeds.
type anthropicStream struct {
	line    []byte // the unfinished line carried over from the last feed
	data    []byte // the current event's data lines, joined by "\n"
	name    []byte // the current event's name
	hasData bool
	skipLF  bool // the last feed ended in '\r': a '\n' first in the next one belongs to it

	blocks   []int // content block index → tool call index, -1 for other blocks
	tools    int   // tool calls opened so far
	usage    anthropicUsage
	finished bool // the finish chunk was written
	done     bool // message_stop or error seen: the rest is ignored
}

// newAnthropicStream returns a decoder for one Anthropic SSE stream. model
// is the attempt's vendor model; the chunks carry the chunkWriter's model,
// so it is not needed today.
func newAnthropicStream(model string) streamDecoder {
	return anthropicEventDecoder()
}

// anthropicEventDecoder returns the decoder as its concrete type, for
// streams whose framing is not SSE (Bedrock InvokeModelWithResponseStream
// carries each Anthropic event's JSON in an event-stream frame): pass each
// event's JSON to its event method, then call end.
func anthropicEventDecoder() *anthropicStream {
	return &anthropicStream{}
}

func (d *anthropicStream) feed(p []byte, w *chunkWriter) error {
	if d.skipLF && len(p) > 0 {
		d.skipLF = false
		if p[0] == '\n' {
			p = p[1:]
		}
	}
	for len(p) > 0 {
		if d.done {
			return nil
		}
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			if len(d.line)+len(p) > anthropicMaxEvent {
				return fmt.Errorf("%w: an SSE line is longer than %d bytes", errNativeStream, anthropicMaxEvent)
			}
			d.line = append(d.line, p...)
			return nil
		}
		line := p[:i]
		if len(d.line) > 0 {
			d.line = append(d.line, line...)
			line = d.line
		}
		if p[i] == '\r' {
			if i+1 == len(p) {
				d.skipLF = true
			} else if p[i+1] == '\n' {
				i++
			}
		}
		p = p[i+1:]
		err := d.sseLine(line, w)
		d.line = d.line[:0]
		if err != nil {
			return err
		}
	}
	return nil
}

// sseLine handles one SSE line without its end.
func (d *anthropicStream) sseLine(line []byte, w *chunkWriter) error {
	if len(line) == 0 {
		return d.dispatch(w)
	}
	if line[0] == ':' {
		return nil // comment
	}
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "data":
		if d.hasData {
			d.data = append(d.data, '\n')
		}
		if len(d.data)+len(value) > anthropicMaxEvent {
			return fmt.Errorf("%w: an SSE event is larger than %d bytes", errNativeStream, anthropicMaxEvent)
		}
		d.data = append(d.data, value...)
		d.hasData = true
	case "event":
		d.name = append(d.name[:0], value...)
	}
	return nil
}

// dispatch handles the event collected so far (at a blank line).
func (d *anthropicStream) dispatch(w *chunkWriter) error {
	defer func() {
		d.data, d.name, d.hasData = d.data[:0], d.name[:0], false
	}()
	if !d.hasData {
		return nil
	}
	return d.handle(d.data, d.name, w)
}

// event handles one Anthropic stream event given as its JSON.
func (d *anthropicStream) event(data []byte, w *chunkWriter) error {
	return d.handle(data, nil, w)
}

func (d *anthropicStream) handle(data, name []byte, w *chunkWriter) error {
	if d.done {
		return nil
	}
	if !jsonwalk.Valid(data) {
		return fmt.Errorf("%w: an event's data is not JSON", errNativeStream)
	}
	s := string(data) // one copy; the results below point into it
	typ := gjson.Get(s, "type").String()
	if typ == "" {
		typ = string(name)
	}
	switch typ {
	case "content_block_delta":
		delta := gjson.Get(s, "delta")
		switch delta.Get("type").String() {
		case "text_delta":
			w.content(delta.Get("text").String())
		case "input_json_delta":
			if tool := d.toolAt(gjson.Get(s, "index").Int()); tool >= 0 {
				w.toolCallArgs(tool, delta.Get("partial_json").String())
			}
		case "thinking_delta":
			w.reasoning(delta.Get("thinking").String())
		}
	case "content_block_start":
		idx := gjson.Get(s, "index").Int()
		if idx < 0 || idx >= anthropicMaxBlocks {
			return fmt.Errorf("%w: content block index %d", errNativeStream, idx)
		}
		for int64(len(d.blocks)) <= idx {
			d.blocks = append(d.blocks, -1)
		}
		d.blocks[idx] = -1
		cb := gjson.Get(s, "content_block")
		switch cb.Get("type").String() {
		case "tool_use":
			d.blocks[idx] = d.tools
			w.toolCallStart(d.tools, cb.Get("id").String(), cb.Get("name").String())
			d.tools++
		case "text":
			w.content(cb.Get("text").String())
		case "thinking":
			w.reasoning(cb.Get("thinking").String())
		}
	case "message_start":
		msg := gjson.Get(s, "message")
		w.setID(msg.Get("id").String())
		d.usage.set(msg.Get("usage"))
		w.role()
	case "message_delta":
		if r := gjson.Get(s, "delta.stop_reason"); r.Type == gjson.String && !d.finished {
			d.finished = true
			w.finish(anthropicFinishReason(r.Str))
		}
		d.usage.set(gjson.Get(s, "usage"))
	case "message_stop":
		if !d.finished {
			d.finished = true
			w.finish("stop")
		}
		w.usage(d.usage.openAI())
		w.done()
		d.done = true
	case "error":
		e, _ := meter.ReadError(data)
		errType := e.Type
		msg := truncateUTF8(e.Message, maxMessageBytes)
		if msg == "" {
			msg = "the vendor reported an error in its stream"
		}
		w.errorEvent(msg, errType, errType)
		d.done = true
	}
	return nil
}

// toolAt returns the tool call index of content block idx, or -1.
func (d *anthropicStream) toolAt(idx int64) int {
	if idx < 0 || idx >= int64(len(d.blocks)) {
		return -1
	}
	return d.blocks[idx]
}

// end handles a last event that lacked its blank line; a stream without
// message_stop (or error) renders nothing more, so no [DONE].
func (d *anthropicStream) end(w *chunkWriter) error {
	if d.done {
		return nil
	}
	if len(d.line) > 0 {
		err := d.sseLine(d.line, w)
		d.line = d.line[:0]
		if err != nil {
			return err
		}
	}
	return d.dispatch(w)
}
