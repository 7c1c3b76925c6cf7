package vendors

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestResponseIDs(t *testing.T) {
	ids := NewResponseIDs([]byte("key"))
	id := ids.Sign("openai-eu", "resp_68c0ffee")
	assert.True(t, strings.HasPrefix(id, "resp_"), id)
	assert.NotContains(t, id[5:], "/")
	v, inner, ok := ids.Open(id)
	assert.True(t, ok)
	assert.Equal(t, "openai-eu", v)
	assert.Equal(t, "resp_68c0ffee", inner)

	// Another key, an altered id, or anything else: not the router's.
	_, _, ok = NewResponseIDs([]byte("other")).Open(id)
	assert.False(t, ok)
	_, _, ok = NewResponseIDs(nil).Open(id)
	assert.False(t, ok)
	for _, bad := range []string{"", "resp_", "resp_abc", "resp_68c0ffee", id[:len(id)-1], id + "A",
		"resp_" + strings.Repeat("A", 5000), strings.Replace(id, "resp_", "msg_", 1)} {
		_, _, ok := ids.Open(bad)
		assert.False(t, ok, bad)
	}
	// Tampering with the vendor named inside breaks the MAC.
	forged := []byte(id)
	forged[len(forged)/2] ^= 1
	_, _, ok = ids.Open(string(forged))
	assert.False(t, ok)

	// Random keys differ per instance.
	a, b := NewResponseIDs(nil), NewResponseIDs(nil)
	assert.NotEqual(t, a.Sign("v", "x"), b.Sign("v", "x"))
}
