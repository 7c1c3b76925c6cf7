package jsonwalk

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strings"
	"unsafe"
)

// The lenient scanners (see the package doc): forgiving, allocation-free
// readers of JSON in place, on strings.

// WalkObject walks the members of the object that opens at s[i] (after any
// white space), calling member with each key, as written between its quotes
// (still escaped), and the offset of its value. member reads or skips the
// value and returns the offset just past it, or -1 if it is malformed.
// WalkObject returns the offset just past the object, or -1 if it is
// malformed or not an object.
//
// It lets member read a value in place, so that nested values are scanned
// once rather than once per level. It is lenient: it stops at the first
// member it cannot read, having handed out those before.
func WalkObject(s string, i int, member func(key string, v int) int) int {
	i, done := openContainer(s, i, '{', '}')
	if done {
		return i
	}
	return WalkMembers(s, i, member)
}

// WalkMembers is WalkObject from inside an object: from the member whose
// key's opening quote is s[i] to the object's end. It lets a reader that
// knows what an object's first members say start after them.
func WalkMembers(s string, i int, member func(key string, v int) int) int {
	for {
		if i >= len(s) || s[i] != '"' {
			return -1
		}
		keyEnd := SkipString(s, i)
		if keyEnd < 0 {
			return -1
		}
		key := s[i+1 : keyEnd-1]
		if i = SkipSpace(s, keyEnd); i >= len(s) || s[i] != ':' {
			return -1
		}
		end := member(key, SkipSpace(s, i+1))
		if end < 0 {
			return -1
		}
		var last bool
		if i, last = afterValue(s, end, '}'); last {
			return i
		}
	}
}

// Members calls member with the key (still escaped) and the whole value
// (its text, as SkipValue delimits it) of each member of the object s holds,
// for the callers that take every member's value as it is rather than
// reading into it. It stops at the first member it cannot read, as
// WalkObject does.
func Members(s string, member func(key, raw string)) {
	WalkObject(s, 0, func(key string, v int) int {
		end := SkipValue(s, v)
		if end >= 0 {
			member(key, s[v:end])
		}
		return end
	})
}

