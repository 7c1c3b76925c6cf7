package anthropic

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendError(t *testing.T) {
	assert.Equal(t, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
		string(AppendError(nil, Error{Type: Overloaded, Message: "Overloaded"}, nil)))
	assert.Equal(t, `{"type":"error","error":{"type":"api_error","message":"m","attempts":[1]}}`,
		string(AppendError(nil, Error{Type: API, Message: "m"}, []byte(`"attempts":[1]`))))

	out := AppendError([]byte("x"), Error{Type: InvalidRequest, Message: "a\n\"b\"\xff"}, nil)
	var got struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(out[1:], &got))
	assert.Equal(t, "error", got.Type)
	assert.Equal(t, InvalidRequest, got.Error.Type)
	assert.Equal(t, "a\n\"b\"\uFFFD", got.Error.Message)
}

func TestAppendErrorEvent(t *testing.T) {
	ev := string(AppendErrorEvent(nil, Error{Type: API, Message: "gone\nnow"}))
	assert.True(t, strings.HasPrefix(ev, "event: error\ndata: {"), ev)
	data, ok := strings.CutSuffix(strings.TrimPrefix(ev, "event: error\ndata: "), "\n\n")
	require.True(t, ok)
	assert.NotContains(t, data, "\n", "one data line")
	assert.True(t, json.Valid([]byte(data)))
}

func TestTypeOf(t *testing.T) {
	for status, want := range map[int]string{
		400: InvalidRequest, 401: Authentication, 402: Billing, 403: Permission, 404: NotFound, 405: InvalidRequest,
		408: InvalidRequest, 413: RequestTooLarge, 429: RateLimit, 500: API, 502: API, 503: API, 504: Timeout,
		529: Overloaded, http.StatusOK: InvalidRequest,
	} {
		assert.Equal(t, want, TypeOf(status), "status %d", status)
	}
}
