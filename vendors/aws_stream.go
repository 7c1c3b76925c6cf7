package vendors

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/meter"
)

// AWS event-stream header names and message types (the values of the SDK's
// eventstreamapi constants).
const (
	bedrockMessageTypeHeader   = ":message-type"
	bedrockEventTypeHeader     = ":event-type"
	bedrockExceptionTypeHeader = ":exception-type"
	bedrockErrorCodeHeader     = ":error-code"
	bedrockErrorMessageHeader  = ":error-message"
)

const (
	// bedrockPreludeLen is a frame's total length, headers length and
	// prelude CRC; bedrockMinFrame adds the message CRC.
	bedrockPreludeLen = 12
	bedrockMinFrame   = 16
	// bedrockMaxFrame bounds one frame (the event-stream format allows 16 MiB
	// of payload; ConverseStream events are small).
	bedrockMaxFrame = 16<<20 + 128<<10
)

// bedrockStream decodes a ConverseStream body (application/vnd.amazon.eventstream)
// into OpenAI chunks; bedrockFrames reads the frames.
//
// Events (":message-type" event, by ":event-type"):
//
//   - messageStart: the role chunk;
//   - contentBlockStart with start.toolUse: a tool call's first chunk (id,
//     name); OpenAI tool call indexes count tool calls only, so content
//     block indexes are remapped;
//   - contentBlockDelta: delta.text as content, delta.toolUse.input as
//     argument fragments, delta.reasoningContent.text as reasoning_content
//     (its signature and redacted reasoning are dropped);
//   - contentBlockStop: nothing;
//   - messageStop: the finish chunk (stopReason mapped as in Converse);
//   - metadata: the usage chunk (mapped as in Converse), then [DONE].
//     Bedrock sends metadata after messageStop; should it come first, the
//     usage waits for messageStop. A stream that ends after messageStop
//     without metadata gets [DONE] alone at its end, so the router estimates
//     the usage rather than believe a zero.
//
// A ":message-type" exception frame (throttlingException,
// modelStreamErrorException, internalServerException, validationException,
// serviceUnavailableException) or error frame becomes an OpenAI error event
// {"error":{"message","type","code":<the AWS exception type>}}, with no
// [DONE]; whatever follows is ignored. A stream cut before messageStop
// renders neither usage nor [DONE], so the router can tell it broke.
type bedrockStream struct {
	frames bedrockFrames
	w      *chunkWriter // the writer of the feed in progress

	toolIndex map[int64]int // content block index -> tool call index
	tools     int

	finished bool           // messageStop seen: the finish chunk is out
	usage    *billing.Usage // metadata seen before messageStop
	over     bool           // [DONE] or an error event is out: ignore the rest
}

func newBedrockStream() *bedrockStream {
	return &bedrockStream{frames: newBedrockFrames()}
}

// bedrockFrames splits an AWS event stream (ConverseStream,
// InvokeModelWithResponseStream) into frames: bytes are buffered until a
// frame is whole (the prelude's total length), then decoded, CRCs checked,
// by the SDK's eventstream.Decoder.
type bedrockFrames struct {
	dec     *eventstream.Decoder
	buf     []byte // bytes of incomplete frames
	payload []byte // reused by the decoder for frame payloads
	rd      bytes.Reader
}

func newBedrockFrames() bedrockFrames { return bedrockFrames{dec: eventstream.NewDecoder()} }

// frameHandler takes the frames bedrockFrames reads.
type frameHandler interface {
	// frame handles one frame, whose payload is valid until the next call;
	// over says that it was the stream's last word.
	frame(msg eventstream.Message) (over bool)
}

// feed reads the next bytes, handing h each frame they complete.
func (f *bedrockFrames) feed(p []byte, h frameHandler) error {
	f.buf = append(f.buf, p...)
	off := 0
	for len(f.buf)-off >= bedrockPreludeLen {
		frame := f.buf[off:]
		total := binary.BigEndian.Uint32(frame[0:4])
		headersLen := binary.BigEndian.Uint32(frame[4:8])
		if total < bedrockMinFrame || total > bedrockMaxFrame || headersLen > total-bedrockMinFrame {
			return fmt.Errorf("%w: bad event-stream frame length %d (headers %d)", errNativeStream, total, headersLen)
		}
		if uint32(len(frame)) < total {
			break
		}
		f.rd.Reset(frame[:total])
		msg, err := f.dec.Decode(&f.rd, f.payload[:0])
		if err != nil {
			return fmt.Errorf("%w: event-stream frame: %v", errNativeStream, err)
		}
		if cap(msg.Payload) > cap(f.payload) {
			f.payload = msg.Payload[:0]
		}
		off += int(total)
		if h.frame(msg) {
			f.buf = f.buf[:0]
			return nil
		}
	}
	n := copy(f.buf, f.buf[off:])
	f.buf = f.buf[:n]
	return nil
}

