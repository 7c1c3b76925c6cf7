package vendors

import (
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/meter"
)

// Verdict is how the router should treat a vendor's error response.
type Verdict struct {
	Failover bool // move to the next vendor (the vendor/key/deployment is at fault, or it is overloaded)
	// Reason is a short machine-readable reason: "rate_limited", "overloaded",
	// "server_error", "timeout", "auth", "quota", "not_found", "bad_request"
	// (the client's fault) or "client_error" (other 4xx).
	Reason string
}

// Classify judges an HTTP error response (status >= 400) of this vendor from
// its status and (possibly truncated) body. A status below 400 is not an
// error and yields the zero Verdict.
//
// Failover is for errors that another vendor would not repeat: our key's
// auth, quota or permissions (401, 402, 403), a model or deployment missing
// here (404), timeouts (408, 504), transient conflicts (409), rate limits
// (429), and any 5xx including Anthropic-style 529. Errors about the request
// itself (400, 413, 422, other 4xx) are not: every vendor would reject it
// again, so the client gets the vendor's answer as is. Some vendors report
// their own credential or account problems as a 400 (or with a misleading
// status); the kind's classify hook recognises those.
func (v *Vendor) Classify(status int, body []byte) Verdict {
	return v.ClassifyResponse(status, nil, body)
}

// ClassifyResponse is Classify with the response's header too, which some
// kinds state the error's type in (Bedrock's X-Amzn-ErrorType); h may be
// nil.
func (v *Vendor) ClassifyResponse(status int, h http.Header, body []byte) Verdict {
	if status < 400 {
		return Verdict{}
	}
	if hc, ok := v.backend.(headerClassifier); ok && h != nil {
		if verdict, ok := hc.classifyWithHeader(status, h, body); ok {
			return verdict
		}
	} else if verdict, ok := v.backend.classify(status, body); ok {
		return verdict
	}
	return classifyStatus(status, body)
}

// headerClassifier is a backend whose error responses may say their type
// in a header rather than the body.
type headerClassifier interface {
	classifyWithHeader(status int, h http.Header, body []byte) (Verdict, bool)
}

// classifyStatus is the classification shared by all kinds.
func classifyStatus(status int, body []byte) Verdict {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return Verdict{true, ReasonAuth}
	case http.StatusPaymentRequired:
		return Verdict{true, ReasonQuota}
	case http.StatusNotFound:
		return Verdict{true, ReasonNotFound}
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return Verdict{true, ReasonTimeout}
	case http.StatusConflict:
		// OpenAI and Anthropic use 409 for transient lock/conflict errors
		// that their SDKs retry; it says nothing about the request.
		return Verdict{true, ReasonServerError}
	case http.StatusTooManyRequests:
		// OpenAI (and imitators) send a 429 both for throttling and for an
		// exhausted balance; the latter lasts until someone pays, so it is
		// reported separately for a much longer cool-down.
		if isInsufficientQuota(body) {
			return Verdict{true, ReasonQuota}
		}
		return Verdict{true, ReasonRateLimited}
	case http.StatusServiceUnavailable, 529:
		return Verdict{true, ReasonOverloaded}
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return Verdict{false, ReasonBadRequest}
	}
	if status >= 500 {
		return Verdict{true, ReasonServerError}
	}
	return Verdict{false, ReasonClientError}
}

// isInsufficientQuota recognises OpenAI's exhausted-balance error, which sets
// both error.type and error.code to "insufficient_quota".
func isInsufficientQuota(body []byte) bool {
	e, _ := meter.ReadError(body)
	return e.Code == "insufficient_quota" || e.Type == "insufficient_quota"
}

// errorRoot parses an error body and returns its root object, for the
// kinds' own rules that read more of it than meter.ReadError does (Bedrock's
// __type, Google's details, Volcengine's codes). Gemini's OpenAI-compatible
// endpoint wraps the error in a one-element array, so an array yields its
// first element. gjson is lenient with truncated bodies: the fields before the
// cut are still found.
func errorRoot(body []byte) gjson.Result {
	root := gjson.ParseBytes(body)
	if root.IsArray() {
		root = root.Get("0")
	}
	return root
}
