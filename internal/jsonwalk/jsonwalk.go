// Package jsonwalk is the router's JSON toolkit: a strict validator for the
// bodies it must vouch for, and lenient scanners that read a few members of
// JSON in place. Both read the text where it is, without copying it.
//
// # The validator
//
// Valid, ValidString and Object validate JSON in a single pass, fast and
// with a bounded nesting depth; Object hands the caller the top-level members
// of an object as it goes. They exist because every request body is validated
// before it is routed, and gjson.ValidBytes, which checks strings one byte at
// a time, was the largest single cost of a request with a long prompt. It
// also recurses without a limit, so a 16 MiB body of "[" overflowed the
// goroutine stack and killed the process. This package checks strings eight
// bytes at a time (32 at a time with AVX2, in assembly, once a run of text
// is longer than 32 bytes) and refuses nesting deeper than MaxDepth.
//
// The validator accepts exactly RFC 8259 JSON, as encoding/json.Valid does (a
// fuzz test compares them). Like encoding/json, it does not check that
// strings are valid UTF-8.
//
// ObjectIndexed also records where each member's long strings end
// (StringIndex), so that a lenient Iter reading the member just validated
// (IndexedIter) steps over them instead of scanning them again: a prompt's
// text is then read once, for validation and estimate alike.
//
// # The lenient scanners
//
// WalkObject, WalkArray, Iter, SkipValue, SkipString and the predicates on
// raw values (NonEmptyString, NonEmptyArray, IsObject, StringBody,
// StringBytes) find where values are in JSON that was not validated, or need
// not be validated again, and hand them out raw: still escaped, as substrings
// of the text. They exist for two hot paths that read a few members of JSON
// they do not own: every event of a vendor's stream (internal/meter) and
// every request's prompt estimate (selector). gjson unescapes each string it
// lands on, which allocates whenever the string holds an escape ("\n",
// "\u00e9", the quoted JSON of tool-call arguments): that is most content
// deltas and most prompts. Telling an empty string from a non-empty one, or
// finding where a value ends, needs none of that.
//
// Unlike the validator they are forgiving, by design: they accept what it
// refuses (raw control characters in strings, any escape, numbers and
// literals of any spelling, brackets of the wrong kind) and, on malformed
// input, stop quietly or skip ahead, with -1 where there is no value. They
// never panic and never loop. They work on strings; a caller holding bytes
// reads them through an unsafe string view that does not outlive the bytes.
package jsonwalk

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
	"unsafe"
)

// MaxDepth is how deeply arrays and objects may nest. No API request comes
// close (OpenAI's structured outputs allow 10 levels of schema nesting); the
// limit keeps recursive parsers further down the line within their stacks.
const MaxDepth = 1000

