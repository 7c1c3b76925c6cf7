package meter

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
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
	e, ok := errorValue(jsonwalk.View(buf))
	require.True(t, ok)
	got := parseVendorError(jsonwalk.View(buf), e)
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

// ReadError reads every shape of error body vendors send.
func TestReadError(t *testing.T) {
	tests := map[string]struct {
		body string
		want VendorError
		ok   bool
	}{
		"openai":    {`{"error":{"message":" Rate limit ","type":"requests","param":null,"code":"rate_limit_exceeded"}}`, VendorError{Message: "Rate limit", Type: "requests", Code: "rate_limit_exceeded"}, true},
		"anthropic": {`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, VendorError{Message: "Overloaded", Type: "overloaded_error"}, true},
		"google":    {`{"error":{"code":429,"message":"Quota","status":"RESOURCE_EXHAUSTED"}}`, VendorError{Message: "Quota", Type: "RESOURCE_EXHAUSTED", Code: "429"}, true},
		"google compatible endpoint": {`[{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}]`,
			VendorError{Message: "bad", Type: "INVALID_ARGUMENT", Code: "400"}, true},
		"string error":  {`{"error":"bad gateway"}`, VendorError{Message: "bad gateway"}, true},
		"bedrock":       {`{"__type":"ThrottlingException","message":"Rate exceeded"}`, VendorError{Message: "Rate exceeded"}, true},
		"aws auth":      {`{"Message":"The security token included in the request is invalid."}`, VendorError{Message: "The security token included in the request is invalid."}, true},
		"fastapi":       {`{"detail":"Not Found"}`, VendorError{Message: "Not Found"}, true},
		"pydantic list": {`{"detail":[{"loc":["body","messages"],"msg":"Field required"},{"loc":["body","n"],"msg":"too big"}]}`, VendorError{Message: "body.messages: Field required; body.n: too big"}, true},
		"mistral 422": {`{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","stream_options"],"msg":"Extra inputs are not permitted"}]},"type":"invalid_request_error"}`,
			VendorError{Message: "body.stream_options: Extra inputs are not permitted"}, true},
		"error without a message": {`{"error":{"type":"server_error"}}`, VendorError{Type: "server_error"}, true},
		"null error":              {`{"error":null}`, VendorError{}, false},
		"no error":                {`{"choices":[]}`, VendorError{}, false},
		"not JSON":                {`<html>bad gateway</html>`, VendorError{}, false},
	}
	for name, tt := range tests {
		got, ok := ReadError([]byte(tt.body))
		assert.Equal(t, tt.want, got, name)
		assert.Equal(t, tt.ok, ok, name)
	}
}
