package llmrouter

import (
	"net/http"

	"github.com/caddy-llm/llmrouter/internal/anthropic"
	"github.com/caddy-llm/llmrouter/internal/openai"
	"github.com/caddy-llm/llmrouter/vendors"
)

// A surface is a client API as the router speaks it where it writes the
// answer itself: the error bodies of its refusals (a bad request, a limit,
// every vendor failed). Each endpoint has one; the OpenAI endpoints share
// OpenAI's error object.
//
// The other thing the router writes on its own, the last event of a stream
// that broke after its commit point, is the attempt's translator's
// (vendors.Translator.Interrupt): only the stream knows what that event must
// carry (Responses' response.failed names the response and continues its
// sequence numbers).
type surface struct {
	// appendError appends an error body for e; extra, when not empty, is
	// more members of the error (raw JSON, "key":value pairs), such as the
	// attempts of every vendor failed.
	appendError func(dst []byte, e openai.Error, extra []byte) []byte
}

// openaiSurface is OpenAI's API: chat completions, completions, embeddings,
// models and Responses, whose errors are {"error":{"message","type","param",
// "code"}}.
var openaiSurface = surface{appendError: openai.AppendError}

// anthropicSurface is Anthropic's Messages API, whose errors are
// {"type":"error","error":{"type","message"}}.
var anthropicSurface = surface{appendError: appendAnthropicError}

// surfaceOf returns the surface of endpoint e: Anthropic's for Messages and
// count_tokens, OpenAI's for the others (Responses included).
func surfaceOf(e vendors.Endpoint) *surface {
	if e == vendors.Messages || e == vendors.CountTokens {
		return &anthropicSurface
	}
	return &openaiSurface
}

// surfaceOfRequest is the surface of a request that names no endpoint (a
// path the router does not serve, the model list): Anthropic's when it
// carries anthropic-version, which every Anthropic client sends.
func surfaceOfRequest(r *http.Request) *surface {
	if headerValue(r.Header, "Anthropic-Version") != "" {
		return &anthropicSurface
	}
	return &openaiSurface
}

// appendAnthropicError writes e, one of the router's OpenAI-described
// errors, in Anthropic's shape, with the error type Anthropic's clients
// know (they retry rate_limit_error, overloaded_error and api_error, and
// report the others). An e.Type that is already Anthropic's is kept.
func appendAnthropicError(dst []byte, e openai.Error, extra []byte) []byte {
	return anthropic.AppendError(dst, anthropic.Error{Type: anthropicType(e), Message: e.Message}, extra)
}

func anthropicType(e openai.Error) string {
	switch {
	case e.Code == codeModelNotFound || e.Code == codeUnknownURL:
		return anthropic.NotFound
	case e.Code == codeBodyTooLarge:
		return anthropic.RequestTooLarge
	case e.Type == typeRateLimit || e.Type == typeInsufficientQuota:
		return anthropic.RateLimit
	case e.Type == typePermission:
		return anthropic.Permission
	case e.Type == typeServer:
		return anthropic.API
	case e.Type == anthropic.Overloaded || e.Type == anthropic.Timeout || e.Type == anthropic.Authentication ||
		e.Type == anthropic.API || e.Type == anthropic.NotFound:
		return e.Type
	}
	return anthropic.InvalidRequest
}

// writeError answers with an error in the surface's shape. param may be "".
func (s *surface) writeError(w http.ResponseWriter, status int, errType, code, param, message string) error {
	return writeErrorBody(w, status, s.appendError(nil,
		openai.Error{Message: message, Type: errType, Param: param, Code: code}, nil))
}

// writeMethodNotAllowed refuses a method the endpoint does not take.
func (s *surface) writeMethodNotAllowed(w http.ResponseWriter, allow string) error {
	w.Header().Set("Allow", allow)
	return s.writeError(w, http.StatusMethodNotAllowed, typeInvalidRequest, codeMethod, "",
		"this endpoint only accepts "+allow+" requests")
}
