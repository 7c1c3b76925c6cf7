package vendors

import (
	"net/http"
	"strings"
)

// x is xAI's API (Grok).
func init() {
	register(&kind{
		name:           "x",
		defaultBaseURL: "https://api.x.ai/v1",
		backend: compatKind(compatOptions{
			endpoints: endpointsOf(ChatCompletions, Responses),
			auth:      authBearer,
			sanitize:  sanitizeX,
			classify:  classifyX,
		}),
	})
}

// classifyX recognises xAI's bad-key error, which is a 400
// ("Incorrect API key provided: xa***..."), not a 401. The message must
// start with that text: a substring match anywhere in the body could be
// triggered by client input echoed in a validation error, letting a client
// get the router's key marked as broken.
func classifyX(status int, body []byte) (Verdict, bool) {
	if status == http.StatusBadRequest && strings.HasPrefix(extractMessage(body), "Incorrect API key") {
		return Verdict{true, ReasonAuth}, true
	}
	return Verdict{}, false
}
