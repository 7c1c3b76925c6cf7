package vendors

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
	"github.com/caddy-llm/llmrouter/internal/meter"
)

// messagesStream is the ResponseStream of an Anthropic Messages stream that
// goes to a Messages client as it is (the passthrough translations,
// messages_native.go). It hands every event on, as `event: <type>` and its
// data line, and reads on the way what the router needs:
//
//   - the commit point: the first content, a content_block_delta with text,
//     thinking or tool input, or a tool_use block's start (message_start and
//     ping say nothing yet);
//   - the usage: input and cache tokens from message_start, the output
//     tokens (cumulative) from message_delta;
//   - completion: message_stop;
//   - an error event ({"type":"error","error":{"type","message"}}, e.g.
//     overloaded_error after a 200): a vendor error, passed on (after the
//     commit point the client reads it as Anthropic's own), and the end.
//
// The events come from SSE (Anthropic, Claude on Vertex AI: sseReader) or,
// with frames set, from AWS event-stream frames whose "chunk" events carry
// each event's JSON in base64 (Bedrock InvokeModelWithResponseStream: the
// framing is bedrockFrames').
type messagesStream struct {
	sse    sseReader
	frames *bedrockFrames
	out    []byte

	promptEstimate int
	committed      bool
	done           bool // message_stop seen
	over           bool // message_stop or an error: the rest is not read
	err            *meter.VendorError
	usage          anthropicUsage
	started        bool // message_start seen with a usage
	ended          bool // message_delta seen with a usage
	contentBytes   int
	contentEvents  int
	stopReason     string
}

func newMessagesStream(promptEstimate int, bedrock bool) *messagesStream {
	s := &messagesStream{sse: sseReader{max: anthropicMaxEvent}, promptEstimate: promptEstimate}
	if bedrock {
		f := newBedrockFrames()
		s.frames = &f
	}
	return s
}

func (s *messagesStream) Feed(p []byte, eof bool) error {
	var err error
	if s.frames != nil {
		if !s.over {
			err = s.frames.feed(p, s)
		}
		if err == nil && eof && !s.over && s.frames.partial() {
			err = fmt.Errorf("%w: the stream ended inside an event-stream frame", errNativeStream)
		}
		return err
	}
	if err = s.sse.feed(p, s); err == nil && eof {
		err = s.sse.end(s)
	}
	return err
}

func (s *messagesStream) sseEvent(data, name []byte) error { return s.event(data, name) }
func (s *messagesStream) sseOver() bool                    { return s.over }

// frame reads one Bedrock frame: a chunk event's payload is
// {"bytes":"<base64 of the Anthropic event>"}; an exception or error frame
// is the vendor's error, written to the client as Anthropic's error event.
func (s *messagesStream) frame(msg eventstream.Message) bool {
	switch bedrockHeader(msg, bedrockMessageTypeHeader) {
	case "event":
		if bedrockHeader(msg, bedrockEventTypeHeader) != "chunk" {
			return false
		}
		raw := gjson.GetBytes(msg.Payload, "bytes").String()
		data, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			s.fail(meter.VendorError{Type: "api_error", Message: "Bedrock sent a chunk that is not base64"})
			return true
		}
		if err := s.event(data, nil); err != nil {
			s.fail(meter.VendorError{Type: "api_error", Message: "Bedrock sent a chunk that is not an Anthropic event"})
		}
	case "exception":
		typ := bedrockHeader(msg, bedrockExceptionTypeHeader)
		e, _ := meter.ReadError(msg.Payload)
		if e.Message == "" {
			e.Message = "Bedrock stream exception " + typ
		}
		s.fail(meter.VendorError{Type: messagesTypeOfBedrock(typ), Message: e.Message, Code: typ})
	case "error":
		code := bedrockHeader(msg, bedrockErrorCodeHeader)
		text := bedrockHeader(msg, bedrockErrorMessageHeader)
		if text == "" {
			text = "Bedrock stream error " + code
		}
		s.fail(meter.VendorError{Type: "api_error", Message: text, Code: code})
	}
	return s.over
}

// fail ends the stream with the vendor's error, which the client gets as
// an error event.
func (s *messagesStream) fail(e meter.VendorError) {
	e.Message = truncateUTF8(e.Message, maxMessageBytes)
	s.err = &e
	s.over = true
	s.out = appendMessagesErrorEvent(s.out, e.Type, e.Message)
}

