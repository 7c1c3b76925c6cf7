package selector

import (
	"bytes"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

// This file is a minimal, forgiving JSON scanner used only to estimate
// prompt sizes. It exists because gjson cannot do that job without
// allocating: GetBytes copies the matched value, and every string value that
// holds an escape (a "\n" in a message, the quoted JSON of tool-call
// arguments) is unescaped into a new string. The estimator only needs the raw
// extent of values, which this scanner finds without copying anything.
//
// It does not validate: on malformed input it stops early or skips ahead,
// but it never panics and never loops, so garbage yields a small estimate.

// jsonIter walks the members of a JSON object or the elements of a JSON
// array in a single pass. After next, the current value is pending: the
// caller may take it whole with value, walk into it with enter, or ignore it,
// in which case next skips it. Walking into values rather than first finding
// their end is what keeps the scan to one pass however deep the text sits.
type jsonIter struct {
	b []byte
	// i is the next byte to look at; while a value is pending, its start.
	i       int
	obj     bool
	pending bool
	// keyStart and keyEnd delimit the current member's key, see key. They
	// are indexes rather than a slice because storing a slice of b through
	// the receiver would make escape analysis move every iterator, and the
	// parents they point to, to the heap.
	keyStart, keyEnd int
	// parent, for an iterator made by enter, resumes after this container
	// once the iteration reaches its closing bracket.
	parent *jsonIter
}

// newJSONIter returns an iterator over raw, which should hold a JSON object
// or array (leading white space allowed). Anything else yields nothing.
func newJSONIter(raw []byte) jsonIter {
	return startIter(raw, skipSpace(raw, 0), nil)
}

// startIter returns an iterator over the container that starts at b[i].
func startIter(b []byte, i int, parent *jsonIter) jsonIter {
	it := jsonIter{b: b, i: len(b), parent: parent}
	if i < len(b) && (b[i] == '{' || b[i] == '[') {
		it.obj = b[i] == '{'
		it.i = i + 1
	}
	return it
}

// next advances to the next member or element and reports whether there is
// one.
func (it *jsonIter) next() bool {
	b := it.b
	if it.pending {
		it.pending = false
		end := valueEnd(b, it.i)
		if end < 0 {
			return it.stop()
		}
		it.i = end
	}
	for {
		i := skipSpace(b, it.i)
		if i >= len(b) {
			return it.stop()
		}
		switch b[i] {
		case ',':
			it.i = i + 1
			continue
		case '}', ']':
			// Brackets are not matched: a "]" ends an object too, which is
			// all an estimate needs.
			if p := it.parent; p != nil && p.pending {
				p.i = i + 1
				p.pending = false
			}
			return it.stop()
		}
		if it.obj {
			if b[i] != '"' {
				return it.stop()
			}
			end := stringEnd(b, i)
			if end < 0 {
				return it.stop()
			}
			it.keyStart, it.keyEnd = i+1, end-1
			i = skipSpace(b, end)
			if i >= len(b) || b[i] != ':' {
				return it.stop()
			}
			i = skipSpace(b, i+1)
			if i >= len(b) {
				return it.stop()
			}
		}
		it.i = i
		it.pending = true
		return true
	}
}

// stop ends the iteration for good. An iterator that stops on malformed
// input leaves its parent's value pending, so the parent skips it.
func (it *jsonIter) stop() bool {
	it.i = len(it.b)
	it.keyStart, it.keyEnd = 0, 0
	it.pending, it.parent = false, nil
	return false
}

// key returns the raw key of the current member, without its quotes;
// empty for array elements. Escapes are left as they are: the keys looked
// up here have none.
func (it *jsonIter) key() []byte {
	return it.b[it.keyStart:it.keyEnd]
}

// peek returns the first byte of the pending value ('"', '{', '[', a digit
// ...), or 0 if there is none.
func (it *jsonIter) peek() byte {
	if !it.pending {
		return 0
	}
	return it.b[it.i]
}

// value consumes the pending value and returns it raw: a string with its
// quotes, a whole object or array, or a scalar. It returns nil if there is
// no pending value or it is malformed.
func (it *jsonIter) value() []byte {
	if !it.pending {
		return nil
	}
	it.pending = false
	end := valueEnd(it.b, it.i)
	if end < 0 {
		it.stop()
		return nil
	}
	v := it.b[it.i:end]
	it.i = end
	return v
}

// enter returns an iterator over the pending value's members or elements;
// nothing if it is not an object or array. Iterating it to its end consumes
// the value; abandoning it leaves the value pending, to be skipped.
func (it *jsonIter) enter() jsonIter {
	if !it.pending {
		return jsonIter{}
	}
	return startIter(it.b, it.i, it)
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int { return jsonwalk.SkipSpace(b, i) }

// valueEnd returns the index just past the JSON value that starts at b[i],
// or -1 if it is unterminated or there is no value there.
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		// Brackets are counted, not matched, as in jsonIter.next.
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := stringEnd(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	// A number, true, false, null, or garbage: it runs to the next delimiter.
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if j == i {
				return -1
			}
			return j
		}
		j++
	}
	return j
}

// stringEnd returns the index just past the closing quote of the JSON string
// whose opening quote is b[i], or -1 if it is unterminated.
func stringEnd(b []byte, i int) int {
	j := i + 1
	// Most strings in a request are short keys and values, for which a
	// plain loop beats a call into the vectorised IndexByte below; long ones
	// (the prompt text) are left to it.
	for end := min(j+shortString, len(b)); j < end; j++ {
		switch b[j] {
		case '"':
			return j + 1
		case '\\':
			j++ // the escaped byte cannot end the string
		}
	}
	for j < len(b) {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		q := j + k
		// The quote closes the string unless an odd run of backslashes
		// escapes it.
		n := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
	return -1
}

// backslash is a package variable so that counting it cannot allocate.
var backslash = []byte{'\\'}

// shortString is how many bytes stringEnd scans one at a time before
// switching to IndexByte.
const shortString = 16

// isString reports whether raw is a JSON string value (with its quotes).
func isString(raw []byte) bool {
	return len(raw) >= 2 && raw[0] == '"'
}

// stringBytes approximates the decoded length in bytes of the raw JSON
// string raw (with its quotes): one byte per character, an escape sequence
// counting as one byte less than its backslash and letter.
func stringBytes(raw []byte) int {
	if !isString(raw) {
		return 0
	}
	inner := raw[1 : len(raw)-1]
	return len(inner) - bytes.Count(inner, backslash)
}
