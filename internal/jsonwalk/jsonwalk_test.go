package jsonwalk

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// validCases and invalidCases cover every production of the grammar, and
// strings whose special bytes sit at every position of an 8-byte lane.
var validCases = []string{
	`{}`, ` { } `, "\t\r\n{}\n", `{"a":1}`, `{"a":[]}`, `{"a":[1,2,3]}`, `{"a":{"b":{"c":null}}}`,
	`{"":""}`, `{"a":"\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00"}`, `{"a":-0}`, `{"a":0.5}`, `{"a":-1.25e+10}`,
	`{"a":1E-3}`, `{"a":123456789012345678901234567890}`, `{"a":true,"b":false,"c":null}`,
	`{"a" : [ 1 , { } , [ ] , "x" ] }`, `{"a":"héllo wörld ☃ 😀"}`, `{"a":"` + strings.Repeat("x", 1000) + `"}`,
	`{"a":1,"a":2}`, // duplicate keys are valid JSON
}

var invalidCases = []string{
	``, ` `, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":1 "b":2}`, `{a:1}`, `{'a':1}`,
	`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":+1}`, `{"a":-}`, `{"a":0x10}`, `{"a":NaN}`,
	`{"a":tru}`, `{"a":nul}`, `{"a":True}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12g4"}`,
	"{\"a\":\"line\nbreak\"}", "{\"a\":\"tab\there\"}", `{"a":"unterminated}`, `{"a":[1,2}`, `{"a":[1,2,]}`,
	`{"a":1}}`, `{"a":1} x`, `{"a":1}{}`, `[]`, `"str"`, `1`, `null`, "{\"a\":\"\x00\"}",
	`{"a":"\`, `{"a":"\u`, `{"a":[`, `{"a":{`, `{"a"`, `{"a":`, `{"a":t`,
}

func TestObjectAcceptsValidJSON(t *testing.T) {
	for _, c := range validCases {
		_, err := Object([]byte(c), nil)
		assert.NoError(t, err, "%q", c)
		assert.True(t, Valid([]byte(c)), "%q", c)
		require.True(t, json.Valid([]byte(c)), "the case itself must be valid: %q", c)
	}
}

func TestObjectRejectsInvalidJSON(t *testing.T) {
	for _, c := range invalidCases {
		_, err := Object([]byte(c), nil)
		var se *SyntaxError
		assert.True(t, errors.As(err, &se), "%q: %v", c, err)
		if se != nil {
			assert.LessOrEqual(t, se.Offset, len(c), "%q", c)
			assert.NotEmpty(t, se.Error())
		}
	}
}

// Every special byte at every lane position of the 8-, 16- and 32-byte
// steps, and just before the end.
func TestStringLanes(t *testing.T) {
	for pad := range 70 {
		p := strings.Repeat("x", pad)
		for _, s := range []struct {
			inner string
			ok    bool
		}{
			{p + `\"` + p, true}, {p + `\\` + p, true}, {p + `\n`, true}, {p + `\u0041` + p, true},
			{p + "\x1f" + p, false}, {p + "\x00", false}, {p + `\q`, false}, {p + "\x7f\x80\xff" + p, true},
		} {
			doc := `{"k":"` + s.inner + `"}`
			_, err := Object([]byte(doc), nil)
			assert.Equal(t, s.ok, err == nil, "%q: %v", doc, err)
			assert.Equal(t, json.Valid([]byte(doc)), err == nil, "%q", doc)
		}
	}
}

func TestObjectVisitsTopLevelMembers(t *testing.T) {
	doc := []byte(` {"model" : "gpt-4o", "messages":[{"model":"inner"}], "n":2 ,"o":{"a":{"b":1}}}  `)
	var got []Member
	open, err := Object(doc, func(m Member) { got = append(got, m) })
	require.NoError(t, err)
	assert.Equal(t, 1, open)
	require.Len(t, got, 4)
	assert.Equal(t, []string{`"model"`, `"messages"`, `"n"`, `"o"`},
		[]string{string(got[0].Key), string(got[1].Key), string(got[2].Key), string(got[3].Key)})
	assert.Equal(t, `"gpt-4o"`, string(got[0].Value))
	assert.Equal(t, `[{"model":"inner"}]`, string(got[1].Value))
	assert.Equal(t, `2`, string(got[2].Value))
	assert.Equal(t, `{"a":{"b":1}}`, string(got[3].Value))
	for _, m := range got {
		assert.Equal(t, m.Key, doc[m.KeyStart:m.KeyStart+len(m.Key)])
		assert.Equal(t, m.Value, doc[m.ValueEnd-len(m.Value):m.ValueEnd])
	}
}

// A body nested deeper than MaxDepth is refused instead of overflowing the
// stack, which gjson.ValidBytes does with a body of a few MiB of "[".
func TestDepthIsBounded(t *testing.T) {
	atLimit := `{"a":` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + `}`
	_, err := Object([]byte(atLimit), nil)
	assert.NoError(t, err)

	over := `{"a":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`
	_, err = Object([]byte(over), nil)
	assert.ErrorContains(t, err, "nested more than")

	huge := append([]byte(`{"a":`), bytes.Repeat([]byte("["), 16<<20)...)
	_, err = Object(huge, nil)
	assert.ErrorContains(t, err, "nested more than")
	assert.False(t, Valid(huge[5:]))
	assert.False(t, Valid(bytes.Repeat([]byte(`{"a":`), 1<<20)))
}

// FuzzObject compares Object and Valid with encoding/json.Valid and checks
// the members it hands out.
func FuzzObject(f *testing.F) {
	for _, c := range append(validCases, invalidCases...) {
		f.Add([]byte(c))
	}
	f.Add([]byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi\nthere \u00e9"}],"stream":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		want := json.Valid(b)
		ok := Valid(b)
		var members []Member
		_, err := Object(b, func(m Member) { members = append(members, m) })
		var se *SyntaxError
		if errors.As(err, &se) && strings.Contains(se.msg, "nested more than") {
			return // encoding/json allows 10000 levels
		}
		if ok != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", b, ok, want)
		}
		isObject := want && bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{"))
		if (err == nil) != isObject {
			t.Fatalf("Object(%q) = %v, want valid object %v", b, err, isObject)
		}
		if err != nil {
			return
		}
		n := 0
		gjson.ParseBytes(b).ForEach(func(k, v gjson.Result) bool {
			if n >= len(members) {
				t.Fatalf("%q: gjson sees more members than %d", b, len(members))
			}
			m := members[n]
			if got := gjson.ParseBytes(m.Key).String(); got != k.String() {
				t.Fatalf("%q: member %d key %q, gjson %q", b, n, got, k.String())
			}
			if string(m.Value) != v.Raw {
				t.Fatalf("%q: member %d value %q, gjson %q", b, n, m.Value, v.Raw)
			}
			n++
			return true
		})
		if n != len(members) {
			t.Fatalf("%q: %d members, gjson sees %d", b, len(members), n)
		}
	})
}

