package vendors

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/meter"
)

// The answer of a bridged Responses request: a chat completion, whole or
// streamed, as a Response object or as the Responses API's events.

// outputItem is one item of a bridged response's output.
type outputItem struct {
	kind      byte // 'r' reasoning, 'm' message, 'f' function call
	id        string
	text      []byte // the reasoning summary, the message text, or the call's arguments
	refusal   []byte // a message's refusal
	callID    string
	name      string // the function's flat name
	chatIndex int    // the tool call's index in the chat chunks
	done      bool
}

// appendItem appends it as an output item of status ("completed",
// "in_progress", "incomplete").
func (b *responsesBridge) appendItem(dst []byte, it *outputItem, status string) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendJSONString(dst, it.id)
	switch it.kind {
	case 'r':
		dst = append(dst, `,"type":"reasoning","summary":[`...)
		if len(it.text) > 0 || status != "in_progress" {
			dst = append(dst, `{"type":"summary_text","text":`...)
			dst = appendJSONString(dst, string(it.text))
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	case 'm':
		dst = append(dst, `,"type":"message","status":`...)
		dst = appendJSONString(dst, status)
		dst = append(dst, `,"role":"assistant","content":[`...)
		if status != "in_progress" {
			dst = b.appendParts(dst, it)
		}
		dst = append(dst, ']')
	case 'f':
		dst = append(dst, `,"type":"function_call","status":`...)
		dst = appendJSONString(dst, status)
		dst = append(dst, `,"call_id":`...)
		dst = appendJSONString(dst, it.callID)
		ns, name := b.unflatten(it.name)
		if ns != "" {
			dst = append(dst, `,"namespace":`...)
			dst = appendJSONString(dst, ns)
		}
		dst = append(dst, `,"name":`...)
		dst = appendJSONString(dst, name)
		dst = append(dst, `,"arguments":`...)
		args := string(it.text)
		if status == "in_progress" {
			args = ""
		}
		dst = appendJSONString(dst, args)
	}
	return append(dst, '}')
}

// appendParts appends a message's content parts: its text, its refusal.
func (b *responsesBridge) appendParts(dst []byte, it *outputItem) []byte {
	if len(it.text) > 0 || len(it.refusal) == 0 {
		dst = appendTextPart(dst, it.text)
	}
	if len(it.refusal) > 0 {
		if len(it.text) > 0 {
			dst = append(dst, ',')
		}
		dst = appendRefusalPart(dst, it.refusal)
	}
	return dst
}

func appendRefusalPart(dst, refusal []byte) []byte {
	dst = append(dst, `{"type":"refusal","refusal":`...)
	dst = appendJSONString(dst, string(refusal))
	return append(dst, '}')
}

// refusalIndex is the content index of a message's refusal: after its text,
// if it has one.
func refusalIndex(it *outputItem) int {
	if len(it.text) > 0 {
		return 1
	}
	return 0
}

func appendTextPart(dst, text []byte) []byte {
	dst = append(dst, `{"type":"output_text","text":`...)
	dst = appendJSONString(dst, string(text))
	return append(dst, `,"annotations":[],"logprobs":[]}`...)
}

// unflatten returns a flat function name's namespace and name.
func (b *responsesBridge) unflatten(flat string) (ns, name string) {
	if nn, ok := b.namespaced[flat]; ok {
		return nn[0], nn[1]
	}
	return "", flat
}

// appendOutput appends items as the output array.
func (b *responsesBridge) appendOutput(dst []byte, items []outputItem, status string) []byte {
	dst = append(dst, '[')
	for i := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = b.appendItem(dst, &items[i], status)
	}
	return append(dst, ']')
}

// incompleteReason is why a chat finish reason leaves a response
// incomplete, or "".
func incompleteReason(finish string) string {
	switch finish {
	case "length":
		return "max_output_tokens"
	case "content_filter":
		return "content_filter"
	}
	return ""
}

