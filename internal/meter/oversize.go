package meter

import "bytes"

// startOversize passes on ev, the beginning of an event longer than
// maxEvent, and switches s to passing the rest of that event straight through
// until its blank line. line is the part of ev's current line received so far.
func (s *Stream) startOversize(ev, line []byte) {
	s.out = append(s.out, ev...)
	s.countContent(len(ev))
	s.skipped = true
	s.oversize = true
	s.osCR = len(line) == 1 && line[0] == '\r'
	s.osLineStart = len(line) == 0 || s.osCR
}

// feedOversize passes p through while s is in an oversize event, and returns
// what follows the event's blank line, if it arrived.
func (s *Stream) feedOversize(p []byte) []byte {
	for len(p) > 0 {
		if s.osLineStart {
			// The current line is still "" or "\r": it may be the blank line.
			switch {
			case p[0] == '\n':
				s.out = append(s.out, p[0])
				s.oversize = false
				return p[1:]
			case p[0] == '\r' && !s.osCR:
				s.out = append(s.out, p[0])
				s.osCR = true
				p = p[1:]
				continue
			}
			s.osLineStart, s.osCR = false, false
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.out = append(s.out, p...)
			return nil
		}
		s.out = append(s.out, p[:i+1]...)
		p = p[i+1:]
		s.osLineStart, s.osCR = true, false
	}
	return nil
}

// oversizeTerminator is what End appends to end an oversize event that the
// vendor left unterminated.
func (s *Stream) oversizeTerminator() string {
	switch {
	case s.osLineStart && s.crlf && !s.osCR:
		return "\r\n"
	case s.osLineStart:
		return "\n"
	case s.crlf:
		return "\r\n\r\n"
	}
	return "\n\n"
}
