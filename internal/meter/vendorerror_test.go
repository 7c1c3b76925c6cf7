package meter

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseVendorError(t *testing.T) {
	tests := map[string]struct {
		payload string
		want    VendorError
	}{
		"openai": {`{"error":{"message":"Rate limit","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
			VendorError{Message: "Rate limit", Type: "requests", Code: "rate_limit_exceeded"}},
		"anthropic": {`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			VendorError{Message: "Overloaded", Type: "overloaded_error"}},
		"gemini native": {`{"error":{"code":429,"message":"Quota","status":"RESOURCE_EXHAUSTED"}}`,
			VendorError{Message: "Quota", Type: "RESOURCE_EXHAUSTED", Code: "429"}},
		"volcengine": {`{"error":{"code":"RateLimitExceeded.EndpointRPMExceeded","message":"slow down","type":"TooManyRequests"}}`,
			VendorError{Message: "slow down", Type: "TooManyRequests", Code: "RateLimitExceeded.EndpointRPMExceeded"}},
		"string error": {`{"error":"bad gateway"}`, VendorError{Message: "bad gateway"}},
		"message only": {`{"message":"ThrottlingException"}`, VendorError{Message: "ThrottlingException"}},
		"plain text":   {`upstream reset`, VendorError{Message: "upstream reset"}},
		"escaped":      {`{"error":{"message":"a\nb \u00e9"}}`, VendorError{Message: "a\nb é"}},
	}
	for name, tt := range tests {
		e, _ := errorValue(tt.payload)
		assert.Equal(t, tt.want, *parseVendorError(tt.payload, e), name)
	}
}

func TestParseVendorErrorCopiesAndBounds(t *testing.T) {
	buf := []byte(`{"error":{"message":"original","type":"t","code":"c"}}`)
	e, ok := errorValue(view(buf))
	require.True(t, ok)
	got := parseVendorError(view(buf), e)
	copy(buf, strings.Repeat("x", len(buf)))
	assert.Equal(t, VendorError{Message: "original", Type: "t", Code: "c"}, *got, "no aliasing of vendor bytes")

	long := strings.Repeat("y", 10_000)
	assert.Len(t, parseVendorError(long, e.Get("nothing")).Message, maxErrorMessage)
}

func TestErrorValue(t *testing.T) {
	_, ok := errorValue(`{"error":null}`)
	assert.False(t, ok)
	_, ok = errorValue(`{"choices":[{"delta":{"content":"error"}}]}`)
	assert.False(t, ok)
	_, ok = errorValue(`{"error":{}}`)
	assert.True(t, ok)
}

func TestVendorErrorError(t *testing.T) {
	var err error = &VendorError{Message: "Overloaded", Type: "overloaded_error", Code: "529"}
	assert.Equal(t, "vendor error overloaded_error (529): Overloaded", err.Error())
	assert.Equal(t, "vendor error", (&VendorError{}).Error())
}
