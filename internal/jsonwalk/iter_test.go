package jsonwalk

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// members collects what an Iter yields, as "key=value" strings (values
// alone for arrays).
func members(raw string) []string {
	var out []string
	it := NewIter(raw)
	for it.Next() {
		v := it.Value()
		if v == "" {
			break
		}
		if it.obj {
			out = append(out, it.Key()+"="+v)
		} else {
			out = append(out, v)
		}
	}
	return out
}

func TestIterObject(t *testing.T) {
	got := members(` { "a" : 1 , "b":"x\"}" ,"c":{"d":[1,{"e":"]"}]}, "f":[] ,"g":null}`)
	assert.Equal(t, []string{`a=1`, `b="x\"}"`, `c={"d":[1,{"e":"]"}]}`, `f=[]`, `g=null`}, got)
}

func TestIterArray(t *testing.T) {
	assert.Equal(t, []string{`1`, `"two"`, `[3]`, `{"4":4}`, `-5e3`, `true`}, members(`[1,"two",[3],{"4":4},-5e3,true]`))
	assert.Empty(t, members(`[]`))
	assert.Empty(t, members(`{}`))
}

func TestIterNotAContainer(t *testing.T) {
	for _, raw := range []string{``, `   `, `"str"`, `12`, `null`, `x`} {
		assert.Empty(t, members(raw), "%q", raw)
	}
}

func TestIterStopsOnMalformed(t *testing.T) {
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

func TestIterEnterResumesParent(t *testing.T) {
	top := NewIter(`{"a":{"x":1,"y":[2,3]},"b":"after"}`)
	assert.True(t, top.Next())
	assert.Equal(t, "a", top.Key())
	assert.Equal(t, byte('{'), top.Peek())

	var inner []string
	child := top.Enter()
	for child.Next() {
		inner = append(inner, child.Key()+"="+child.Value())
	}
	assert.Equal(t, []string{"x=1", "y=[2,3]"}, inner)
	assert.False(t, top.pending, "walking the child to its end consumed the value")

	assert.True(t, top.Next())
	assert.Equal(t, "b", top.Key())
	assert.Equal(t, `"after"`, top.Value())
	assert.False(t, top.Next())
}

func TestIterAbandonedChildIsSkipped(t *testing.T) {
	top := NewIter(`[[1,[2,"]"],3],4]`)
	assert.True(t, top.Next())
	child := top.Enter()
	assert.True(t, child.Next())
	assert.Equal(t, "1", child.Value())
	// Stop walking the child half way: the parent skips the rest.
	assert.True(t, top.Next())
	assert.Equal(t, "4", top.Value())
	assert.False(t, top.Next())
}

func TestIterEnterScalar(t *testing.T) {
	top := NewIter(`{"a":"str","b":2}`)
	assert.True(t, top.Next())
	child := top.Enter()
	assert.False(t, child.Next(), "a string has no members")
	assert.True(t, top.Next())
	assert.Equal(t, "b", top.Key())

	var none Iter
	assert.Zero(t, none.Value())
	assert.Equal(t, byte(0), none.Peek())
	empty := none.Enter()
	assert.False(t, empty.Next())
}
