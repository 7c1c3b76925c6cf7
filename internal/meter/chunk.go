package meter

import "github.com/tidwall/gjson"

// handlePayload reads the data of one event and reports whether the event
// goes on to the client. hasData is whether the event had data lines at all;
// errorEvent whether it was named "error".
func (s *Stream) handlePayload(payload []byte, hasData, errorEvent bool) bool {
	switch {
	case !hasData:
		// Comments, keep-alive blank lines, lone id: or retry: lines. An
		// `event: error` without data is still the vendor saying it failed.
		if errorEvent {
			s.setErr(&VendorError{Type: "error", Message: "vendor sent an empty error event"})
		}
		return true
	case errorEvent:
		e, _ := errorValue(view(payload))
		s.setErr(parseVendorError(view(payload), e))
		return true
	case string(payload) == "[DONE]":
		if !s.done {
			s.done = true
			s.synthesizeUsage()
		}
		return true
	case len(payload) == 0 || payload[0] != '{':
		return true // not a chunk: pass it on untouched
	}
	return s.handleChunk(view(payload))
}

// members are the raw top-level members of a chunk (or of a complete
// response) that this package reads; "" when absent.
type members struct {
	id, object, created, model string
	choices, usage, err        string
	data                       string // embeddings
}

// topLevel reads a chunk's members in one pass with the raw walker. Asking
// gjson.Get for "choices", then "usage", then "error" would scan the chunk up
// to three times (usage comes last), and gjson would unescape strings on the
// way; the members found are small and read with gjson afterwards.
func topLevel(js string) members {
	var m members
	for key, v := range fields(js) {
		switch key {
		case "id":
			m.id = v
		case "object":
			m.object = v
		case "created":
			m.created = v
		case "model":
			m.model = v
		case "choices":
			m.choices = v
		case "usage":
			m.usage = v
		case "error":
			m.err = v
		case "data":
			m.data = v
		}
	}
	return m
}

// handleChunk reads one JSON chunk, js, a view of the vendor's bytes valid
// only during the call, and reports whether it goes on to the client.
func (s *Stream) handleChunk(js string) bool {
	m := topLevel(js)
	if m.err != "" && m.err != "null" {
		s.setErr(parseVendorError(js, gjson.Parse(m.err)))
		return true
	}
	if !s.metaSeen {
		s.captureMeta(&m)
	}
	hasUsage := isObject(m.usage)
	if hasUsage {
		readUsage(gjson.Parse(m.usage), &s.usage)
		s.usageSeen = true
	}

	content, n := false, 0
	for choice := range elements(m.choices) {
		c := inspectChoice(choice)
		if c.content {
			content = true
			n += c.bytes
		}
		if c.finish != "" && c.finish != s.finish {
			s.finish = internFinish(c.finish)
		}
	}
	if content {
		s.countContent(n)
	}

	if hasUsage && !nonEmptyArray(m.choices) {
		// A usage-only chunk: OpenAI's last chunk with stream_options.
		if !s.opts.ClientWantsUsage {
			return false // asked for only to meter
		}
		s.usageOnlyPassed = true
	}
	return true
}

// setErr records e unless an earlier error was recorded.
func (s *Stream) setErr(e *VendorError) {
	if s.err == nil {
		s.err = e
	}
}

// captureMeta copies the identity of the stream's chunks, for a synthesized
// usage chunk. Azure's first chunk (prompt_filter_results) has an empty id,
// so the first chunk with a non-empty one is used.
func (s *Stream) captureMeta(m *members) {
	if !nonEmptyString(m.id) {
		return
	}
	s.metaSeen = true
	s.id = append(s.id[:0], m.id...)
	if nonEmptyString(m.object) {
		s.object = append(s.object[:0], m.object...)
	}
	if gjson.Parse(m.created).Type == gjson.Number {
		s.created = append(s.created[:0], m.created...)
	}
	if len(m.model) > 0 && m.model[0] == '"' {
		s.mdl = append(s.mdl[:0], m.model...)
	}
}
