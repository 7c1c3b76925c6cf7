package vendors

import (
	"bytes"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/openai"
)

// This file renders OpenAI chat completions, whole and as stream chunks, for
// the translations from vendor APIs of their own (see nativeAnswer).

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

// maxNativeJSON bounds one native event or answer a translation holds.
const maxNativeJSON = 64 << 20

// chunkWriter renders OpenAI chat.completion.chunk SSE events for one
// translated stream. Every chunk carries the same id, created and model.
type chunkWriter struct {
	id      string
	model   string
	created int64
	buf     []byte
	started bool // the role chunk was written
}

// init starts w for a stream of model's chunks.
func (w *chunkWriter) init(model string) {
	now := time.Now()
	*w = chunkWriter{id: "chatcmpl-" + strconv.FormatInt(now.UnixNano(), 36), model: model, created: now.Unix()}
}

// setID adopts the vendor's message id, when it has one, before the first chunk.
func (w *chunkWriter) setID(id string) {
	if id != "" && !w.started {
		w.id = id
	}
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
func (w *chunkWriter) usage(u billing.Usage) {
	w.open()
	w.buf = append(w.buf, `[],"usage":`...)
	w.buf = appendUsage(w.buf, u)
	w.buf = append(w.buf, "}\n\n"...)
}

// errorEvent writes an OpenAI-shaped error event, for a native error inside
// a 200 stream (Anthropic's overloaded_error, a Bedrock exception frame).
func (w *chunkWriter) errorEvent(message, errType, code string) {
	w.buf = openai.AppendErrorEvent(w.buf, openai.Error{Message: message, Type: errType, Code: code})
}

// done writes the final `data: [DONE]`.
func (w *chunkWriter) done() {
	w.buf = append(w.buf, "data: [DONE]\n\n"...)
}

// appendUsage renders u as OpenAI's usage object.
func appendUsage(b []byte, u billing.Usage) []byte {
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
	Usage        billing.Usage
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
