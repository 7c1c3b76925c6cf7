package vendors

import (
	"bytes"
	"fmt"
	"unsafe"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

// Span is a range of bytes in a request body: Body[Start:End].
type Span struct{ Start, End int }

// Layout locates what Prepare rewrites in an OpenAI-shaped request body: the
// top-level "model" and "stream_options" values. The router finds them while
// it validates the body (see Observe), which spares every attempt a scan of a
// body that may hold a long conversation. A zero Layout makes Prepare
// validate the body and find them itself (LayoutOf).
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
}

// Observe records one top-level member, as jsonwalk.Object hands them out.
// The caller sets Known and Open once the whole body is valid.
func (l *Layout) Observe(m jsonwalk.Member) { l.ObserveNamed(m.Name(), m) }

// ObserveNamed is Observe for a caller that has m's unescaped key, name, at
// hand already.
func (l *Layout) ObserveNamed(name []byte, m jsonwalk.Member) {
	l.Members++
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

// shapeOpenAIBody returns the body an OpenAI-compatible attempt sends: the
// client's with "model" set to a.Model and, for a stream, stream_options
// adjusted to the kind (see withStreamUsage). When nothing changes, it is the
// client's body itself, not a copy; otherwise it is a new slice built with one
// copy. The client's body, which the next attempt reuses, is never touched.
func (v *Vendor) shapeOpenAIBody(a Attempt) ([]byte, error) {
	l := a.Layout
	if !l.Known {
		var err error
		if l, err = LayoutOf(a.Body); err != nil {
			return nil, err
		}
	}
	var ins []byte // members inserted after '{', each followed by a comma
	var edits [3]edit
	n := 0
	switch {
	case l.ModelCount == 0:
		ins = append(appendJSONString(append(ins, `"model":`...), a.Model), ',')
	case l.ModelCount > 1:
		return v.slowOpenAIBody(a) // normalised to one "model", see withModel
	case !isJSONString(a.Body[l.Model.Start:l.Model.End], a.Model):
		edits[n] = edit{at: l.Model, with: appendJSONString(nil, a.Model)}
		n++
	}
	if a.Stream {
		switch v.kind.streamUsage {
		case usageRequested:
			opts := a.Body[l.StreamOptions.Start:l.StreamOptions.End]
			switch {
			case l.StreamOptionsCount == 0:
				ins = append(ins, `"stream_options":{"include_usage":true},`...)
			case l.StreamOptionsCount > 1 || !gjson.ParseBytes(opts).IsObject():
				return v.slowOpenAIBody(a)
			case gjson.Get(unsafe.String(unsafe.SliceData(opts), len(opts)), "include_usage").Type != gjson.True:
				updated, err := sjson.SetBytes(opts, "include_usage", true)
				if err != nil {
					return nil, fmt.Errorf("setting stream_options.include_usage: %w", err)
				}
				edits[n] = edit{at: l.StreamOptions, with: updated}
				n++
			}
		case usageRejected:
			if l.StreamOptionsCount > 0 {
				return v.slowOpenAIBody(a)
			}
		}
	}
	if ins != nil {
		if l.Members == 0 {
			ins = ins[:len(ins)-1]
		}
		// Every member starts after '{', so the insertion comes first.
		copy(edits[1:], edits[:n])
		edits[0] = edit{at: Span{l.Open + 1, l.Open + 1}, with: ins}
		n++
	}
	if n == 2 && edits[1].at.Start < edits[0].at.Start {
		edits[0], edits[1] = edits[1], edits[0]
	}
	if n == 0 {
		return a.Body, nil
	}
	return splice(a.Body, edits[:n]...), nil
}

// slowOpenAIBody is shapeOpenAIBody for the bodies its splicing does not
// cover (duplicate members, a stream_options to remove): whole-body sjson
// rewrites.
func (v *Vendor) slowOpenAIBody(a Attempt) ([]byte, error) {
	body, err := withModel(a.Body, a.Model)
	if err == nil && a.Stream {
		body, err = v.withStreamUsage(body)
	}
	return body, err
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
