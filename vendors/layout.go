package vendors

import (
	"bytes"
	"fmt"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

// Span is a range of bytes in a request body: Body[Start:End].
type Span struct{ Start, End int }

// Layout locates what the OpenAI-compatible translation rewrites in a request
// body: the top-level "model" and "stream_options" values. The router finds
// them while it validates the body (see Observe), which spares every attempt
// a scan of a body that may hold a long conversation. A zero Layout makes the
// translation validate the body and find them itself (LayoutOf).
type Layout struct {
	// Known says the body was validated as a JSON object and the fields below
	// describe it.
	Known bool
	// Open is the offset of the object's '{'; Members counts its members.
	Open, Members int
	// Model and StreamOptions are the values of the first top-level member
	// of that name; ModelCount and StreamOptionsCount count the members of
	// that name (duplicates are valid JSON).
	Model, StreamOptions           Span
	ModelCount, StreamOptionsCount int
	// fields are the names of fieldSet (fields.go) among the members, and
	// otherFields says whether a member has another name: what the
	// sanitizers look for, known without a search of the body.
	fields      fieldSet
	otherFields bool
	// NoToolCalls is set by a caller that read every message and found no
	// "tool_calls" or "tool_call_id" member (the router's prompt estimate
	// reads them all). The tool call ids some kinds rewrite (sanitize.go)
	// are then not searched for; when it is not set, they are.
	NoToolCalls bool
}

// Observe records one top-level member, as jsonwalk.Object hands them out.
// The caller sets Known and Open once the whole body is valid.
func (l *Layout) Observe(m jsonwalk.Member) { l.ObserveNamed(m.Name(), m) }

// ObserveNamed is Observe for a caller that has m's unescaped key, name, at
// hand already.
func (l *Layout) ObserveNamed(name []byte, m jsonwalk.Member) {
	l.Members++
	l.note(name)
	span := Span{m.ValueEnd - len(m.Value), m.ValueEnd}
	switch string(name) {
	case "model":
		if l.ModelCount == 0 {
			l.Model = span
		}
		l.ModelCount++
	case "stream_options":
		if l.StreamOptionsCount == 0 {
			l.StreamOptions = span
		}
		l.StreamOptionsCount++
	}
}

// Appended records a member the caller added at the end of the body, whose
// value the layout need not locate: any name but "model" and
// "stream_options".
func (l *Layout) Appended(name string) {
	l.Members++
	l.note([]byte(name))
}

// LayoutOf validates body as a JSON object and returns its layout.
func LayoutOf(body []byte) (Layout, error) {
	var l Layout
	open, err := jsonwalk.Object(body, l.Observe)
	if err != nil {
		return Layout{}, fmt.Errorf("request body is not a valid JSON object: %w", err)
	}
	l.Known, l.Open = true, open
	return l, nil
}

// edit replaces body[at.Start:at.End] with with.
type edit struct {
	at   Span
	with []byte
}

// splice returns a new body with the edits applied, which must be in order
// and must not overlap. body itself is never modified.
func splice(body []byte, edits ...edit) []byte {
	n := len(body)
	for _, e := range edits {
		n += len(e.with) - (e.at.End - e.at.Start)
	}
	out := make([]byte, 0, n)
	last := 0
	for _, e := range edits {
		out = append(out, body[last:e.at.Start]...)
		out = append(out, e.with...)
		last = e.at.End
	}
	return append(out, body[last:]...)
}

// isJSONString tells whether raw is the JSON string s written without
// escapes. An escaped spelling counts as different, which only costs a
// rewrite.
func isJSONString(raw []byte, s string) bool {
	return len(raw) == len(s)+2 && raw[0] == '"' && string(raw[1:len(raw)-1]) == s &&
		bytes.IndexByte(raw, '\\') < 0
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
