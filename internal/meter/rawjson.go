package meter

import (
	"math/bits"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

// A tiny JSON walker that yields raw values.
//
// gjson unescapes every string it lands on, which allocates whenever the
// string holds an escape ("\n", "\u00e9", ...): that is most content deltas.
// Deciding whether a delta carries content only needs to know whether a
// string is empty, so choices, deltas and messages are walked with these
// functions instead, which never allocate and never unescape. They are lenient
// and stop quietly at the first malformed byte; they never panic.

// walkObject walks the members of the object that opens at s[i] (after any
// white space), calling member with each key, as written between its quotes,
// and the offset of its value. member reads or skips the value and returns
// the offset just past it, or -1 if it is malformed. walkObject returns the
// offset just past the object, or -1 if it is malformed or not an object.
// It lets member read a value in place, so that nested values are scanned
// once rather than once per level.
func walkObject(s string, i int, member func(key string, v int) int) int {
	i = skipSpace(s, i)
	if i >= len(s) || s[i] != '{' {
		return -1
	}
	if i = skipSpace(s, i+1); i < len(s) && s[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return -1
		}
		keyEnd := skipString(s, i)
		if keyEnd < 0 {
			return -1
		}
		key := s[i+1 : keyEnd-1]
		if i = skipSpace(s, keyEnd); i >= len(s) || s[i] != ':' {
			return -1
		}
		end := member(key, skipSpace(s, i+1))
		if end < 0 {
			return -1
		}
		var last bool
		if i, last = afterValue(s, end, '}'); last {
			return i
		}
	}
}

// walkArray is walkObject for the elements of the array that opens at s[i].
func walkArray(s string, i int, element func(v int) int) int {
	i = skipSpace(s, i)
	if i >= len(s) || s[i] != '[' {
		return -1
	}
	if i = skipSpace(s, i+1); i < len(s) && s[i] == ']' {
		return i + 1
	}
	for {
		end := element(i)
		if end < 0 {
			return -1
		}
		var last bool
		if i, last = afterValue(s, end, ']'); last {
			return i
		}
	}
}

// afterValue looks past a member or element that ends at end: at a ',' it
// returns where the next one starts; at closer, the offset past it, with last
// set; at anything else, -1 with last set.
func afterValue(s string, end int, closer byte) (next int, last bool) {
	i := skipSpace(s, end)
	switch {
	case i >= len(s):
		return -1, true
	case s[i] == ',':
		return skipSpace(s, i+1), false
	case s[i] == closer:
		return i + 1, true
	}
	return -1, true
}

// skipOr returns end, or, when a structured walk found the value at s[i]
// malformed (end < 0), where the lenient skipValue says it ends: the walk
// goes on past a value it could not read.
func skipOr(s string, i, end int) int {
	if end < 0 {
		return skipValue(s, i)
	}
	return end
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value starting at s[i], or
// -1 if there is none or it is truncated.
func skipValue(s string, i int) int {
	if i >= len(s) {
		return -1
	}
	switch s[i] {
	case '"':
		return skipString(s, i)
	case '{', '[':
		return skipNested(s, i)
	case ',', ':', '}', ']':
		return -1
	}
	// A number or a literal: it ends where the structure resumes.
	j := i
	for j < len(s) {
		switch s[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
		j++
	}
	return j
}

// skipString returns the index just past the string whose opening quote is
// s[i], or -1 if it is not closed. It looks eight bytes at a time for a quote
// or a backslash, with jsonwalk's lane arithmetic: most strings in a chunk
// are short keys and values, for which a call to strings.IndexByte per string
// cost more than the whole scan.
func skipString(s string, i int) int {
	j := i + 1
	for j+8 <= len(s) {
		if m := jsonwalk.QuoteOrBackslashLanes(load64(s, j)); m != 0 {
			j += bits.TrailingZeros64(m) >> 3
			if s[j] == '"' {
				return j + 1
			}
			j += 2 // a backslash and the byte it escapes
			continue
		}
		j += 8
	}
	for ; j < len(s); j++ {
		switch s[j] {
		case '"':
			return j + 1
		case '\\':
			j++
		}
	}
	return -1
}

// skipNested returns the index just past the object or array that opens at
// s[i], or -1 if it is not closed. It counts brackets of either kind, which is
// enough to find the end of well-formed JSON and harmless on anything else.
func skipNested(s string, i int) int {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '"':
			end := skipString(s, j)
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

// nonEmptyString reports whether raw is a JSON string with at least one
// character.
func nonEmptyString(raw string) bool {
	return len(raw) > 2 && raw[0] == '"'
}

// nonEmptyArray reports whether raw is a JSON array with at least one element.
func nonEmptyArray(raw string) bool {
	if len(raw) < 2 || raw[0] != '[' {
		return false
	}
	i := skipSpace(raw, 1)
	return i < len(raw) && raw[i] != ']'
}

// isObject reports whether raw is a JSON object.
func isObject(raw string) bool {
	return len(raw) > 0 && raw[0] == '{'
}

// stringBody returns the characters of the raw JSON string raw, still
// escaped, or "" if raw is not a string.
func stringBody(raw string) string {
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	return raw[1 : len(raw)-1]
}
