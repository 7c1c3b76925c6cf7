package vendors

import (
	"bytes"
	"fmt"
)

// sseHandler takes the events an sseReader reads.
type sseHandler interface {
	// sseEvent handles one event: its data lines joined by "\n", and its
	// name ("event:"), which may be empty. Neither may be kept.
	sseEvent(data, name []byte) error
	// sseOver reports that the stream said its last word: the rest of the
	// bytes are not read.
	sseOver() bool
}

// sseReader splits a server-sent event stream into events: "event:" and
// "data:" lines, LF, CRLF or CR line ends, comments, split anywhere across
// feeds, no line or event larger than max bytes. It reads Anthropic's
// streams (Messages, Claude on Vertex AI) for every translation that reads
// them.
type sseReader struct {
	max     int
	line    []byte // the unfinished line carried over from the last feed
	data    []byte // the current event's data lines, joined by "\n"
	name    []byte // the current event's name
	hasData bool
	skipLF  bool // the last feed ended in '\r': a '\n' first in the next one belongs to it
}

// feed reads the next bytes of the stream, handing h each event it completes.
func (r *sseReader) feed(p []byte, h sseHandler) error {
	if r.skipLF && len(p) > 0 {
		r.skipLF = false
		if p[0] == '\n' {
			p = p[1:]
		}
	}
	for len(p) > 0 {
		if h.sseOver() {
			return nil
		}
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			if len(r.line)+len(p) > r.max {
				return fmt.Errorf("%w: an SSE line is longer than %d bytes", errNativeStream, r.max)
			}
			r.line = append(r.line, p...)
			return nil
		}
		line := p[:i]
		if len(r.line) > 0 {
			r.line = append(r.line, line...)
			line = r.line
		}
		if p[i] == '\r' {
			if i+1 == len(p) {
				r.skipLF = true
			} else if p[i+1] == '\n' {
				i++
			}
		}
		p = p[i+1:]
		err := r.sseLine(line, h)
		r.line = r.line[:0]
		if err != nil {
			return err
		}
	}
	return nil
}

// sseLine handles one line without its end.
func (r *sseReader) sseLine(line []byte, h sseHandler) error {
	if len(line) == 0 {
		return r.dispatch(h)
	}
	if line[0] == ':' {
		return nil // comment
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
		if r.hasData {
			r.data = append(r.data, '\n')
		}
		if len(r.data)+len(value) > r.max {
			return fmt.Errorf("%w: an SSE event is larger than %d bytes", errNativeStream, r.max)
		}
		r.data = append(r.data, value...)
		r.hasData = true
	case "event":
		r.name = append(r.name[:0], value...)
	}
	return nil
}

// dispatch hands h the event collected so far (at a blank line).
func (r *sseReader) dispatch(h sseHandler) error {
	defer func() {
		r.data, r.name, r.hasData = r.data[:0], r.name[:0], false
	}()
	if !r.hasData {
		return nil
	}
	return h.sseEvent(r.data, r.name)
}

// end handles a last event that lacked its blank line.
func (r *sseReader) end(h sseHandler) error {
	if h.sseOver() {
		return nil
	}
	if len(r.line) > 0 {
		err := r.sseLine(r.line, h)
		r.line = r.line[:0]
		if err != nil {
			return err
		}
	}
	return r.dispatch(h)
}
