package selector

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// members collects what a jsonIter yields, as "key=value" strings (values
// alone for arrays).
func members(raw string) []string {
	var out []string
	it := newJSONIter([]byte(raw))
	for it.next() {
		v := it.value()
		if v == nil {
			break
		}
		if it.obj {
			out = append(out, string(it.key())+"="+string(v))
		} else {
			out = append(out, string(v))
		}
	}
	return out
}

func TestJSONIterObject(t *testing.T) {
	got := members(` { "a" : 1 , "b":"x\"}" ,"c":{"d":[1,{"e":"]"}]}, "f":[] ,"g":null}`)
	assert.Equal(t, []string{`a=1`, `b="x\"}"`, `c={"d":[1,{"e":"]"}]}`, `f=[]`, `g=null`}, got)
}

func TestJSONIterArray(t *testing.T) {
	assert.Equal(t, []string{`1`, `"two"`, `[3]`, `{"4":4}`, `-5e3`, `true`}, members(`[1,"two",[3],{"4":4},-5e3,true]`))
	assert.Empty(t, members(`[]`))
	assert.Empty(t, members(`{}`))
}

func TestJSONIterNotAContainer(t *testing.T) {
	for _, raw := range []string{``, `   `, `"str"`, `12`, `null`, `x`} {
		assert.Empty(t, members(raw), "%q", raw)
	}
}

func TestJSONIterStopsOnMalformed(t *testing.T) {
	cases := map[string][]string{
		`{"a":1,"b"}`:        {`a=1`},
		`{"a":1,b:2}`:        {`a=1`},
		`{"a":"unterminated`: nil,
		`{"a":[1,2`:          nil,
		`{"a":1,"b":`:        {`a=1`},
		`{"a`:                nil,
		`[1,2`:               {`1`, `2`},
		`[:]`:                {`:`},
	}
	for raw, want := range cases {
		assert.Equal(t, want, members(raw), "%q", raw)
	}
}

func TestStringEnd(t *testing.T) {
	cases := map[string]int{
		`""`:         2,
		`"abc"x`:     5,
		`"a\"b"`:     6,
		`"a\\"b"`:    5,
		`"a\\\"b"`:   8,
		`"\\\\"`:     6,
		`"open`:      -1,
		`"`:          -1,
		`"esc\"`:     -1,
		`"\u00e9"  `: 8,
	}
	for raw, want := range cases {
		assert.Equal(t, want, stringEnd([]byte(raw), 0), "%q", raw)
	}
}

func TestStringBytes(t *testing.T) {
	assert.Equal(t, 0, stringBytes([]byte(`""`)))
	assert.Equal(t, 5, stringBytes([]byte(`"hello"`)))
	assert.Equal(t, 3, stringBytes([]byte(`"a\nb"`)))
	assert.Equal(t, len(`{"a":"b"}`), stringBytes([]byte(`"{\"a\":\"b\"}"`)))
	assert.Equal(t, 0, stringBytes([]byte(`12`)))
	assert.Equal(t, 0, stringBytes(nil))
}

func TestJSONIterEnterResumesParent(t *testing.T) {
	top := newJSONIter([]byte(`{"a":{"x":1,"y":[2,3]},"b":"after"}`))
	assert.True(t, top.next())
	assert.Equal(t, "a", string(top.key()))
	assert.Equal(t, byte('{'), top.peek())

	var inner []string
	child := top.enter()
	for child.next() {
		inner = append(inner, string(child.key())+"="+string(child.value()))
	}
	assert.Equal(t, []string{"x=1", "y=[2,3]"}, inner)
	assert.False(t, top.pending, "walking the child to its end consumed the value")

	assert.True(t, top.next())
	assert.Equal(t, "b", string(top.key()))
	assert.Equal(t, `"after"`, string(top.value()))
	assert.False(t, top.next())
}

func TestJSONIterAbandonedChildIsSkipped(t *testing.T) {
	top := newJSONIter([]byte(`[[1,[2,"]"],3],4]`))
	assert.True(t, top.next())
	child := top.enter()
	assert.True(t, child.next())
	assert.Equal(t, "1", string(child.value()))
	// Stop walking the child half way: the parent skips the rest.
	assert.True(t, top.next())
	assert.Equal(t, "4", string(top.value()))
	assert.False(t, top.next())
}

func TestJSONIterEnterScalar(t *testing.T) {
	top := newJSONIter([]byte(`{"a":"str","b":2}`))
	assert.True(t, top.next())
	child := top.enter()
	assert.False(t, child.next(), "a string has no members")
	assert.True(t, top.next())
	assert.Equal(t, "b", string(top.key()))

	var none jsonIter
	assert.Nil(t, none.value())
	assert.Equal(t, byte(0), none.peek())
	empty := none.enter()
	assert.False(t, empty.next())
}
