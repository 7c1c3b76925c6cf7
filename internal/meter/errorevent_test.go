package meter

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/openai"
)

func TestErrorEventIsReadBackAsAnError(t *testing.T) {
	s, _ := feed(t, StreamOptions{}, string(openai.AppendErrorEvent(nil, openai.Error{Message: "gone", Type: "server_error", Code: "vendor_gone"})), 0)
	require.NotNil(t, s.Err())
	assert.Equal(t, VendorError{Message: "gone", Type: "server_error", Code: "vendor_gone"}, *s.Err())
}
