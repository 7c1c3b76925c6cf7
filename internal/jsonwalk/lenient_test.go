package jsonwalk

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// collectMembers walks obj with WalkObject, skipping every value, and returns
// the members it saw and what WalkObject returned.
func collectMembers(obj string) ([][2]string, int) {
	var got [][2]string
	end := WalkObject(obj, 0, func(key string, v int) int {
		end := SkipValue(obj, v)
		if end >= 0 {
			got = append(got, [2]string{key, obj[v:end]})
		}
		return end
	})
	return got, end
}

func collectElements(arr string) ([]string, int) {
	var got []string
	end := WalkArray(arr, 0, func(v int) int {
		end := SkipValue(arr, v)
		if end >= 0 {
			got = append(got, arr[v:end])
		}
		return end
	})
	return got, end
}

func TestWalkObject(t *testing.T) {
	obj := ` { "a" : 1 , "b":"x\"}y\\" ,"c":{"d":[1,{"e":"]"}]},"e":[],"f":null,"g":true,"h":-1.5e3 } `
	got, end := collectMembers(obj)
	assert.Equal(t, [][2]string{
		{"a", "1"}, {"b", `"x\"}y\\"`}, {"c", `{"d":[1,{"e":"]"}]}`}, {"e", "[]"},
		{"f", "null"}, {"g", "true"}, {"h", "-1.5e3"},
	}, got)
	assert.Equal(t, len(obj)-1, end, "just past the closing brace")

	got, _ = collectMembers(`{"k\"q":1}`)
	assert.Equal(t, [][2]string{{`k\"q`, "1"}}, got, "keys stay escaped")
	got, end = collectMembers(`{ }`)
	assert.Empty(t, got)
	assert.Equal(t, 3, end)
	for _, notObject := range []string{`[1]`, ``, `null`} {
		got, end = collectMembers(notObject)
		assert.Empty(t, got, notObject)
		assert.Equal(t, -1, end, notObject)
	}

	// Malformed input: what could be read is handed out, and the walk says
	// it failed.
	for _, bad := range []string{`{"a"`, `{"a":`, `{"a":"x`, `{"a":{"b":1}`, `{"a" 1}`, `{a:1}`, `{"a":,}`, `{"a":1 "b":2}`, `{"a":1,`} {
		assert.NotPanics(t, func() { _, end = collectMembers(bad) }, bad)
		assert.Equal(t, -1, end, bad)
	}
	got, _ = collectMembers(`{"a":1 "b":2}`)
	assert.Equal(t, [][2]string{{"a", "1"}}, got)
}

func TestWalkArray(t *testing.T) {
	arr := ` [ {"a":[1]} ,"s",2,[] ] `
	got, end := collectElements(arr)
	assert.Equal(t, []string{`{"a":[1]}`, `"s"`, `2`, `[]`}, got)
	assert.Equal(t, len(arr)-1, end)
	for _, empty := range []string{`[]`, `[ ]`} {
		got, end = collectElements(empty)
		assert.Empty(t, got)
		assert.Equal(t, len(empty), end)
	}
	got, end = collectElements(`null`)
	assert.Empty(t, got)
	assert.Equal(t, -1, end)
	got, end = collectElements(`[1,`)
	assert.Equal(t, []string{"1"}, got)
	assert.Equal(t, -1, end)
	assert.NotPanics(t, func() { collectElements(`[{"a":"\`) })
}

// TestSkipString holds the cases of both scanners it replaced (the meter's
// and the selector's).
func TestSkipString(t *testing.T) {
	tests := map[string]int{
		`""`:          2,
		`"abc"x`:      5,
		`"a\"b"`:      6,
		`"a\\"b"`:     5,
		`"a\\\"b"`:    8,
		`"\\\\"`:      6,
		`"unclosed`:   -1,
		`"unclosed\"`: -1,
		`"open`:       -1,
		`"`:           -1,
		`"esc\"`:      -1,
		`"\u00e9"  `:  8,
	}
	for in, want := range tests {
		assert.Equal(t, want, SkipString(in, 0), "%q", in)
	}
	assert.Equal(t, -1, SkipString(`"abcdefghijklmnopqrstuvwxyz"`, -9), "a negative offset reads nothing")
}

// skipStringReference is SkipString byte by byte.
func skipStringReference(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '"':
			return j + 1
		case '\\':
			j++
		}
	}
	return -1
}

// The eight-bytes-at-a-time scan agrees with the byte-by-byte one wherever
// quotes and backslashes fall in the lanes, in long and short strings.
func TestSkipStringLanes(t *testing.T) {
	alphabet := []string{"a", `"`, `\`, "\x00", "\xff", "\u00e9"}
	for length := range 20 {
		for pos := range length {
			for _, c := range alphabet {
				for _, d := range alphabet {
					b := []byte(`"` + strings.Repeat("x", length) + `"`)
					b[1+pos] = c[0]
					if pos+2 < len(b)-1 {
						b[2+pos] = d[0]
					}
					in := string(b) + "tail"
					assert.Equal(t, skipStringReference(in, 0), SkipString(in, 0), "%q", in)
					assert.Equal(t, skipStringReference(in[:len(in)-5], 0), SkipString(in[:len(in)-5], 0), "%q", in[:len(in)-5])
				}
			}
		}
	}
}

// Strings longer than shortString go over to skipLongString part way:
// escaped and unescaped quotes, and runs of backslashes that straddle the
// switch, at every position around it and past it.
func TestSkipStringLong(t *testing.T) {
	for length := shortString - 10; length < 2*shortString+10; length++ {
		for pos := range length {
			for _, ins := range []string{`"`, `\"`, `\\"`, `\\\"`, `\\`, `\`, "\x00"} {
				inner := []byte(strings.Repeat("x", length))
				copy(inner[pos:], ins)
				for _, tail := range []string{`"tail`, `\"`, ``} {
					in := `"` + string(inner) + tail
					assert.Equal(t, skipStringReference(in, 0), SkipString(in, 0), "%q", in)
				}
			}
		}
	}
}