// Answer converts a whole chat.completion into a Response.
func (b *responsesBridge) Answer(chat []byte, u billing.Usage) ([]byte, error) {
	choice := gjson.GetBytes(chat, "choices.0")
	msg := choice.Get("message")
	var items []outputItem
	reasoning := msg.Get("reasoning_content").Str
	if reasoning == "" {
		reasoning = msg.Get("reasoning").Str
	}
	if reasoning != "" {
		items = append(items, outputItem{kind: 'r', id: b.itemID("rs", len(items)), text: []byte(reasoning)})
	}
	if content, refusal := msg.Get("content").Str, msg.Get("refusal").Str; content != "" || refusal != "" {
		items = append(items, outputItem{kind: 'm', id: b.itemID("msg", len(items)), text: []byte(content), refusal: []byte(refusal)})
	}
	msg.Get("tool_calls").ForEach(func(_, call gjson.Result) bool {
		items = append(items, outputItem{kind: 'f', id: b.itemID("fc", len(items)), callID: call.Get("id").Str,
			name: call.Get("function.name").Str, text: []byte(call.Get("function.arguments").Str)})
		return true
	})
	status, incomplete := "completed", incompleteReason(choice.Get("finish_reason").Str)
	if incomplete != "" {
		status = "incomplete"
	}
	output := b.appendOutput(nil, items, "completed")
	return b.appendResponse(make([]byte, 0, len(output)+1024), status, output, &u, nil, incomplete), nil
}

// NewStream starts the events of a streamed answer.
func (b *responsesBridge) NewStream() bridgeStream { return &responsesStream{b: b, open: -1} }

// responsesStream writes a bridged stream's events: the response's
// lifecycle (created, in_progress, then completed, incomplete or failed),
// and per output item its added, delta and done events, each event with the
// next sequence_number.
type responsesStream struct {
	b       *responsesBridge
	ev      chatEvents
	seq     int
	started bool
	items   []outputItem
	open    int // the index in items of the reasoning or message item open, -1 for none
	finish  string
	out     []byte // Feed's dst, while it runs
}

// event appends one event: its "event:" line, and its data, the type and
// sequence number followed by fields (raw JSON members, without braces).
func (s *responsesStream) event(typ string, fields ...[]byte) {
	s.out = append(s.out, "event: "...)
	s.out = append(s.out, typ...)
	s.out = append(s.out, "\ndata: {\"type\":\""...)
	s.out = append(s.out, typ...)
	s.out = append(s.out, `","sequence_number":`...)
	s.out = strconv.AppendInt(s.out, int64(s.seq), 10)
	s.seq++
	for _, f := range fields {
		s.out = append(append(s.out, ','), f...)
	}
	s.out = append(s.out, "}\n\n"...)
}

// member renders "name":value, value raw JSON.
func member(name string, value []byte) []byte {
	m := make([]byte, 0, len(name)+len(value)+3)
	m = append(append(append(append(m, '"'), name...), `":`...), value...)
	return m
}

func memberString(name, value string) []byte { return member(name, appendJSONString(nil, value)) }
func memberInt(name string, n int) []byte    { return member(name, strconv.AppendInt(nil, int64(n), 10)) }

// start writes response.created and response.in_progress.
func (s *responsesStream) start() {
	if s.started {
		return
	}
	s.started = true
	r := s.b.appendResponse(nil, "in_progress", []byte("[]"), nil, nil, "")
	s.event("response.created", member("response", r))
	s.event("response.in_progress", member("response", r))
}

// Feed converts chat chunks into events.
func (s *responsesStream) Feed(dst, chat []byte) []byte {
	s.out = dst
	s.ev.feed(chat, s.chunk)
	dst, s.out = s.out, nil
	return dst
}