// partial reports whether the bytes read so far end inside a frame.
func (f *bedrockFrames) partial() bool { return len(f.buf) > 0 }

func (s *bedrockStream) feed(p []byte, w *chunkWriter) error {
	if s.over {
		return nil
	}
	s.w = w
	return s.frames.feed(p, s)
}

func (s *bedrockStream) frame(msg eventstream.Message) bool {
	s.handle(msg, s.w)
	return s.over
}

func (s *bedrockStream) end(w *chunkWriter) error {
	if s.over {
		return nil
	}
	if s.frames.partial() {
		return fmt.Errorf("%w: the stream ended inside an event-stream frame", errNativeStream)
	}
	if s.finished {
		w.done()
		s.over = true
	}
	return nil
}

// handle renders one decoded frame.
func (s *bedrockStream) handle(msg eventstream.Message, w *chunkWriter) {
	switch bedrockHeader(msg, bedrockMessageTypeHeader) {
	case "event":
		s.event(bedrockHeader(msg, bedrockEventTypeHeader), msg.Payload, w)
	case "exception":
		typ := bedrockHeader(msg, bedrockExceptionTypeHeader)
		e, _ := meter.ReadError(msg.Payload)
		text := e.Message
		if text == "" {
			text = "Bedrock stream exception " + typ
		}
		w.errorEvent(text, bedrockOpenAIErrorType(typ), typ)
		s.over = true
	case "error":
		code := bedrockHeader(msg, bedrockErrorCodeHeader)
		text := bedrockHeader(msg, bedrockErrorMessageHeader)
		if text == "" {
			text = "Bedrock stream error " + code
		}
		w.errorEvent(text, "server_error", code)
		s.over = true
	}
}

// event renders one ConverseStream event; unknown events are ignored.
func (s *bedrockStream) event(eventType string, p []byte, w *chunkWriter) {
	switch eventType {
	case "messageStart":
		w.role()
	case "contentBlockStart":
		tu := gjson.GetBytes(p, "start.toolUse")
		if !tu.IsObject() {
			return
		}
		if s.toolIndex == nil {
			s.toolIndex = make(map[int64]int, 2)
		}
		idx := s.tools
		s.tools++
		s.toolIndex[gjson.GetBytes(p, "contentBlockIndex").Int()] = idx
		w.toolCallStart(idx, tu.Get("toolUseId").String(), tu.Get("name").String())
	case "contentBlockDelta":
		d := gjson.GetBytes(p, "delta")
		if t := d.Get("text"); t.Exists() {
			w.content(t.String())
		} else if in := d.Get("toolUse.input"); in.Exists() {
			if idx, ok := s.toolIndex[gjson.GetBytes(p, "contentBlockIndex").Int()]; ok {
				w.toolCallArgs(idx, in.String())
			}
		} else if r := d.Get("reasoningContent.text"); r.Exists() {
			w.reasoning(r.String())
		}
	case "messageStop":
		if s.finished {
			return
		}
		w.finish(bedrockFinishReason(gjson.GetBytes(p, "stopReason").String()))
		s.finished = true
		if s.usage != nil {
			s.close(*s.usage, w)
		}
	case "metadata":
		u := bedrockUsage(gjson.GetBytes(p, "usage"))
		if !s.finished {
			s.usage = &u
			return
		}
		s.close(u, w)
	}
}

// close renders the usage chunk and [DONE].
func (s *bedrockStream) close(u billing.Usage, w *chunkWriter) {
	w.usage(u)
	w.done()
	s.over = true
}

// bedrockHeader returns a frame's string header, "" if absent.
func bedrockHeader(msg eventstream.Message, name string) string {
	v := msg.Headers.Get(name)
	if v == nil {
		return ""
	}
	if sv, ok := v.(eventstream.StringValue); ok {
		return string(sv)
	}
	return v.String()
}
