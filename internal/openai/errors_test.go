package openai

import (
	"encoding/json"
	"strings"
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

// An error event is one data line of valid JSON, whatever the message.
func TestAppendErrorEventEscapes(t *testing.T) {
	tests := map[string]struct{ message, code string }{
		"plain":        {"vendor failed mid-stream", "vendor_error"},
		"no code":      {"boom", ""},
		"needs escape": {"quote \" backslash \\ newline \n tab \t <html> & \x01", "c\"o"},
		"bad utf-8":    {"a\xffb", "x"},
		"unicode":      {"héllo \u2028 世界", "ü"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			ev := string(AppendErrorEvent(nil, Error{Message: tt.message, Type: "server_error", Code: tt.code}))
			payload, ok := strings.CutPrefix(ev, "data: ")
			require.True(t, ok)
			payload, ok = strings.CutSuffix(payload, "\n\n")
			require.True(t, ok)
			assert.NotContains(t, payload, "\n", "one data line")
			require.True(t, json.Valid([]byte(payload)), payload)

			var got struct {
				Error map[string]any `json:"error"`
			}
			require.NoError(t, json.Unmarshal([]byte(payload), &got))
			assert.Equal(t, strings.ToValidUTF8(tt.message, "\uFFFD"), got.Error["message"])
			assert.Equal(t, "server_error", got.Error["type"])
			assert.Contains(t, got.Error, "param")
			assert.Nil(t, got.Error["param"])
			if tt.code == "" {
				assert.Nil(t, got.Error["code"])
			} else {
				assert.Equal(t, tt.code, got.Error["code"])
			}
			assert.Len(t, got.Error, 4)
		})
	}
}
