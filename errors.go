package llmrouter

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/caddy-llm/llmrouter/internal/preferences"
)

// Error types and codes of the errors the router itself answers with. They
// follow the OpenAI error object: {"error":{"message","type","param","code"}}.
const (
	typeInvalidRequest = "invalid_request_error"
	typeServer         = "server_error"
	typeRateLimit      = "rate_limit_error"
	// A spent budget is OpenAI's out-of-quota error, which SDKs do not
	// retry; a tier the router does not know is refused as a permission.
	typeInsufficientQuota = "insufficient_quota"
	typePermission        = "permission_error"

	codeInvalidJSON     = "invalid_json"
	codeMissingModel    = "missing_required_parameter"
	codeInvalidRouting  = "invalid_routing"
	codeInvalidVendor   = "invalid_vendor"
	codeModelNotFound   = "model_not_found"
	codeBodyTooLarge    = "request_too_large"
	codeMethod          = "method_not_allowed"
	codeVendorsFailed   = "vendors_failed"
	codeNoVendor        = "no_vendor_available"
	codeUnsupportedPath = "unsupported_endpoint"
	codeUnknownURL      = "unknown_url"
	// A stream that broke after its commit point.
	codeStreamInterrupted = "stream_interrupted"

	codeRateLimitExceeded = "rate_limit_exceeded"
	codeBudgetExceeded    = "budget_exceeded"
	codeUnknownTier       = "unknown_tier"
	codeLimitsUnavailable = "limits_unavailable"
)

// attemptRecord is what the client learns about one failed attempt when every
// vendor failed: the vendor id, its HTTP status (0 when no response came back)
// and the reason it was given up.
type attemptRecord struct {
	Vendor  string `json:"vendor"`
	Status  int    `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
}

// writeErrorBody answers with body, an error body in the client API's shape.
func writeErrorBody(w http.ResponseWriter, status int, body []byte) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}

// clientError is a request the router refuses before contacting any vendor.
type clientError struct {
	status      int
	errType     string
	code, param string
	message     string
	// excluded lists what routing preferences filtered out, for
	// error.excluded and X-LLM-Excluded; nil for other errors.
	excluded []preferences.Exclusion
}

func (e *clientError) Error() string { return e.message }

func badRequest(code, param, format string, args ...any) *clientError {
	return &clientError{status: http.StatusBadRequest, errType: typeInvalidRequest, code: code, param: param,
		message: fmt.Sprintf(format, args...)}
}

func notFound(param, format string, args ...any) *clientError {
	return &clientError{status: http.StatusNotFound, errType: typeInvalidRequest, code: codeModelNotFound,
		param: param, message: fmt.Sprintf(format, args...)}
}

// codeBodyTimeout is the error code of a body that did not arrive in time.
const codeBodyTimeout = "request_timeout"

// tooLargeError is the answer to a body over max_request_body.
func tooLargeError(limit int64) *clientError {
	return &clientError{status: http.StatusRequestEntityTooLarge, errType: typeInvalidRequest,
		code: codeBodyTooLarge, message: fmt.Sprintf("request body is larger than the limit of %d bytes", limit)}
}

// Interface guards
var _ error = (*clientError)(nil)