// event reads one Anthropic event and hands it on.
func (s *messagesStream) event(data, name []byte) error {
	if s.over {
		return nil
	}
	if !jsonwalk.Valid(data) {
		return fmt.Errorf("%w: an event's data is not JSON", errNativeStream)
	}
	js := string(data)
	typ := gjson.Get(js, "type").String()
	if typ == "" {
		typ = string(name)
	}
	switch typ {
	case "message_start":
		if u := gjson.Get(js, "message.usage"); u.IsObject() {
			s.usage.set(u)
			s.started = true
		}
	case "content_block_start":
		cb := gjson.Get(js, "content_block")
		switch cb.Get("type").String() {
		case "tool_use", "server_tool_use":
			s.content(len(cb.Get("name").Str))
		case "text":
			s.content(len(cb.Get("text").Str))
		}
	case "content_block_delta":
		d := gjson.Get(js, "delta")
		switch d.Get("type").String() {
		case "text_delta":
			s.content(len(d.Get("text").Str))
		case "input_json_delta":
			s.content(len(d.Get("partial_json").Str))
		case "thinking_delta":
			s.content(len(d.Get("thinking").Str))
		}
	case "message_delta":
		if r := gjson.Get(js, "delta.stop_reason"); r.Type == gjson.String {
			s.stopReason = r.Str
		}
		if u := gjson.Get(js, "usage"); u.IsObject() {
			s.usage.set(u)
			s.ended = true
		}
	case "message_stop":
		s.done, s.over = true, true
	case "error":
		e, _ := meter.ReadError(data)
		if e.Message == "" {
			e.Message = "the vendor reported an error in its stream"
		}
		if e.Type == "" {
			e.Type = "api_error"
		}
		e.Message = truncateUTF8(e.Message, maxMessageBytes)
		s.err, s.over = &e, true
	}
	s.out = appendMessagesEvent(s.out, typ, data)
	return nil
}

// content counts n bytes of generated content; the first commits.
func (s *messagesStream) content(n int) {
	if n == 0 {
		return
	}
	s.committed = true
	s.contentBytes += n
	s.contentEvents++
}

// appendMessagesEvent appends one Anthropic SSE event. The data goes on one
// line: a vendor's data split over several lines (joined by "\n") is
// compacted.
func appendMessagesEvent(dst []byte, typ string, data []byte) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, typ...)
	dst = append(dst, "\ndata: "...)
	if bytes.IndexByte(data, '\n') >= 0 || bytes.IndexByte(data, '\r') >= 0 {
		var buf bytes.Buffer
		if json.Compact(&buf, data) == nil {
			data = buf.Bytes()
		}
	}
	dst = append(dst, data...)
	return append(dst, "\n\n"...)
}

func (s *messagesStream) Output() []byte {
	out := s.out
	s.out = s.out[:0]
	return out
}

// Interrupt ends a stream that broke after its commit point with an
// Anthropic error event, which Anthropic's clients read as a failed answer.
func (s *messagesStream) Interrupt(message, _ string) {
	if s.over {
		return
	}
	s.over = true
	s.out = appendMessagesErrorEvent(s.out, "api_error", message)
}

// End: a stream's last event without its blank line was read at eof; there
// is nothing else to finish.
func (s *messagesStream) End()                    {}
func (s *messagesStream) Committed() bool         { return s.committed }
func (s *messagesStream) Done() bool              { return s.done }
func (s *messagesStream) Err() *meter.VendorError { return s.err }

// Usage is what the vendor reported; a stream cut before its message_delta
// counts at least the content it delivered, and one without message_start
// the router's estimate of the prompt.
func (s *messagesStream) Usage() billing.Usage {
	u := s.usage.openAI()
	if !s.started {
		u.PromptTokens, u.Estimated = s.promptEstimate, true
	}
	if !s.ended {
		u.CompletionTokens = max(u.CompletionTokens, estimateCompletionTokens(s.contentBytes, s.contentEvents))
	}
	return u
}

// estimateCompletionTokens is the meter's rule: about 4 bytes a token, and
// at least one per event that carried content.
func estimateCompletionTokens(textBytes, contentEvents int) int {
	return max((textBytes+3)/4, contentEvents)
}

// messagesAnswer reads a whole Messages answer as the commit point needs it:
// its usage, whether it has content, its stop reason in OpenAI's terms, or
// the error it carries. A body that is not JSON is an "invalid_response"
// error, as meter.InspectJSON says of a chat answer.
func messagesAnswer(body []byte, promptEstimate int) meter.Result {
	body = bytes.TrimLeft(body, " \t\r\n")
	if !jsonwalk.Valid(body) {
		return meter.Result{Err: &meter.VendorError{Type: "invalid_response", Message: "the answer is not valid JSON"}}
	}
	root := gjson.ParseBytes(body)
	if root.Get("type").String() != "message" {
		e, _ := meter.ReadError(body)
		if e.Message == "" {
			e.Message = "the answer is not a message"
		}
		if e.Type == "" {
			e.Type = "invalid_response"
		}
		return meter.Result{Err: &e}
	}
	var r meter.Result
	for _, b := range root.Get("content").Array() {
		switch b.Get("type").String() {
		case "text":
			r.HasContent = r.HasContent || b.Get("text").Str != ""
		case "thinking":
			r.HasContent = r.HasContent || b.Get("thinking").Str != ""
		case "tool_use", "server_tool_use", "redacted_thinking":
			r.HasContent = true
		}
	}
	r.FinishReason = anthropicFinishReason(root.Get("stop_reason").String())
	var u anthropicUsage
	if usage := root.Get("usage"); usage.IsObject() {
		u.set(usage)
		r.Usage = u.openAI()
	} else {
		r.Usage = billing.Usage{PromptTokens: promptEstimate, Estimated: true}
	}
	return r
}

// Interface guards
var (
	_ ResponseStream = (*messagesStream)(nil)
	_ sseHandler     = (*messagesStream)(nil)
	_ frameHandler   = (*messagesStream)(nil)
)
