package llmrouter

import (
	"bytes"

	"github.com/tidwall/gjson"
)

// Limits of what tokenWatch keeps while a response passes through.
const (
	maxSSELine      = 1 << 20 // longer SSE lines are passed on but not inspected
	maxJSONResponse = 1 << 20 // larger non-streaming bodies are not parsed for usage
)

// tokenWatch reads a vendor's response as it streams to the client, without
// holding it back, to learn when the first token arrived and how many
// completion tokens there were.
//
// For a stream, a token is the first SSE event with content (a non-empty
// delta content, reasoning content, tool call, or legacy completion text):
// comments such as DeepSeek's ": keep-alive" and the role-only first chunk do
// not count. For a JSON body, the first byte that is not white space counts
// (DeepSeek pads slow non-streaming answers with blank lines).
type tokenWatch struct {
	stream bool

	sawToken    bool
	events      int  // SSE events with content
	usageTokens int  // the last completion_tokens of the vendor's usage
	usageSeen   bool // whether usageTokens is set
	line        []byte
	lineTooLong bool

	body         []byte // a non-streaming body, up to maxJSONResponse
	bodyTooLarge bool
	parsedBody   bool
	bodyTokens   int // completion tokens of the non-streaming body
}

// feed inspects the next bytes of the body.
func (w *tokenWatch) feed(p []byte) {
	if !w.stream {
		w.feedJSON(p)
		return
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.appendLine(p)
			return
		}
		w.appendLine(p[:i])
		w.endLine()
		p = p[i+1:]
	}
}

func (w *tokenWatch) feedJSON(p []byte) {
	if !w.sawToken && len(bytes.TrimLeft(p, " \t\r\n")) > 0 {
		w.sawToken = true
	}
	if w.bodyTooLarge {
		return
	}
	if len(w.body)+len(p) > maxJSONResponse {
		w.bodyTooLarge, w.body = true, nil
		return
	}
	w.body = append(w.body, p...)
}

func (w *tokenWatch) appendLine(p []byte) {
	if w.lineTooLong {
		return
	}
	if len(w.line)+len(p) > maxSSELine {
		w.lineTooLong, w.line = true, w.line[:0]
		return
	}
	w.line = append(w.line, p...)
}

// endLine handles one complete SSE line.
func (w *tokenWatch) endLine() {
	line := bytes.TrimSuffix(w.line, []byte("\r"))
	tooLong := w.lineTooLong
	w.line, w.lineTooLong = w.line[:0], false
	if tooLong {
		// A line too long to inspect is certainly content.
		w.sawToken = true
		w.events++
		return
	}
	payload, ok := bytes.CutPrefix(line, []byte("data:"))
	if !ok {
		return // blank line, comment, event:, id:, retry:
	}
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 || payload[0] != '{' {
		return // [DONE] or nothing
	}
	if n := gjson.GetBytes(payload, "usage.completion_tokens"); n.Exists() {
		// Vendors that repeat usage (Gemini) send running totals: keep the last.
		w.usageTokens, w.usageSeen = int(n.Int()), true
	}
	if hasContent(payload) {
		w.sawToken = true
		w.events++
	}
}

// hasContent reports whether a chat completion chunk (or a legacy completion
// chunk) carries generated output.
func hasContent(chunk []byte) bool {
	choice := gjson.GetBytes(chunk, "choices.0")
	if !choice.Exists() {
		return false
	}
	delta := choice.Get("delta")
	for _, f := range []string{"content", "reasoning_content", "refusal"} {
		if v := delta.Get(f); v.Type == gjson.String && v.Str != "" {
			return true
		}
	}
	if delta.Get("tool_calls").IsArray() || delta.Get("function_call").Exists() {
		return true
	}
	text := choice.Get("text")
	return text.Type == gjson.String && text.Str != ""
}

// completionTokens is the vendor's own count when it reported one, else an
// estimate: content events for a stream (about one token each), or a quarter of
// the message text's bytes for a JSON body.
func (w *tokenWatch) completionTokens() int {
	if w.stream {
		if w.usageSeen {
			return w.usageTokens
		}
		return w.events
	}
	if !w.parsedBody {
		w.parsedBody = true
		if n := gjson.GetBytes(w.body, "usage.completion_tokens"); n.Exists() {
			w.bodyTokens = int(n.Int())
		} else {
			text := gjson.GetBytes(w.body, "choices.0.message.content").Str
			w.bodyTokens = (len(text) + 3) / 4
		}
		w.body = nil
	}
	return w.bodyTokens
}
