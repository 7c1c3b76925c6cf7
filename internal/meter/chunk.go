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
		e, _ := errorValue(jsonwalk.View(payload))
		s.setErr(parseVendorError(jsonwalk.View(payload), e))
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
	return s.handleChunk(jsonwalk.View(payload))
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
	m, _ := readMembers(js, -1)
	return m
}

// choicesKey is how a compact chunk's "choices" member starts.
const choicesKey = `"choices":`

// readMembers is topLevel, from the member whose key starts at js[from]
// when from is not negative. It also returns where the first "choices"
// key starts when it is written compactly and nothing before it was an
// error, a usage or embeddings data (so that the members before it say
// nothing but the chunk's identity), and -1 otherwise.
func readMembers(js string, from int) (members, int) {
	var m members
	choicesAt := -1
	visit := func(key string, v int) int {
		if key == "choices" {
			if choicesAt < 0 && !m.choices.present && m.usage == "" && m.err == "" && m.data == "" &&
				v >= len(choicesKey) && js[v-len(choicesKey):v] == choicesKey {
				choicesAt = v - len(choicesKey)
			}
			return m.choices.read(js, v)
		}
		end := jsonwalk.SkipValue(js, v)
		if end >= 0 {
			m.set(key, js[v:end])
		}
		return end
	}
	if from < 0 {
		jsonwalk.WalkObject(js, 0, visit)
	} else {
		jsonwalk.WalkMembers(js, from, visit)
	}
	return m, choicesAt
}

// chunkMembers reads a stream chunk's members (topLevel). The chunks of one
// stream mostly start with the same bytes: OpenAI's repeat the id, object,
// created, model, service tier and system fingerprint, byte for byte, before
// "choices", about half of each chunk's members. Once the stream's identity
// is captured those members tell the meter nothing, so a chunk that starts
// with exactly the bytes the previous one had before its "choices" is read
// from its "choices" on. Any difference, a member that matters before
// "choices" (an error, a usage), or JSON that is not compact, and the chunk is
// read whole. It returns, for a chunk read whole, where its "choices" key
// starts if the bytes before it may be known (readMembers), and -1 otherwise;
// handleChunk keeps them once the stream's identity is captured.
func (s *Stream) chunkMembers(js string) (members, int) {
	if n := len(s.known); n > 0 && !s.readWhole && len(js) > n && js[:n] == string(s.known) {
		m, _ := readMembers(js, n)
		return m, -1
	}
	s.known = s.known[:0]
	return readMembers(js, -1)
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
	if text, ok := s.matchTemplate(js); ok {
		// What the whole reading below would conclude, as the template's
		// chunk said nothing else.
		if s.onChunk != nil {
			s.onChunk(js)
		}
		if jsonwalk.NonEmptyString(text) {
			s.countContent(len(text) - 2)
		}
		return true
	}
	m, choicesAt := s.chunkMembers(js)
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
	if choicesAt > 0 && s.metaSeen {
		s.known = append(s.known[:0], js[:choicesAt]...)
	}
	hasUsage := jsonwalk.IsObject(m.usage)
	if m.choices.onlyText && !hasUsage && s.metaSeen { // onlyText: the one choice said only its text
		s.setTemplate(js, m.choices.textAt, m.choices.textEnd)
	}
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

// setTemplate keeps what js, a chunk that said nothing but its one choice's
// content string at js[at:end], has around that string. It is called once
// the stream's identity is captured, and for a chunk that is not an error
// and has no usage: then the chunk told the meter nothing but that string,
// and any chunk with the same bytes around another string tells it nothing
// but that other string.
//
// Most chunks of a stream are such chunks, byte for byte the same but for
// the text (OpenAI's: the identity, `"choices":[{"index":0,"delta":{"content":`
// before, `},"logprobs":null,"finish_reason":null}]}` after). Matching the
// bytes around the text costs a comparison and the text's own scan, where
// reading the chunk's members cost ten times that.
func (s *Stream) setTemplate(js string, at, end int) {
	if s.readWhole || at == 0 {
		return
	}
	s.template = append(append(s.template[:0], js[:at]...), js[end:]...)
	s.templateAt = at
}

// matchTemplate reports whether js is the template's bytes around one
// string, and returns that string, quotes included. The string must end
// exactly where the template's tail begins, as the lenient reader would find
// it (jsonwalk.SkipString): then the chunk reads as the template's did, but
// for that string.
func (s *Stream) matchTemplate(js string) (string, bool) {
	at := s.templateAt
	if at == 0 || len(js) < len(s.template)+2 || js[:at] != string(s.template[:at]) {
		return "", false
	}
	end := len(js) - (len(s.template) - at)
	if js[at] != '"' || js[end:] != string(s.template[at:]) || jsonwalk.SkipString(js, at) != end {
		return "", false
	}
	return js[at:end], true
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
	if _, ok := jsonwalk.Int(m.created); ok || gjson.Parse(m.created).Type == gjson.Number {
		s.created = append(s.created[:0], m.created...)
	}
	if len(m.model) > 0 && m.model[0] == '"' {
		s.mdl = append(s.mdl[:0], m.model...)
	}
}
