package jsonwalk

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// An Iter with the validator's index of long strings reads a member as one
// without, and takes the long strings it reads or skips from the index.
func TestIndexedIterReadsAsScanned(t *testing.T) {
	long := strings.Repeat("plain text of a prompt, ", 4)
	escaped := strings.Repeat(`a \"quoted\" \\ path\n, `, 4)
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"` + long + `"},` +
		`{"role":"user","content":[{"type":"image_url","image_url":{"url":"` + long + `"}},{"type":"text","text":"` + escaped + `"}]},` +
		`{"role":"assistant","content":"` + escaped + `","name":"short"}],` +
		`"input":["` + long + `",[1,2],{"k":"` + escaped + `"}],"tools":[{"description":"` + long + `"}]}`)

	// read walks it the way the prompt estimate does: it goes into every
	// container, and reads every string with StringBytes, except those of
	// an object's "skip" member, which it skips whole.
	var read func(it *Iter, out *[]string)
	read = func(it *Iter, out *[]string) {
		for it.Next() {
			*out = append(*out, "key "+it.Key())
			switch c := it.Peek(); {
			case it.Key() == "image_url" || it.Key() == "tools":
				*out = append(*out, "value "+it.Value()) // skipped whole, nested strings and all
			case c == '"':
				*out = append(*out, fmt.Sprint("bytes ", it.StringBytes()))
			case c == '{' || c == '[':
				child := it.Enter()
				read(&child, out)
			default:
				*out = append(*out, "value "+it.Value())
			}
		}
	}
	var indexed, scanned []string
	hits := 0
	_, err := ObjectIndexed(body, func(m Member, idx *StringIndex) {
		it := IndexedIter(m, idx)
		read(&it, &indexed)
		plain := ValueIter(View(m.Value))
		read(&plain, &scanned)
		for _, e := range idx.entries {
			assert.Equal(t, `"`, string(body[e.start]))
			assert.Equal(t, strings.Count(string(body[e.start+1:e.end-1]), `\`), int(e.backslashes))
		}
		hits += idx.hits
		assert.Equal(t, len(idx.entries), idx.hits, "every long string of %s was read or skipped through the index", m.Key)
	})
	require.NoError(t, err)
	assert.Equal(t, scanned, indexed)
	assert.Equal(t, 7, hits)
}
