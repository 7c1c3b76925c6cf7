package meter

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestErrorEvent(t *testing.T) {
	tests := map[string]struct{ message, code string }{
		"plain":        {"vendor failed mid-stream", "vendor_error"},
		"no code":      {"boom", ""},
		"needs escape": {"quote \" backslash \\ newline \n tab \t <html> & \x01", "c\"o"},
		"bad utf-8":    {"a\xffb", "x"},
		"unicode":      {"héllo \u2028 世界", "ü"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			ev := string(ErrorEvent(tt.message, tt.code))
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

func TestErrorEventIsReadBackAsAnError(t *testing.T) {
	s, _ := feed(t, StreamOptions{}, string(ErrorEvent("gone", "vendor_gone")), 0)
	require.NotNil(t, s.Err())
	assert.Equal(t, VendorError{Message: "gone", Type: "server_error", Code: "vendor_gone"}, *s.Err())
}
