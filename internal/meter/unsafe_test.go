package meter

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestView(t *testing.T) {
	assert.Equal(t, "", view(nil))
	b := []byte("abc")
	v := view(b)
	assert.Equal(t, "abc", v)
	b[0] = 'x'
	assert.Equal(t, "xbc", v, "a view, not a copy")
}
