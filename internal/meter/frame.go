package meter

import "bytes"

// maxEvent bounds the bytes of one event the Stream keeps to inspect. A
// longer event (a vendor sending a multi-megabyte tool call in one chunk, or
// never ending a line) is passed through as it arrives and counted as content
// without being parsed, so that memory stays bounded. It is far above what
// real chunks need, including 1 MiB tool arguments.
const maxEvent = 8 << 20

// process hands every complete event in buf to handleEvent and returns the
// length of the prefix of buf they fill. s.lineStart and s.searchFrom are
// relative to buf, on entry and on return.
func (s *Stream) process(buf []byte) int {
	start := 0 // of the current event
	for {
		i := bytes.IndexByte(buf[s.searchFrom:], '\n')
		if i < 0 {
			s.searchFrom = len(buf)
			break
		}
		nl := s.searchFrom + i
		// The usual event, "data: {...}\n\n": one data line, at the start
		// of the event, and the blank line right after it. Handled here, it
		// costs neither a search for the blank line nor handleEvent's check
		// that the data line is the only one (it holds no '\n': nl is the
		// first since the line started).
		if end := nl + 2; s.lineStart == start && end <= len(buf) && buf[nl+1] == '\n' &&
			nl-start >= 5 && string(buf[start:start+5]) == "data:" && end-start <= maxEvent {
			s.lineStart, s.searchFrom = end, end
			s.handleDataEvent(buf[start:end])
			start = end
			continue
		}
		line := buf[s.lineStart:nl]
		s.lineStart, s.searchFrom = nl+1, nl+1
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			s.handleEvent(buf[start : nl+1])
			start = nl + 1
		}
	}
	if len(buf)-start > maxEvent {
		s.startOversize(buf[start:], buf[s.lineStart:])
		start = len(buf)
		s.lineStart, s.searchFrom = start, start
	}
	return start
}

// handleEvent handles one complete event, ev, which ends with its blank line.
func (s *Stream) handleEvent(ev []byte) {
	if len(ev) > maxEvent {
		// Treated like an event that outgrew maxEvent while it arrived, so
		// that the result does not depend on how the vendor's bytes were split.
		s.out = append(s.out, ev...)
		s.countContent(len(ev))
		s.skipped = true
		return
	}
	// The usual event, "data: {...}\n\n": one data line and the blank line,
	// read without splitting it into lines and fields.
	if n := len(ev); n >= 7 && ev[n-1] == '\n' && ev[n-2] == '\n' && string(ev[:5]) == "data:" &&
		bytes.IndexByte(ev[5:n-2], '\n') < 0 {
		s.handleDataEvent(ev)
		return
	}
	if bytes.HasSuffix(ev, []byte("\r\n\r\n")) {
		s.crlf = true
	} else if bytes.HasSuffix(ev, []byte("\n\n")) {
		s.crlf = false
	}

	var (
		data       []byte // the payload: the data lines joined by "\n"
		dataLines  int
		errorEvent bool // "event: error"
	)
	for rest := ev; len(rest) > 0; {
		var line []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			line, rest = rest, nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 || line[0] == ':' {
			continue // the blank line, or a comment
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			switch dataLines {
			case 0:
				data = value // a view of ev: the usual single data line
			case 1:
				s.scratch = append(append(append(s.scratch[:0], data...), '\n'), value...)
				data = s.scratch
			default:
				s.scratch = append(append(s.scratch, '\n'), value...)
				data = s.scratch
			}
			dataLines++
		case "event":
			errorEvent = string(value) == "error"
		}
	}

	if s.handlePayload(bytes.TrimSpace(data), dataLines > 0, errorEvent) {
		s.out = append(s.out, ev...)
	}
}

// handleDataEvent handles ev, an event of one "data:" line ended by "\n" and
// the blank line "\n" (ev ends with "\n\n" and holds no other '\n'), at
// most maxEvent bytes.
func (s *Stream) handleDataEvent(ev []byte) {
	s.crlf = false
	value := ev[5 : len(ev)-2]
	value = bytes.TrimSuffix(value, []byte("\r"))
	if len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	// A chunk is an object, with nothing around it to trim.
	if len(value) == 0 || value[0] != '{' || value[len(value)-1] != '}' {
		value = bytes.TrimSpace(value)
	}
	if s.handlePayload(value, true, false) {
		s.out = append(s.out, ev...)
	}
}

// terminator returns what End appends to the unterminated event pending so
// that it ends with a blank line, in the line-ending style of the stream.
func terminator(pending []byte, crlf bool) string {
	tail := pending[bytes.LastIndexByte(pending, '\n')+1:]
	switch {
	case len(tail) == 1 && tail[0] == '\r':
		return "\n" // only the blank line's "\n" is missing
	case len(tail) == 0:
		// The last line is complete (and not blank, or the event would
		// have ended): add a blank line in the same style.
		if bytes.HasSuffix(pending, []byte("\r\n")) {
			return "\r\n"
		}
		return "\n"
	case tail[len(tail)-1] == '\r':
		return "\n\r\n"
	case crlf:
		return "\r\n\r\n"
	}
	return "\n\n"
}
