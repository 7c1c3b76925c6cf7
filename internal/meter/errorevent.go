package meter

import "github.com/tidwall/gjson"

// ErrorEvent renders the SSE event the router sends when a stream fails after
// it was committed to the client, when failing over is no longer possible:
//
//	data: {"error":{"message":"...","type":"server_error","param":null,"code":"..."}}
//
// followed by a blank line. An empty code is rendered as null. The message is
// escaped so that the payload is always valid JSON (invalid UTF-8 becomes
// U+FFFD). It allocates, which is fine on this rare path.
func ErrorEvent(message, code string) []byte {
	b := make([]byte, 0, len(message)+len(code)+96)
	b = append(b, `data: {"error":{"message":`...)
	b = gjson.AppendJSONString(b, message)
	b = append(b, `,"type":"server_error","param":null,"code":`...)
	if code == "" {
		b = append(b, "null"...)
	} else {
		b = gjson.AppendJSONString(b, code)
	}
	return append(b, "}}\n\n"...)
}
