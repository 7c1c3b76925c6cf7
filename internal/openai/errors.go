// Package openai writes the shapes of OpenAI's API that the router itself
// produces, whatever the vendor: today its error object. Clients of other
// APIs (Anthropic's Messages) will get theirs from a package of their own.
package openai

import "github.com/tidwall/gjson"

// Error is OpenAI's error object: {"error":{"message","type","param","code"}}.
// The API's schema requires the param and code keys; an empty Param or Code
// is written as null.
type Error struct {
	Message string
	Type    string
	Param   string
	Code    string
}

// AppendError appends e as an error body. extra, when not empty, is more
// members of the error object (raw JSON, `"key":value` pairs joined by
// commas), written after code.
func AppendError(dst []byte, e Error, extra []byte) []byte {
	dst = append(dst, `{"error":{"message":`...)
	dst = gjson.AppendJSONString(dst, e.Message)
	dst = append(dst, `,"type":`...)
	dst = gjson.AppendJSONString(dst, e.Type)
	dst = append(dst, `,"param":`...)
	dst = appendStringOrNull(dst, e.Param)
	dst = append(dst, `,"code":`...)
	dst = appendStringOrNull(dst, e.Code)
	if len(extra) > 0 {
		dst = append(append(dst, ','), extra...)
	}
	return append(dst, "}}"...)
}

// AppendErrorEvent appends e as a server-sent event, `data: {"error":...}`
// and a blank line: how a stream that has started reports a failure.
func AppendErrorEvent(dst []byte, e Error) []byte {
	dst = append(dst, "data: "...)
	dst = AppendError(dst, e, nil)
	return append(dst, "\n\n"...)
}

func appendStringOrNull(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return gjson.AppendJSONString(dst, s)
}
