package vendors

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/anthropic"
	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/meter"
)

// Chat completions answers as Messages answers, for the bridge (see
// messages_chat.go): a whole chat.completion becomes a message
// (messagesFromChat), a chat stream the Messages events (messagesEvents).

// messagesStopReason maps a chat finish_reason to a Messages stop_reason.
func messagesStopReason(finish string) string {
	switch finish {
	case "length":
		return "max_tokens"
	case "tool_calls", "function_call":
		return "tool_use"
	case "content_filter":
		return "refusal"
	}
	return "end_turn"
}

// messagesUsage is Messages' usage object for u: cached prompt tokens are
// cache reads, the rest input.
type messagesUsageJSON struct {
	InputTokens          int `json:"input_tokens"`
	CacheReadInputTokens int `json:"cache_read_input_tokens"`
	OutputTokens         int `json:"output_tokens"`
}

func messagesUsageOf(u billing.Usage) messagesUsageJSON {
	return messagesUsageJSON{InputTokens: max(u.PromptTokens-u.CachedTokens, 0), CacheReadInputTokens: u.CachedTokens,
		OutputTokens: u.CompletionTokens}
}

// messagesID is a message id for a chat answer's id.
func messagesID(chatID string) string {
	if chatID == "" {
		chatID = strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return "msg_" + chatID
}

// messagesFromChat rewrites a chat.completion, whose usage is u, as a
// Messages answer: a thinking block (only when the client enabled thinking)
// from reasoning_content, a text block from content, a tool_use block per
// tool call (input = the parsed arguments; arguments that are not a JSON
// object become {}), the stop reason and the usage.
func messagesFromChat(chat []byte, u billing.Usage, thinking bool) ([]byte, error) {
	root := gjson.ParseBytes(chat)
	msg := root.Get("choices.0.message")
	content := []any{}
	if r := msg.Get("reasoning_content").String(); thinking && r != "" {
		content = append(content, map[string]any{"type": "thinking", "thinking": r, "signature": ""})
	}
	if t := msg.Get("content").String(); t != "" {
		content = append(content, map[string]any{"type": "text", "text": t})
	}
	for _, tc := range msg.Get("tool_calls").Array() {
		content = append(content, map[string]any{"type": "tool_use", "id": tc.Get("id").String(),
			"name": tc.Get("function.name").String(), "input": toolInput(tc.Get("function.arguments").String())})
	}
	out := map[string]any{
		"id": messagesID(root.Get("id").String()), "type": "message", "role": "assistant",
		"model": root.Get("model").String(), "content": content,
		"stop_reason":   messagesStopReason(root.Get("choices.0.finish_reason").String()),
		"stop_sequence": nil, "usage": messagesUsageOf(u),
	}
	return marshalNoEscape(out)
}

// toolInput is tool call arguments as a tool_use input: a JSON object, or {}.
func toolInput(args string) json.RawMessage {
	if a := gjson.Parse(args); a.IsObject() && gjson.Valid(args) {
		return json.RawMessage(a.Raw)
	}
	return json.RawMessage("{}")
}

func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// messagesErrorFromChat rewrites an OpenAI-shaped error body (what every
// chat translation gives) in Anthropic's shape.
func messagesErrorFromChat(h http.Header, status int, openaiErr []byte) []byte {
	e, _ := meter.ReadError(openaiErr)
	h.Set("Content-Type", "application/json")
	return messagesErrorBody(status, anthropicTypeOfOpenAI(e.Type), e.Message)
}

// Content block kinds of a translated stream.
const (
	blockNone = iota
	blockThinking
	blockText
	blockTool
)

// messagesEvents rewrites a chat completions stream as Messages events:
//
//   - the first chunk: message_start (the input tokens are the router's
//     estimate: chat streams tell the real count only at their end, and
//     message_delta carries it), then ping;
//   - one content block at a time, never interleaved: reasoning_content
//     opens a thinking block (only when the client enabled thinking, and
//     only before any text: reasoning that comes after text is left out),
//     content a text block, each tool call a tool_use block whose argument
//     fragments are input_json_delta; a new kind of content closes the open
//     block (content_block_stop) first; fragments of a tool call other than
//     the open one (chat vendors stream tool calls one after the other) are
//     left out;
//   - the end (finish): the open block closed, message_delta with the stop
//     reason and the usage, message_stop; or, for a failed stream, an
//     Anthropic error event.
type messagesEvents struct {
	model       string
	inputTokens int // the estimate for message_start
	thinking    bool
	started     bool
	index       int // the open block's index, or the next one's
	open        int // blockNone when no block is open
	openTool    int // the chat tool call index of the open tool_use block
	textSeen    bool
	finish      string
	sse         sseReader
	dst         []byte
	ended       bool
}

func newMessagesEvents(model string, inputTokens int, thinking bool) *messagesEvents {
	return &messagesEvents{model: model, inputTokens: inputTokens, thinking: thinking, openTool: -1,
		sse: sseReader{max: anthropicMaxEvent}}
}

// Feed appends the events for chatSSE, chat chunk events in any split.
func (m *messagesEvents) Feed(dst, chatSSE []byte) []byte {
	m.dst = dst
	_ = m.sse.feed(chatSSE, m) // events too large to read are left out
	return m.dst
}

func (m *messagesEvents) sseOver() bool { return m.ended }

func (m *messagesEvents) sseEvent(data, _ []byte) error {
	if bytes.Equal(data, []byte("[DONE]")) || !gjson.ValidBytes(data) {
		return nil
	}
	c := gjson.ParseBytes(data)
	if c.Get("error").Exists() {
		return nil // the end is Finish's
	}
	m.start(c.Get("id").String())
	d := c.Get("choices.0.delta")
	if r := d.Get("reasoning_content"); r.Type == gjson.String && r.Str != "" && m.thinking && !m.textSeen {
		m.openBlock(blockThinking, -1, `{"type":"thinking","thinking":"","signature":""}`)
		m.delta(`{"type":"thinking_delta","thinking":`, r.Str)
	}
	if t := d.Get("content"); t.Type == gjson.String && t.Str != "" {
		m.textSeen = true
		m.openBlock(blockText, -1, `{"type":"text","text":""}`)
		m.delta(`{"type":"text_delta","text":`, t.Str)
	}
	for _, tc := range d.Get("tool_calls").Array() {
		idx := int(tc.Get("index").Int())
		if id := tc.Get("id").String(); id != "" && !(m.open == blockTool && m.openTool == idx) {
			block := append([]byte(`{"type":"tool_use","id":`), jsonString(id)...)
			block = append(block, `,"name":`...)
			block = append(block, jsonString(tc.Get("function.name").String())...)
			block = append(block, `,"input":{}}`...)
			m.openBlock(blockTool, idx, string(block))
		}
		if args := tc.Get("function.arguments").String(); args != "" && m.open == blockTool && m.openTool == idx {
			m.delta(`{"type":"input_json_delta","partial_json":`, args)
		}
	}
	if f := c.Get("choices.0.finish_reason"); f.Type == gjson.String && f.Str != "" {
		m.finish = f.Str
	}
	return nil
}

func jsonString(s string) []byte { return gjson.AppendJSONString(nil, s) }

// start writes message_start and ping, once.
func (m *messagesEvents) start(chatID string) {
	if m.started {
		return
	}
	m.started = true
	msg, _ := marshalNoEscape(map[string]any{"type": "message_start", "message": map[string]any{
		"id": messagesID(chatID), "type": "message", "role": "assistant", "model": m.model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil,
		"usage": messagesUsageJSON{InputTokens: m.inputTokens, OutputTokens: 0}}})
	m.dst = appendMessagesEvent(m.dst, "message_start", msg)
	m.dst = appendMessagesEvent(m.dst, "ping", []byte(`{"type":"ping"}`))
}

// openBlock makes kind the open block, closing another first.
func (m *messagesEvents) openBlock(kind, tool int, contentBlock string) {
	if m.open == kind && (kind != blockTool || m.openTool == tool) {
		return
	}
	m.closeBlock()
	m.open, m.openTool = kind, tool
	ev := []byte(`{"type":"content_block_start","index":`)
	ev = strconv.AppendInt(ev, int64(m.index), 10)
	ev = append(ev, `,"content_block":`...)
	ev = append(ev, contentBlock...)
	ev = append(ev, '}')
	m.dst = appendMessagesEvent(m.dst, "content_block_start", ev)
}

func (m *messagesEvents) closeBlock() {
	if m.open == blockNone {
		return
	}
	ev := []byte(`{"type":"content_block_stop","index":`)
	ev = strconv.AppendInt(ev, int64(m.index), 10)
	m.dst = appendMessagesEvent(m.dst, "content_block_stop", append(ev, '}'))
	m.index++
	m.open, m.openTool = blockNone, -1
}

// delta writes a content_block_delta of the open block; deltaPrefix is the
// delta object up to its text value.
func (m *messagesEvents) delta(deltaPrefix, text string) {
	ev := []byte(`{"type":"content_block_delta","index":`)
	ev = strconv.AppendInt(ev, int64(m.index), 10)
	ev = append(ev, `,"delta":`...)
	ev = append(ev, deltaPrefix...)
	ev = gjson.AppendJSONString(ev, text)
	ev = append(ev, "}}"...)
	m.dst = appendMessagesEvent(m.dst, "content_block_delta", ev)
}

// Finish appends the end: message_delta and message_stop, or, for a failed
// stream, the error event.
func (m *messagesEvents) Finish(dst []byte, u billing.Usage, failure *meter.VendorError) []byte {
	m.dst = dst
	m.ended = true
	m.start("")
	m.closeBlock()
	if failure != nil {
		typ := anthropicTypeOfOpenAI(failure.Type)
		if !isAnthropicErrorType(typ) {
			typ = anthropic.API
		}
		msg := failure.Message
		if msg == "" {
			msg = "the vendor's stream failed"
		}
		return appendMessagesErrorEvent(m.dst, typ, msg)
	}
	ev, _ := marshalNoEscape(map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": messagesStopReason(m.finish), "stop_sequence": nil},
		"usage": messagesUsageOf(u)})
	m.dst = appendMessagesEvent(m.dst, "message_delta", ev)
	return appendMessagesEvent(m.dst, "message_stop", []byte(`{"type":"message_stop"}`))
}