// SyntaxError describes why a text is not valid JSON.
type SyntaxError struct {
	Offset int // the byte where the problem was found
	msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s at byte %d", e.msg, e.Offset) }

// Member is one top-level member of an object. Key and Value are raw JSON
// slices of the text: Key with its quotes and escapes as written, Value
// without surrounding white space.
type Member struct {
	Key, Value []byte
	// KeyStart is the offset of the key's opening quote, ValueEnd the offset
	// just past the value.
	KeyStart, ValueEnd int
}

// Name is the member's key unescaped: a view of the text when it has no
// escapes, a copy when it has. A key spelled with escapes ("mod\u0065l") is
// the same key to a vendor's decoder, so it must be to the router too.
func (m Member) Name() []byte {
	raw := m.Key[1 : len(m.Key)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw
	}
	var key string
	if json.Unmarshal(m.Key, &key) != nil {
		return raw // not reached for a validated key
	}
	return []byte(key)
}

// Valid reports whether b is one valid JSON value, surrounded by optional
// white space, nested at most MaxDepth deep.
func Valid(b []byte) bool {
	w := walker{b: b}
	i, err := w.value(SkipSpace(b, 0), 0)
	return err == nil && SkipSpace(b, i) == len(b)
}

// ValidString is Valid for a string, without copying it.
func ValidString(s string) bool {
	return Valid(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// View returns b as a string without copying it, for the lenient scanners
// and gjson (gjson.GetBytes copies its input to be safe). The string aliases
// b: neither it nor any substring of it (a Member's key, a gjson.Result's Raw
// or Str) may be kept after b is next written to, and the router's buffers
// are pooled. Use strings.Clone for anything stored.
func View(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// Object checks that b is one valid JSON object, surrounded by optional white
// space, and calls visit, unless nil, for each of its members in order. When
// b is not valid, Object returns a *SyntaxError, possibly after visiting the
// members before the problem. open is the offset of the object's '{'.
func Object(b []byte, visit func(Member)) (open int, err error) {
	return object(b, nil, visit)
}

// object is Object, and ObjectIndexed when index is not nil.
func object(b []byte, index *StringIndex, visit func(Member)) (open int, err error) {
	w := walker{b: b, index: index}
	open = SkipSpace(b, 0)
	if open >= len(b) || b[open] != '{' {
		return open, w.fail(open, "expected a JSON object")
	}
	i, err := w.object(open, 1, visit)
	if err != nil {
		return open, err
	}
	if i = SkipSpace(b, i); i != len(b) {
		return open, w.fail(i, "unexpected data after the JSON object")
	}
	return open, nil
}

type walker struct {
	b []byte
	// index, when not nil, records the long strings of each top-level
	// member (ObjectIndexed).
	index *StringIndex
}

func (w *walker) fail(i int, msg string) error {
	if i >= len(w.b) {
		return &SyntaxError{Offset: len(w.b), msg: "unexpected end of JSON input"}
	}
	return &SyntaxError{Offset: i, msg: msg}
}

// value checks the value at b[i] (no leading white space) and returns the
// offset just past it. depth is the nesting of the enclosing container.
func (w *walker) value(i, depth int) (int, error) {
	b := w.b
	if i >= len(b) {
		return i, w.fail(i, "")
	}
	switch c := b[i]; {
	case c == '"':
		return w.str(i)
	case c == '{':
		return w.object(i, depth+1, nil)
	case c == '[':
		return w.array(i, depth+1)
	case c == '-' || c >= '0' && c <= '9':
		return w.number(i)
	case c == 't':
		return w.literal(i, "true")
	case c == 'f':
		return w.literal(i, "false")
	case c == 'n':
		return w.literal(i, "null")
	default:
		return i, w.fail(i, fmt.Sprintf("invalid character %q looking for a value", c))
	}
}

func (w *walker) object(i, depth int, visit func(Member)) (int, error) {
	if depth > MaxDepth {
		return i, w.fail(i, fmt.Sprintf("nested more than %d levels deep", MaxDepth))
	}
	b := w.b
	i = SkipSpace(b, i+1) // past '{'
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, w.fail(i, "expected a string key")
		}
		keyStart := i
		keyEnd, err := w.str(i)
		if err != nil {
			return keyEnd, err
		}
		i = SkipSpace(b, keyEnd)
		if i >= len(b) || b[i] != ':' {
			return i, w.fail(i, "expected ':' after an object key")
		}
		valueStart := SkipSpace(b, i+1)
		if visit != nil && w.index != nil {
			w.index.reset() // for this member's strings only
		}
		valueEnd, err := w.value(valueStart, depth)
		if err != nil {
			return valueEnd, err
		}
		if visit != nil {
			visit(Member{Key: b[keyStart:keyEnd], Value: b[valueStart:valueEnd], KeyStart: keyStart, ValueEnd: valueEnd})
		}
		i = SkipSpace(b, valueEnd)
		if i < len(b) && b[i] == ',' {
			i = SkipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return i + 1, nil
		}
		return i, w.fail(i, "expected ',' or '}' after an object member")
	}
}

func (w *walker) array(i, depth int) (int, error) {
	if depth > MaxDepth {
		return i, w.fail(i, fmt.Sprintf("nested more than %d levels deep", MaxDepth))
	}
	b := w.b
	i = SkipSpace(b, i+1) // past '['
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		end, err := w.value(i, depth)
		if err != nil {
			return end, err
		}
		i = SkipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = SkipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == ']' {
			return i + 1, nil
		}
		return i, w.fail(i, "expected ',' or ']' after an array element")
	}
}

// SWAR constants: a byte repeated in every lane of a uint64.
const (
	lanes01 = 0x0101010101010101
	lanes80 = 0x8080808080808080
)

// str checks the string whose opening quote is b[i] and returns the offset
// past its closing quote. Runs of plain characters are skipped eight bytes
// at a time: a lane is interesting if it holds '"', '\\' or a control
// character, and (x - 0x01..) &^ x & 0x80.. flags the zero lanes of x, whose
// lowest flag is always exact (a borrow only moves up).
func (w *walker) str(i int) (int, error) {
	b := w.b
	start := i
	backslashes := 0 // for the index
	i++              // past the opening quote
	for {
		// Most strings are keys and short values, which end within their
		// first eight bytes: one look at those, inlined, before the loop.
		if i+8 <= len(b) {
			if m := special(binary.LittleEndian.Uint64(b[i : i+8])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
			} else {
				i = skipPlain(b, i+8)
			}
		} else {
			i = skipPlain(b, i)
		}
		if i >= len(b) {
			return i, w.fail(i, "")
		}
		switch c := b[i]; {
		case c == '"':
			if w.index != nil {
				w.index.add(start, i+1, backslashes)
			}
			return i + 1, nil
		case c == '\\':
			n, err := w.escape(i)
			if err != nil {
				return n, err
			}
			backslashes++
			if b[i+1] == '\\' {
				backslashes++ // an escaped backslash is two
			}
			i = n
		case c < 0x20:
			return i, w.fail(i, "control character in a string")
		default:
			i++ // one of the last few bytes, fewer than eight
		}
	}
}

// skipPlain returns the offset of the first byte at or after i that is '"',
// '\\' or a control character, or a position among the last seven bytes of
// b from which the caller goes on byte by byte. Prompts are mostly long runs
// of plain text, so this loop is where validation spends its time: it reads
// 32 and then 16 bytes per round, with unchecked loads (the loop conditions
// bound them). Where the CPU has AVX2, a run still plain after its first 32
// bytes goes on in indexSpecialAVX2, a tenth of the instructions per byte:
// the 32 KiB prompt's validation was most of what it cost the router.
func skipPlain(b []byte, i int) int {
	p := unsafe.Pointer(unsafe.SliceData(b))
	n := len(b)
	for i+32 <= n {
		a := special(binary.LittleEndian.Uint64(unsafe.Slice((*byte)(unsafe.Add(p, i)), 8)))
		b := special(binary.LittleEndian.Uint64(unsafe.Slice((*byte)(unsafe.Add(p, i+8)), 8)))
		if a|b != 0 {
			if a != 0 {
				return i + bits.TrailingZeros64(a)>>3
			}
			return i + 8 + bits.TrailingZeros64(b)>>3
		}
		c := special(binary.LittleEndian.Uint64(unsafe.Slice((*byte)(unsafe.Add(p, i+16)), 8)))
		d := special(binary.LittleEndian.Uint64(unsafe.Slice((*byte)(unsafe.Add(p, i+24)), 8)))
		if c|d != 0 {
			if c != 0 {
				return i + 16 + bits.TrailingZeros64(c)>>3
			}
			return i + 24 + bits.TrailingZeros64(d)>>3
		}
		i += 32
		if useAVX2 && i+32 <= n {
			blocks := (n - i) &^ 31
			r := indexSpecialAVX2((*byte)(unsafe.Add(p, i)), n-i)
			i += r
			if r < blocks {
				return i
			}
		}
	}
	for i+16 <= n {
		lo := special(binary.LittleEndian.Uint64(unsafe.Slice((*byte)(unsafe.Add(p, i)), 8)))
		hi := special(binary.LittleEndian.Uint64(unsafe.Slice((*byte)(unsafe.Add(p, i+8)), 8)))
		if lo|hi != 0 {
			if lo != 0 {
				return i + bits.TrailingZeros64(lo)>>3
			}
			return i + 8 + bits.TrailingZeros64(hi)>>3
		}
		i += 16
	}
	for i+8 <= n {
		if flags := special(binary.LittleEndian.Uint64(b[i : i+8])); flags != 0 {
			return i + bits.TrailingZeros64(flags)>>3
		}
		i += 8
	}
	return i
}

// quoteOrBackslashLanes flags the bytes of v, eight read little-endian, that
// are '"' or '\\': where a string ends or escapes, for SkipString, which
// tolerates raw control characters. The lowest flag is exact; flags above it
// may not be. It is special without the control test, which costs such a
// scanner a tenth of its time.
func quoteOrBackslashLanes(v uint64) uint64 {
	quote := v ^ (lanes01 * '"')
	slash := v ^ (lanes01 * '\\')
	return ((quote - lanes01) | (slash - lanes01)) &^ v & lanes80
}

// special flags the lanes of v that hold '"', '\\' or a control character.
func special(v uint64) uint64 {
	quote := v ^ (lanes01 * '"')
	slash := v ^ (lanes01 * '\\')
	// A lane is flagged when subtracting 1 from quote or slash, or 0x20
	// from v, borrows into its top bit while that bit was clear. The top
	// bits of quote and slash are v's ('"' and '\\' are ASCII), so one &^ v
	// stands for the three.
	return ((quote - lanes01) | (slash - lanes01) | (v - lanes01*0x20)) &^ v & lanes80
}

// escape checks the escape sequence at b[i] == '\\' and returns the offset
// past it.
func (w *walker) escape(i int) (int, error) {
	b := w.b
	if i+1 >= len(b) {
		return i + 1, w.fail(i+1, "")
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 2, nil
	case 'u':
		for j := i + 2; j < i+6; j++ {
			if j >= len(b) {
				return j, w.fail(j, "")
			}
			if !isHex(b[j]) {
				return j, w.fail(j, "invalid \\u escape in a string")
			}
		}
		return i + 6, nil
	default:
		return i + 1, w.fail(i+1, "invalid escape in a string")
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// number checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at b[i].
func (w *walker) number(i int) (int, error) {
	b := w.b
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return i, w.fail(i, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return j, w.fail(j, "invalid number: no digit after the decimal point")
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return j, w.fail(j, "invalid number: no digit in the exponent")
		}
		i = j
	}
	return i, nil
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

func (w *walker) literal(i int, lit string) (int, error) {
	b := w.b
	for j := range len(lit) {
		if i+j >= len(b) {
			return i + j, w.fail(i+j, "")
		}
		if b[i+j] != lit[j] {
			return i + j, w.fail(i+j, "invalid literal, expected "+lit)
		}
	}
	return i + len(lit), nil
}

// SkipSpace returns the offset of the first byte at or after i that is not
// JSON white space. It is the one white-space skipper of both halves: the
// strict walker reads bytes and the lenient scanners strings, hence the type
// parameter.
func SkipSpace[T ~string | ~[]byte](b T, i int) int {
	// Most calls land on a token: compact JSON has no white space at all.
	// That case is one comparison, inlined into the caller.
	if i < len(b) && b[i] > ' ' {
		return i
	}
	return skipSpaceLoop(b, i)
}

func skipSpaceLoop[T ~string | ~[]byte](b T, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}
