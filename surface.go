package llmrouter

import (
	"net/http"

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

// surfaceOf returns the surface of endpoint e. Every endpoint served so far
// is OpenAI's (Responses included); a client API whose errors have another
// shape returns its own surface here.
func surfaceOf(e vendors.Endpoint) *surface {
	_ = e
	return &openaiSurface
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
