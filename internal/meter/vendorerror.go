package meter

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
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

// ReadError reads an error a vendor reported: a whole error answer, or the
// data of one stream event. It is the one reader of the error shapes
// vendors use:
//
//   - {"error":{"message","type","code"}} (OpenAI and its imitators; Google
//     puts the type in "status" and a number in "code"), the message also a
//     FastAPI/pydantic validation list ([{"loc":[...],"msg":...}]) or an
//     object holding one under "detail";
//   - the same in a one-element array (Gemini's OpenAI-compatible endpoint);
//   - {"type":"error","error":{"type","message"}} (Anthropic);
//   - {"error":"text"} (xAI, Ollama);
//   - a top-level "message" or "Message" (Bedrock, whose error type, in
//     "__type", is for its own rules to read), or "detail" (FastAPI).
//
// ok reports whether body has an "error" member (other than null) or a
// message. The message is trimmed and may be long: callers bound it. The
// strings are copies, so body may be reused.
func ReadError(body []byte) (e VendorError, ok bool) {
	root := gjson.Parse(jsonwalk.View(body))
	if root.IsArray() {
		root = root.Get("0")
	}
	if !root.IsObject() {
		return VendorError{}, false
	}
	e, ok = errorIn(root, root.Get("error"))
	return VendorError{Message: strings.Clone(e.Message), Type: strings.Clone(e.Type), Code: strings.Clone(e.Code)}, ok
}

// errorIn reads the error of root, whose "error" member is errMember (which
// may not exist); the strings alias root.
func errorIn(root, errMember gjson.Result) (VendorError, bool) {
	var v VendorError
	switch {
	case errMember.IsObject():
		v.Message = messageText(errMember.Get("message"))
		if v.Type = errMember.Get("type").String(); v.Type == "" {
			v.Type = errMember.Get("status").String() // Google: "RESOURCE_EXHAUSTED"
		}
		// Codes are strings for OpenAI-likes and numbers for Google;
		// String() renders both (and "" for null).
		v.Code = errMember.Get("code").String()
	case errMember.Type == gjson.String:
		v.Message = strings.TrimSpace(errMember.Str)
	}
	for _, key := range [...]string{"message", "Message", "detail"} {
		if v.Message != "" {
			break
		}
		v.Message = messageText(root.Get(key))
	}
	return v, v.Message != "" || errMember.Exists() && errMember.Type != gjson.Null
}

// messageText renders a message value: a string as is (trimmed); a
// FastAPI/pydantic validation list ([{"loc":[...],"msg":...}], possibly under
// "detail") as "loc.path: msg; ..."; anything else as "".
func messageText(r gjson.Result) string {
	switch {
	case r.Type == gjson.String:
		return strings.TrimSpace(r.String())
	case r.IsObject():
		if d := r.Get("detail"); d.Exists() {
			return messageText(d)
		}
		return strings.TrimSpace(r.Get("msg").String())
	case r.IsArray():
		var parts []string
		for _, item := range r.Array() {
			text := messageText(item)
			if text == "" {
				continue
			}
			if loc := item.Get("loc"); loc.IsArray() {
				var segs []string
				for _, s := range loc.Array() {
					segs = append(segs, s.String())
				}
				text = strings.Join(segs, ".") + ": " + text
			}
			parts = append(parts, text)
		}
		return strings.Join(parts, "; ")
	}
	return ""
}

// errorValue returns the payload's top-level "error" member when it reports
// an error (anything but null), and whether it does.
func errorValue(payload string) (gjson.Result, bool) {
	e := gjson.Get(payload, "error")
	return e, e.Exists() && e.Type != gjson.Null
}

// parseVendorError builds a VendorError from an error payload inside a
// stream or a 200 answer. e is its "error" member (which may not exist when
// an `event: error` carried something else); a payload that reads as no
// error at all is kept whole as the message, for the logs. Every string is
// copied: payload aliases vendor bytes.
func parseVendorError(payload string, e gjson.Result) *VendorError {
	v, _ := errorIn(gjson.Parse(payload), e)
	if v.Message == "" && !e.IsObject() && e.Type != gjson.String {
		v.Message = payload // plain text: keep it for the logs
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
