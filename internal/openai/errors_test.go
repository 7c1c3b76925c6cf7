package openai

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendError(t *testing.T) {
	assert.Equal(t, `{"error":{"message":"bad \"x\" \u003cy\u003e","type":"invalid_request_error","param":null,"code":null}}`,
		string(AppendError(nil, Error{Message: `bad "x" <y>`, Type: "invalid_request_error"}, nil)))
	assert.Equal(t, `{"error":{"message":"m","type":"t","param":"model","code":"c","attempts":[1]}}`,
		string(AppendError(nil, Error{Message: "m", Type: "t", Param: "model", Code: "c"}, []byte(`"attempts":[1]`))))

	// What encoding/json reads back is what was written, invalid UTF-8
	// made valid.
	out := AppendError([]byte("x"), Error{Message: "a\nb\xff\u2028", Type: "t"}, nil)
	var got struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(out[1:], &got))
	assert.Equal(t, "a\nb\uFFFD\u2028", got.Error.Message)
	assert.Nil(t, got.Error.Param)
	assert.Nil(t, got.Error.Code)
}

func TestAppendErrorEvent(t *testing.T) {
	assert.Equal(t, "data: {\"error\":{\"message\":\"gone\",\"type\":\"server_error\",\"param\":null,\"code\":\"stream_interrupted\"}}\n\n",
		string(AppendErrorEvent(nil, Error{Message: "gone", Type: "server_error", Code: "stream_interrupted"})))
}