// WalkArray is WalkObject for the elements of the array that opens at s[i]:
// element gets the offset of each element and returns the offset just past
// it, or -1.
func WalkArray(s string, i int, element func(v int) int) int {
	i, done := openContainer(s, i, '[', ']')
	if done {
		return i
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

// openContainer looks at the container that opens with opener at s[i], after
// any white space: it returns where its first member or element starts; if it
// is empty, the offset past closer, with done set; if it is not there, -1
// with done set.
func openContainer(s string, i int, opener, closer byte) (first int, done bool) {
	i = SkipSpace(s, i)
	if i >= len(s) || s[i] != opener {
		return -1, true
	}
	if i = SkipSpace(s, i+1); i < len(s) && s[i] == closer {
		return i + 1, true
	}
	return i, false
}

// afterValue looks past a member or element that ends at end: at a ',' it
// returns where the next one starts; at closer, the offset past it, with last
// set; at anything else, -1 with last set.
func afterValue(s string, end int, closer byte) (next int, last bool) {
	i := SkipSpace(s, end)
	switch {
	case i >= len(s):
		return -1, true
	case s[i] == ',':
		return SkipSpace(s, i+1), false
	case s[i] == closer:
		return i + 1, true
	}
	return -1, true
}

// SkipOr returns end, or, when a structured walk (WalkObject, WalkArray)
// found the value at s[i] malformed (end < 0), where SkipValue says it
// ends. It lets a walk go on past a value it could not read, as a forgiving
// reader should, rather than give up on the whole document.
func SkipOr(s string, i, end int) int {
	if end < 0 {
		return SkipValue(s, i)
	}
	return end
}

// SkipValue returns the offset just past the value that starts at s[i], or
// -1 if it is not closed or there is none there. It is how the lenient
// scanners step over a value they do not read, and find a value's extent.
//
// It is forgiving: strings end at the first unescaped quote, whatever they
// hold; objects and arrays end where their brackets, of either kind, balance;
// anything else (a number, a literal, or garbage) runs to the next ',', '}',
// ']' or white space, and there is no value at one of those.
func SkipValue(s string, i int) int {
	return skipValueAt(s, i, nil, 0)
}

// skipValueAt is SkipValue, taking from idx, when not nil, the ends of the
// long strings it knows, in the value or nested in it, rather than scanning
// them; s is at offset base of the text idx indexes.
func skipValueAt(s string, i int, idx *StringIndex, base int) int {
	if i >= len(s) {
		return -1
	}
	switch s[i] {
	case '"':
		return skipStringAt(s, i, idx, base)
	case '{', '[':
		return skipNested(s, i, idx, base)
	}
	j := i
	for j < len(s) {
		switch s[j] {
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

// SkipString returns the offset just past the string whose opening quote is
// s[i], or -1 if it is not closed (or i is negative). Unlike the strict
// walker, it lets any byte, raw control characters included, stand in a
// string, and any byte follow a backslash.
//
// Most strings in a chunk or a request are short keys and values, for which
// a call to strings.IndexByte per string costs more than the whole scan: it
// looks at their first shortString bytes eight at a time for a quote or a
// backslash (the lane arithmetic of quoteOrBackslashLanes). The rest of a
// longer string (prompt text, tool-call arguments) is left to
// skipLongString, several times faster on long runs of text.
func SkipString(s string, i int) int {
	if i < 0 {
		return -1 // and load64 never reads before s
	}
	j := i + 1
	end := min(len(s), j+shortString)
	for j+8 <= end {
		if m := quoteOrBackslashLanes(load64(s, j)); m != 0 {
			j += bits.TrailingZeros64(m) >> 3
			if s[j] == '"' {
				return j + 1
			}
			j += 2 // a backslash and the byte it escapes
			continue
		}
		j += 8
	}
	if end < len(s) {
		return skipLongString(s, i, j)
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

// shortString is how many bytes of a string SkipString scans itself before
// it hands the rest to skipLongString. Measured on strings of 40 to 2040
// bytes, 48 is as fast as or faster than both the eight-byte scan alone and
// strings.IndexByte from the 16th byte (what the meter and the selector did
// before); 32 sends the meter's 38-byte chunk ids to IndexByte, and 64 is
// slower on every string longer than that.
const shortString = 48

// skipLongString is SkipString for the rest of the string that opens at s[i],
// from s[j] on. strings.IndexByte looks for quotes many bytes at a time and
// steps over escapes without stopping; a quote found closes the string unless
// an odd run of backslashes escapes it. That run may begin before j: only its
// length counts, and it begins after a byte that is not a backslash, the
// opening quote at worst.
func skipLongString(s string, i, j int) int {
	for j < len(s) {
		k := strings.IndexByte(s[j:], '"')
		if k < 0 {
			return -1
		}
		q := j + k
		n := 0
		for p := q - 1; p > i && s[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
	return -1
}

// load64 reads the eight bytes of s at i, little-endian. It does not check
// its bounds, as skipPlain does not: the caller's loop condition is
// i+8 <= len(s).
func load64(s string, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i)), 8))
}

// skipNested returns the offset just past the object or array that opens at
// s[i], or -1 if it is not closed. It counts brackets of either kind, which
// is enough to find the end of well-formed JSON and harmless on anything
// else. idx, when not nil, knows the ends of s's long strings, s being at
// offset base of the text it indexes.
func skipNested(s string, i int, idx *StringIndex, base int) int {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '"':
			end := skipStringAt(s, j, idx, base)
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

// KeyIs reports whether key, a member's key as the scanners hand it out
// (between its quotes, still escaped), is name once unescaped: a key spelled
// with escapes ("include\u005fusage") is the same key to a vendor's decoder.
// Only a key with a backslash is unescaped, into a copy.
func KeyIs(key, name string) bool {
	if strings.IndexByte(key, '\\') < 0 {
		return key == name
	}
	var unescaped string
	return json.Unmarshal([]byte(`"`+key+`"`), &unescaped) == nil && unescaped == name
}

// NonEmptyString reports whether raw, a value found by the lenient scanners,
// is a string with at least one character. Deciding whether a delta carries
// generated text needs no more, and no unescaping.
func NonEmptyString(raw string) bool {
	return len(raw) > 2 && raw[0] == '"'
}

// NonEmptyArray reports whether raw, a value found by the lenient scanners,
// is an array with at least one element, without reading the elements.
func NonEmptyArray(raw string) bool {
	if len(raw) < 2 || raw[0] != '[' {
		return false
	}
	i := SkipSpace(raw, 1)
	return i < len(raw) && raw[i] != ']'
}

// IsObject reports whether raw, a value found by the lenient scanners, is an
// object: it only looks at the first byte.
func IsObject(raw string) bool {
	return len(raw) > 0 && raw[0] == '{'
}

// Int returns raw, a value found by the scanners, as an integer when it is
// one written plainly: an optional minus sign and 1 to 18 digits, nothing
// else. Token counts, max_tokens and timestamps nearly always are; reading
// them here skips the float parsing that gjson.Parse does for every number.
// Anything else (a fraction, an exponent, a longer number, not a number)
// reports false, for the caller to read as before.
func Int(raw string) (int64, bool) {
	digits := raw
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(digits); i++ {
		d := digits[i] - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + int64(d)
	}
	if len(digits) < len(raw) {
		n = -n
	}
	return n, true
}

// StringBody returns the characters of raw, a string value found by the
// lenient scanners, between its quotes and still escaped, or "" if raw is not
// a string. It is for callers that compare or measure a string without
// unescaping it.
func StringBody(raw string) string {
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	return raw[1 : len(raw)-1]
}

// StringBytes approximates the decoded length in bytes of raw, a string value
// found by the lenient scanners (with its quotes), or 0 if it is not a
// string: one byte per character, an escape sequence counting as one byte
// less than its backslash and letter. It is for size estimates, which need
// no unescaping.
func StringBytes(raw string) int {
	body := StringBody(raw)
	return len(body) - strings.Count(body, `\`)
}
