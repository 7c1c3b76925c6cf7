package meter

import (
	"strings"

	"github.com/tidwall/gjson"
)

// VendorError is an error the vendor reported inside a 200 response: an SSE
// error event (`data: {"error":{...}}`, or `event: error` followed by data,
// Anthropic-style {"type":"error","error":{...}}), or a JSON body with an
// "error" object.
type VendorError struct {
	Message, Type, Code string
}

// Error implements error.
func (e *VendorError) Error() string {
	msg := "vendor error"
	if e.Type != "" {
		msg += " " + e.Type
	}
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// maxErrorMessage bounds a message taken verbatim from a payload that is not
// an error object, so a confused vendor cannot make us keep megabytes.
const maxErrorMessage = 1024

// errorValue returns the payload's top-level "error" member when it reports
// an error (anything but null), and whether it does.
func errorValue(payload string) (gjson.Result, bool) {
	e := gjson.Get(payload, "error")
	return e, e.Exists() && e.Type != gjson.Null
}

// parseVendorError builds a VendorError from an error payload. e is its
// "error" member (which may not exist when an `event: error` carried
// something else). Every string is copied: payload aliases vendor bytes.
func parseVendorError(payload string, e gjson.Result) *VendorError {
	var v VendorError
	switch {
	case e.IsObject():
		v.Message = e.Get("message").String()
		v.Type = e.Get("type").String()
		if v.Type == "" {
			v.Type = e.Get("status").String() // Gemini native: "RESOURCE_EXHAUSTED"
		}
		// Codes are strings for OpenAI-likes and numbers for Gemini; String()
		// renders both (and "" for null).
		v.Code = e.Get("code").String()
	case e.Type == gjson.String:
		v.Message = e.Str
	default:
		if m := gjson.Get(payload, "message"); m.Type == gjson.String {
			v.Message = m.Str // Bedrock-like {"message": "..."}
		} else {
			v.Message = payload // plain text: keep it for the logs
		}
	}
	if len(v.Message) > maxErrorMessage {
		v.Message = v.Message[:maxErrorMessage]
	}
	return &VendorError{
		Message: strings.Clone(v.Message),
		Type:    strings.Clone(v.Type),
		Code:    strings.Clone(v.Code),
	}
}