func FuzzSkipString(f *testing.F) {
	f.Add(`"abc\"def\\"x`)
	f.Add(`"0123456789abcdef\"`)
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" {
			return
		}
		if got, want := SkipString(s, 0), skipStringReference(s, 0); got != want {
			t.Fatalf("SkipString(%q) = %d, want %d", s, got, want)
		}
	})
}

func TestSkipValue(t *testing.T) {
	assert.Equal(t, -1, SkipValue("", 0))
	assert.Equal(t, -1, SkipValue("}", 0))
	assert.Equal(t, 4, SkipValue("true,", 0))
	assert.Equal(t, 3, SkipValue("123", 0))
	assert.Equal(t, -1, SkipValue(`{"a":[}`, 0), "brackets of either kind count")
	assert.Equal(t, -1, SkipValue(`[1,2`, 0))
}

// The meter's and the selector's scanners disagreed on a value that starts
// with ':'. SkipValue reads it as the selector did, as garbage running to
// the next delimiter, as it reads any other garbage; it finds no value at a
// delimiter or at white space.
func TestSkipValueGarbage(t *testing.T) {
	assert.Equal(t, 2, SkipValue(":x,", 0))
	assert.Equal(t, 2, SkipValue("x1]", 0))
	assert.Equal(t, -1, SkipValue(" 1", 0))
	assert.Equal(t, -1, SkipValue(",", 0))
}

func TestRawPredicates(t *testing.T) {
	assert.True(t, NonEmptyString(`"x"`))
	assert.False(t, NonEmptyString(`""`))
	assert.False(t, NonEmptyString(`null`))
	assert.False(t, NonEmptyString(`[1]`))

	assert.True(t, NonEmptyArray(`[1]`))
	assert.True(t, NonEmptyArray(`[ {} ]`))
	assert.False(t, NonEmptyArray(`[ ]`))
	assert.False(t, NonEmptyArray(`[`))
	assert.False(t, NonEmptyArray(`null`))

	assert.True(t, IsObject(`{}`))
	assert.False(t, IsObject(`null`))
	assert.False(t, IsObject(``))

	assert.Equal(t, `a\nb`, StringBody(`"a\nb"`))
	assert.Empty(t, StringBody(`null`))
	assert.Empty(t, StringBody(`"`))
}

// KeyIs compares a key as the scanners hand it out (still escaped) with a
// name, unescaping only keys that have escapes.
func TestKeyIs(t *testing.T) {
	assert.True(t, KeyIs(`include_usage`, "include_usage"))
	assert.True(t, KeyIs(`include\u005fusage`, "include_usage"))
	assert.True(t, KeyIs(`a\"b`, `a"b`))
	assert.False(t, KeyIs(`include_usage2`, "include_usage"))
	assert.False(t, KeyIs(`include\u005Fusag`, "include_usage"))
	assert.False(t, KeyIs(`bad\x`, `bad\x`), "an invalid escape is no key")
	assert.Zero(t, testing.AllocsPerRun(100, func() { KeyIs("include_usage", "include_usage") }))
}

func TestStringBytes(t *testing.T) {
	assert.Equal(t, 0, StringBytes(`""`))
	assert.Equal(t, 5, StringBytes(`"hello"`))
	assert.Equal(t, 3, StringBytes(`"a\nb"`))
	assert.Equal(t, len(`{"a":"b"}`), StringBytes(`"{\"a\":\"b\"}"`))
	assert.Equal(t, 0, StringBytes(`12`))
	assert.Equal(t, 0, StringBytes(""))
}

func TestMembers(t *testing.T) {
	var got []string
	Members(` {"a": 1, "b" : {"c":[2,"}"]}, "d\"e":"x"} `, func(key, raw string) { got = append(got, key+"="+raw) })
	assert.Equal(t, []string{`a=1`, `b={"c":[2,"}"]}`, `d\"e="x"`}, got)
	got = nil
	Members(`{"a":1, b:2, "c":3}`, func(key, raw string) { got = append(got, key+"="+raw) })
	assert.Equal(t, []string{`a=1`}, got, "it stops at the member it cannot read")
	Members(`[1]`, func(string, string) { t.Fatal("not an object") })
}

func TestInt(t *testing.T) {
	for raw, want := range map[string]int64{
		"0": 0, "-0": 0, "7": 7, "64": 64, "-45": -45, "1700000000": 1700000000,
		"999999999999999999": 999999999999999999, "-999999999999999999": -999999999999999999,
		"007": 7, // not valid JSON, but the digits are plain; what a lenient reader would make of them
	} {
		got, ok := Int(raw)
		assert.True(t, ok, raw)
		assert.Equal(t, want, got, raw)
	}
	for _, raw := range []string{"", "-", "--1", "+1", "1.5", "1e3", "1E3", "-1.0", " 1", "1 ", "1,", `"1"`,
		"null", "true", "[1]", "1000000000000000000", "-1000000000000000000", "0x10", "1_000"} {
		_, ok := Int(raw)
		assert.False(t, ok, raw)
	}
}
