// Package anthropic writes the shapes of Anthropic's Messages API that the
// router itself produces, whatever the vendor: the error object,
// {"type":"error","error":{"type","message"}}, and the stream's error event.
// OpenAI's shapes are internal/openai's.
package anthropic

import (
	"net/http"

	"github.com/tidwall/gjson"
)

// The error types of Anthropic's API (platform.claude.com/docs/en/api/errors),
// each with the status Anthropic answers it with.
const (
	InvalidRequest  = "invalid_request_error" // 400
	Authentication  = "authentication_error"  // 401
	Billing         = "billing_error"         // 402
	Permission      = "permission_error"      // 403
	NotFound        = "not_found_error"       // 404
	RequestTooLarge = "request_too_large"     // 413
	RateLimit       = "rate_limit_error"      // 429
	API             = "api_error"             // 500
	Timeout         = "timeout_error"         // 504
	Overloaded      = "overloaded_error"      // 529
)

// StatusOverloaded is Anthropic's own status for an overloaded service.
const StatusOverloaded = 529

// Error is Anthropic's error object.
type Error struct {
	Type    string
	Message string
}

// TypeOf is the error type Anthropic gives an answer of this status: a client
// that reads the type (Claude Code retries overloaded_error and
// rate_limit_error, and reports the others) sees what the status says.
func TypeOf(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return Authentication
	case http.StatusPaymentRequired:
		return Billing
	case http.StatusForbidden:
		return Permission
	case http.StatusNotFound:
		return NotFound
	case http.StatusRequestEntityTooLarge:
		return RequestTooLarge
	case http.StatusTooManyRequests:
		return RateLimit
	case http.StatusGatewayTimeout:
		return Timeout
	case StatusOverloaded:
		return Overloaded
	}
	if status >= 500 {
		return API
	}
	return InvalidRequest
}

// AppendError appends e as an error body. extra, when not empty, is more
// members of the error object (raw JSON, `"key":value` pairs joined by
// commas), written after message.
func AppendError(dst []byte, e Error, extra []byte) []byte {
	dst = append(dst, `{"type":"error","error":{"type":`...)
	dst = gjson.AppendJSONString(dst, e.Type)
	dst = append(dst, `,"message":`...)
	dst = gjson.AppendJSONString(dst, e.Message)
	if len(extra) > 0 {
		dst = append(append(dst, ','), extra...)
	}
	return append(dst, "}}"...)
}

// AppendErrorEvent appends e as the stream's error event, `event: error`
// and its data line: how a Messages stream that has started reports a
// failure.
func AppendErrorEvent(dst []byte, e Error) []byte {
	dst = append(dst, "event: error\ndata: "...)
	dst = AppendError(dst, e, nil)
	return append(dst, "\n\n"...)
}