// chunk converts one chat chunk.
func (s *responsesStream) chunk(data []byte) {
	if string(data) == "[DONE]" {
		return
	}
	c := gjson.ParseBytes(data)
	if c.Get("error").Exists() {
		return // the inner translator's Err; Finish ends the stream
	}
	s.start()
	choice := c.Get("choices.0")
	if !choice.Exists() {
		return // the usage chunk
	}
	d := choice.Get("delta")
	reasoning := d.Get("reasoning_content").Str
	if reasoning == "" {
		reasoning = d.Get("reasoning").Str
	}
	if reasoning != "" {
		s.reasoning(reasoning)
	}
	if t := d.Get("content").Str; t != "" {
		s.text(t, false)
	}
	if t := d.Get("refusal").Str; t != "" {
		s.text(t, true)
	}
	d.Get("tool_calls").ForEach(func(_, call gjson.Result) bool {
		s.toolCall(call)
		return true
	})
	if f := choice.Get("finish_reason"); f.Type == gjson.String {
		s.finish = f.Str
	}
}

// openItem adds an item and writes its output_item.added.
func (s *responsesStream) openItem(it outputItem) *outputItem {
	s.closeOpen()
	s.items = append(s.items, it)
	i := len(s.items) - 1
	if it.kind != 'f' {
		s.open = i
	}
	s.event("response.output_item.added", memberInt("output_index", i),
		member("item", s.b.appendItem(nil, &s.items[i], "in_progress")))
	return &s.items[i]
}

func (s *responsesStream) reasoning(t string) {
	if s.open < 0 || s.items[s.open].kind != 'r' {
		it := s.openItem(outputItem{kind: 'r', id: s.b.itemID("rs", len(s.items))})
		s.event("response.reasoning_summary_part.added", memberString("item_id", it.id),
			memberInt("output_index", s.open), memberInt("summary_index", 0),
			member("part", []byte(`{"type":"summary_text","text":""}`)))
	}
	it := &s.items[s.open]
	it.text = append(it.text, t...)
	s.event("response.reasoning_summary_text.delta", memberString("item_id", it.id),
		memberInt("output_index", s.open), memberInt("summary_index", 0), memberString("delta", t))
}

func (s *responsesStream) text(t string, refusal bool) {
	if s.open < 0 || s.items[s.open].kind != 'm' {
		it := s.openItem(outputItem{kind: 'm', id: s.b.itemID("msg", len(s.items))})
		part := []byte(`{"type":"output_text","text":"","annotations":[],"logprobs":[]}`)
		if refusal {
			part = []byte(`{"type":"refusal","refusal":""}`)
		}
		s.event("response.content_part.added", memberString("item_id", it.id),
			memberInt("output_index", s.open), memberInt("content_index", 0), member("part", part))
	}
	it := &s.items[s.open]
	if refusal {
		if len(it.refusal) == 0 && len(it.text) > 0 {
			// A refusal after text is the message's second part.
			s.event("response.content_part.added", memberString("item_id", it.id),
				memberInt("output_index", s.open), memberInt("content_index", 1),
				member("part", []byte(`{"type":"refusal","refusal":""}`)))
		}
		it.refusal = append(it.refusal, t...)
		s.event("response.refusal.delta", memberString("item_id", it.id),
			memberInt("output_index", s.open), memberInt("content_index", refusalIndex(it)), memberString("delta", t))
		return
	}
	it.text = append(it.text, t...)
	s.event("response.output_text.delta", memberString("item_id", it.id),
		memberInt("output_index", s.open), memberInt("content_index", 0), memberString("delta", t),
		member("logprobs", []byte("[]")))
}

func (s *responsesStream) toolCall(call gjson.Result) {
	index := int(call.Get("index").Int())
	i := -1
	for j := range s.items {
		if s.items[j].kind == 'f' && s.items[j].chatIndex == index {
			i = j
		}
	}
	if i < 0 || (call.Get("id").Str != "" && call.Get("id").Str != s.items[i].callID) {
		s.openItem(outputItem{kind: 'f', id: s.b.itemID("fc", len(s.items)), chatIndex: index,
			callID: call.Get("id").Str, name: call.Get("function.name").Str})
		i = len(s.items) - 1
	}
	it := &s.items[i]
	args := call.Get("function.arguments").Str
	if args == "" {
		return
	}
	it.text = append(it.text, args...)
	if !it.done {
		s.event("response.function_call_arguments.delta", memberString("item_id", it.id),
			memberInt("output_index", i), memberString("delta", args))
	}
}