// BenchmarkObject validates a 32 KiB chat body: "escapes" has a paragraph
// break every 170 bytes, "plain" runs of 1.7 KB without escapes, like the
// load benchmark's large prompts.
func BenchmarkObject(b *testing.B) {
	for _, c := range []struct{ name, sep string }{{"escapes", `\n\n`}, {"plain", ` `}} {
		b.Run(c.name, func(b *testing.B) { benchmarkObject(b, c.sep) })
	}
}

func benchmarkObject(b *testing.B, sep string) {
	para := `In the operations review the team walked through last quarter's incidents, the latency budget of every ` +
		`service on the request path, and the cost of each vendor.` + sep
	var doc strings.Builder
	doc.WriteString(`{"model":"gpt-4o","stream":true,"messages":[`)
	for i := 0; doc.Len() < 32<<10; i++ {
		if i > 0 {
			doc.WriteByte(',')
		}
		doc.WriteString(`{"role":"user","content":"` + strings.Repeat(para, 6) + `"}`)
	}
	doc.WriteString(`]}`)
	body := []byte(doc.String())
	b.Run("jsonwalk", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Object(body, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gjson", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			gjson.ValidBytes(body)
		}
	})
}

// special's (and quoteOrBackslashLanes') lowest flag is exactly the first
// byte that is '"', '\\' or a control character (only '"' or '\\'), for
// every byte value in every lane, after any prefix.
func TestSpecialLowestLane(t *testing.T) {
	for name, c := range map[string]struct {
		lanes     func(uint64) uint64
		isSpecial func(byte) bool
	}{
		"special":          {special, func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 }},
		"quote, backslash": {quoteOrBackslashLanes, func(c byte) bool { return c == '"' || c == '\\' }},
	} {
		checkLowestLane(t, name, c.lanes, c.isSpecial)
	}
}

