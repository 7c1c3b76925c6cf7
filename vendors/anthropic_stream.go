package vendors

import (
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
// SSE framing is sseReader's; the event type is read from the data's
// "type", the event name is only a fallback.
type anthropicStream struct {
	sse sseReader
	w   *chunkWriter // the writer of the feed in progress

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
	return &anthropicStream{sse: sseReader{max: anthropicMaxEvent}}
}

func (d *anthropicStream) feed(p []byte, w *chunkWriter) error {
	d.w = w
	return d.sse.feed(p, d)
}

func (d *anthropicStream) sseEvent(data, name []byte) error { return d.handle(data, name, d.w) }
func (d *anthropicStream) sseOver() bool                    { return d.done }

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
	d.w = w
	return d.sse.end(d)
}