// closeOpen writes the done events of every item still open.
func (s *responsesStream) closeOpen() {
	for i := range s.items {
		it := &s.items[i]
		if it.done {
			continue
		}
		it.done = true
		idx := memberInt("output_index", i)
		id := memberString("item_id", it.id)
		switch it.kind {
		case 'r':
			s.event("response.reasoning_summary_text.done", id, idx, memberInt("summary_index", 0),
				memberString("text", string(it.text)))
			s.event("response.reasoning_summary_part.done", id, idx, memberInt("summary_index", 0),
				member("part", append(append([]byte(`{"type":"summary_text","text":`), appendJSONString(nil, string(it.text))...), '}')))
		case 'm':
			if len(it.text) > 0 || len(it.refusal) == 0 {
				s.event("response.output_text.done", id, idx, memberInt("content_index", 0),
					memberString("text", string(it.text)), member("logprobs", []byte("[]")))
				s.event("response.content_part.done", id, idx, memberInt("content_index", 0),
					member("part", appendTextPart(nil, it.text)))
			}
			if len(it.refusal) > 0 {
				ri := memberInt("content_index", refusalIndex(it))
				s.event("response.refusal.done", id, idx, ri, memberString("refusal", string(it.refusal)))
				s.event("response.content_part.done", id, idx, ri,
					member("part", appendRefusalPart(nil, it.refusal)))
			}
		case 'f':
			_, name := s.b.unflatten(it.name)
			s.event("response.function_call_arguments.done", id, idx, memberString("name", name),
				memberString("arguments", string(it.text)))
		}
		s.event("response.output_item.done", idx, member("item", s.b.appendItem(nil, it, "completed")))
	}
	s.open = -1
}

// Finish closes the items and writes the response's last event:
// response.completed (or response.incomplete, when the chat answer was cut
// by its token limit or a content filter), or response.failed.
func (s *responsesStream) Finish(dst []byte, end StreamEnd) []byte {
	s.out = dst
	s.start()
	u := end.Usage
	if end.Failure != nil {
		status := "failed"
		for i := range s.items {
			s.items[i].done = true
		}
		errObj := append([]byte(`{"code":`), appendJSONString(nil, responsesErrorCode(end.Failure))...)
		errObj = append(append(errObj, `,"message":`...), appendJSONString(nil, failureMessage(end.Failure))...)
		errObj = append(errObj, '}')
		r := s.b.appendResponse(nil, status, s.b.appendOutput(nil, s.items, "incomplete"), &u, errObj, "")
		s.event("response.failed", member("response", r))
	} else {
		s.closeOpen()
		status, typ, incomplete := "completed", "response.completed", incompleteReason(s.finish)
		if incomplete != "" {
			status, typ = "incomplete", "response.incomplete"
		}
		r := s.b.appendResponse(nil, status, s.b.appendOutput(nil, s.items, "completed"), &u, nil, incomplete)
		s.event(typ, member("response", r))
	}
	dst, s.out = s.out, nil
	return dst
}

// responsesErrorCode is the Responses API's error code for a failure: the
// API allows only its own list, of which rate_limit_exceeded and
// server_error are what a vendor failure can be.
func responsesErrorCode(e *meter.VendorError) string {
	for _, s := range [...]string{e.Code, e.Type} {
		switch s {
		case "rate_limit_exceeded", "rate_limit_error", "RESOURCE_EXHAUSTED", "ThrottlingException":
			return "rate_limit_exceeded"
		}
	}
	return "server_error"
}

// failureMessage is a failure's message, with its code when it has one.
func failureMessage(e *meter.VendorError) string {
	msg := e.Message
	if msg == "" {
		msg = "the vendor reported an error"
	}
	if e.Code != "" && e.Code != "server_error" {
		msg = e.Code + ": " + msg
	}
	return msg
}

// Interface guards
var _ bridgeStream = (*responsesStream)(nil)
