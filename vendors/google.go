package vendors

import (
	"net/http"
	"strings"
)

// googleKind is the Gemini API's OpenAI-compatible endpoint (API-key auth,
// sent as a Bearer token). Vertex AI needs OAuth tokens and is not this kind.
var googleKind = &kind{
	name:           "google",
	defaultBaseURL: "https://generativelanguage.googleapis.com/v1beta/openai",
	endpoints:      endpointsOf(ChatCompletions, Embeddings),
	auth:           authBearer,
	classify:       classifyGoogle,
}

// classifyGoogle recognises the Gemini API's account problems, which it
// reports as 400s:
//
//   - a bad key is 400 INVALID_ARGUMENT with details[].reason
//     "API_KEY_INVALID" and the message "API key not valid...";
//   - FAILED_PRECONDITION is the project's billing or region ("free tier is
//     not available in your country"), not the request.
//
// Both are read from the structured error, never by searching the whole
// body, so client text echoed in a message cannot trigger them.
func classifyGoogle(status int, body []byte) (Verdict, bool) {
	if status != http.StatusBadRequest {
		return Verdict{}, false
	}
	e := errorRoot(body).Get("error")
	for _, d := range e.Get("details").Array() {
		if d.Get("reason").String() == "API_KEY_INVALID" {
			return Verdict{true, ReasonAuth}, true
		}
	}
	if strings.HasPrefix(e.Get("message").String(), "API key not valid") {
		return Verdict{true, ReasonAuth}, true
	}
	if e.Get("status").String() == "FAILED_PRECONDITION" {
		return Verdict{true, ReasonAuth}, true
	}
	return Verdict{}, false
}
