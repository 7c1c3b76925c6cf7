package llmrouter

import (
	"net/http"

	"github.com/caddy-llm/llmrouter/internal/anthropic"
	"github.com/caddy-llm/llmrouter/internal/openai"
)

// surface is a client API as the router speaks it itself: the shape of the
// errors it writes (a refusal, every vendor failing, a limit) and of the
// event that ends a stream broken after its commit point. Vendors' own
// answers and errors reach the client through the translators, already in
// the client's API.
type surface uint8

const (
	// surfaceOpenAI: {"error":{"message","type","param","code"}}, and a
	// broken stream's `data: {"error":...}` event.
	surfaceOpenAI surface = iota
	// surfaceAnthropic: {"type":"error","error":{"type","message"}}, and
	// the `event: error` event; the error type is the one Anthropic gives
	// the status (anthropic.TypeOf), so that Claude Code and the SDKs
	// retry what they would retry from Anthropic.
	surfaceAnthropic
)

// errorBody is an error the router answers with, in the surface's shape.
// errType, code and param are OpenAI's; extra is more members of the error
// object (raw JSON), or nil.
func (s surface) errorBody(status int, errType, code, param, message string, extra []byte) []byte {
	if s == surfaceAnthropic {
		return anthropic.AppendError(nil, anthropic.Error{Type: anthropic.TypeOf(status), Message: message}, extra)
	}
	return openai.AppendError(nil, openai.Error{Message: message, Type: errType, Param: param, Code: code}, extra)
}

// writeError answers with an error in the surface's shape. param may be "".
func (s surface) writeError(w http.ResponseWriter, status int, errType, code, param, message string) error {
	return writeErrorBody(w, status, s.errorBody(status, errType, code, param, message, nil))
}

// appendStreamError appends the event that tells the client its stream
// broke after the commit point.
func (s surface) appendStreamError(dst []byte, message, code string) []byte {
	if s == surfaceAnthropic {
		return anthropic.AppendErrorEvent(dst, anthropic.Error{Type: anthropic.API, Message: message})
	}
	return openai.AppendErrorEvent(dst, openai.Error{Message: message, Type: typeServer, Code: code})
}

// surfaceOf is the surface of a request: Anthropic's for the Messages
// operations, and for any request that says it speaks Anthropic's API (the
// anthropic-version header every Anthropic client sends), OpenAI's for the
// rest.
func surfaceOf(op operation, r *http.Request) surface {
	if op == opMessages || op == opCountTokens || r.Header.Get("Anthropic-Version") != "" {
		return surfaceAnthropic
	}
	return surfaceOpenAI
}