func checkLowestLane(t *testing.T, name string, lanes func(uint64) uint64, isSpecial func(byte) bool) {
	t.Helper()
	fillers := []byte{'a', ' ', '!', '#', '[', ']', 0x7f, 0x80, 0xc3, 0xff, 0x01}
	for lane := range 8 {
		for c := range 256 {
			for _, fill := range fillers {
				var w [8]byte
				for i := range w {
					w[i] = fill
				}
				w[lane] = byte(c)
				want := -1
				for i, b := range w {
					if isSpecial(b) {
						want = i
						break
					}
				}
				got := -1
				if f := lanes(binary.LittleEndian.Uint64(w[:])); f != 0 {
					got = bits.TrailingZeros64(f) >> 3
				}
				if got != want {
					t.Fatalf("%s: % x: first flagged lane %d, want %d", name, w, got, want)
				}
			}
		}
	}
}

// skipPlain finds the first special byte wherever it sits in a long run,
// whatever the byte, with the AVX2 scan and without it: every byte value at
// every offset of runs that cross the 32-byte blocks and end mid-block.
func TestSkipPlainLongRuns(t *testing.T) {
	reference := func(b []byte, i int) int {
		for ; i < len(b); i++ {
			if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
				return i
			}
		}
		return len(b)
	}
	// skipPlain may also stop among the last seven bytes, before any special
	// one: the caller then goes on byte by byte.
	check := func(t *testing.T, b []byte, start int) {
		t.Helper()
		got, want := skipPlain(b, start), reference(b, start)
		if got != want && (got > want || got < len(b)-7) {
			t.Fatalf("skipPlain(%d-byte run from %d) = %d, want %d", len(b), start, got, want)
		}
	}
	scans := map[string]bool{"go": false}
	if useAVX2 {
		scans["avx2"] = true
	}
	for name, avx2 := range scans {
		t.Run(name, func(t *testing.T) {
			if !avx2 {
				saved := useAVX2
				defer func() { setAVX2(saved) }()
				setAVX2(false)
			}
			for _, n := range []int{31, 32, 63, 64, 65, 95, 96, 97, 130, 257} {
				for _, start := range []int{0, 1, 7} {
					plain := bytes.Repeat([]byte{'a'}, n)
					check(t, plain, start)
					for pos := start; pos < n; pos++ {
						for _, c := range []byte{'"', '\\', 0x00, 0x1f, 0x20, 0x7f, 0x80, 0xff} {
							b := append([]byte(nil), plain...)
							b[pos] = c
							check(t, b, start)
						}
					}
				}
			}
		})
	}
}

func TestView(t *testing.T) {
	assert.Equal(t, "", View(nil))
	b := []byte("abc")
	v := View(b)
	assert.Equal(t, "abc", v)
	b[0] = 'x'
	assert.Equal(t, "xbc", v, "a view, not a copy")
}
