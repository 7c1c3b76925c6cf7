package meter

import (
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

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

// members are the top-level members of a chunk (or of a complete response)
// that this package reads: raw, "" when absent, except choices, which are
// read on the way.
type members struct {
	id, object, created, model string
	usage, err                 string
	data                       string // embeddings
	choices                    choices
}

// topLevel reads a chunk's members in one pass with jsonwalk.WalkObject, and
// its choices in the same pass. Asking gjson.Get for "choices", then "usage",
// then "error" would scan the chunk up to three times (usage comes last), and
// gjson would unescape strings on the way; the members kept are small and
// read with gjson afterwards.
func topLevel(js string) members {
	var m members
	jsonwalk.WalkObject(js, 0, func(key string, v int) int {
		if key == "choices" {
			return m.choices.read(js, v)
		}
		end := jsonwalk.SkipValue(js, v)
		if end >= 0 {
			m.set(key, js[v:end])
		}
		return end
	})
	return m
}

// set records the raw value of a member other than choices.
func (m *members) set(key, raw string) {
	switch key {
	case "id":
		m.id = raw
	case "object":
		m.object = raw
	case "created":
		m.created = raw
	case "model":
		m.model = raw
	case "usage":
		m.usage = raw
	case "error":
		m.err = raw
	case "data":
		m.data = raw
	}
}

// handleChunk reads one JSON chunk, js, a view of the vendor's bytes valid
// only during the call, and reports whether it goes on to the client.
func (s *Stream) handleChunk(js string) bool {
	m := topLevel(js)
	if m.err != "" && m.err != "null" {
		s.setErr(parseVendorError(js, gjson.Parse(m.err)))
		return true
	}
	if s.onChunk != nil {
		s.onChunk(js)
	}
	if !s.metaSeen {
		s.captureMeta(&m)
	}
	hasUsage := jsonwalk.IsObject(m.usage)
	if hasUsage {
		readUsage(m.usage, &s.usage)
		s.usageSeen = true
	}
	if m.choices.content {
		s.countContent(m.choices.bytes)
	}
	if f := m.choices.lastFinish; f != "" && f != s.finish {
		s.finish = internFinish(f)
	}

	if hasUsage && m.choices.count == 0 {
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
	if !jsonwalk.NonEmptyString(m.id) {
		return
	}
	s.metaSeen = true
	s.id = append(s.id[:0], m.id...)
	if jsonwalk.NonEmptyString(m.object) {
		s.object = append(s.object[:0], m.object...)
	}
	if gjson.Parse(m.created).Type == gjson.Number {
		s.created = append(s.created[:0], m.created...)
	}
	if len(m.model) > 0 && m.model[0] == '"' {
		s.mdl = append(s.mdl[:0], m.model...)
	}
}
