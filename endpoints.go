package llmrouter

import (
	"net/http"
	"strings"

	"github.com/caddy-llm/llmrouter/vendors"
)

// operation is the client API route a request targets.
type operation uint8

const (
	opChat operation = iota
	opCompletions
	opEmbeddings
	opModels
	opMessages    // Anthropic's Messages API
	opCountTokens // Anthropic's count_tokens
	opResponses   // OpenAI's Responses API
	// opStoredResponse is a request about a stored response:
	// GET or DELETE /responses/{id}, and what is below it.
	opStoredResponse
)

// endpoint maps a routed operation to the vendors' notion of it.
func (op operation) endpoint() vendors.Endpoint {
	switch op {
	case opCompletions:
		return vendors.Completions
	case opEmbeddings:
		return vendors.Embeddings
	case opMessages:
		return vendors.Messages
	case opCountTokens:
		return vendors.CountTokens
	case opResponses, opStoredResponse:
		return vendors.Responses
	default:
		return vendors.ChatCompletions
	}
}

// underPrefix reports whether path is below the router's path prefix, where
// the router answers every path: one that no operation serves gets a 404
// (writeUnknownURL) rather than going on to the next handler, so that a
// client of an API the router does not serve learns it at once. Without a
// prefix (path_prefix ""), unknown paths go on.
func (h *LLMRouter) underPrefix(path string) bool {
	if h.prefix == "" {
		return false
	}
	rest, ok := strings.CutPrefix(path, h.prefix)
	return ok && (rest == "" || rest[0] == '/')
}

// writeUnknownURL answers a path under the prefix that no operation serves,
// as OpenAI does (404 invalid_request_error, code unknown_url), or in
// Anthropic's shape (not_found_error) for a request with anthropic-version.
func writeUnknownURL(w http.ResponseWriter, r *http.Request) error {
	return surfaceOfRequest(r).writeError(w, http.StatusNotFound, typeInvalidRequest, codeUnknownURL, "",
		"Invalid URL ("+r.Method+" "+r.URL.Path+"): the router does not serve this path")
}

// operation tells which client API route path is, if any.
func (h *LLMRouter) operation(path string) (operation, bool) {
	rest, ok := strings.CutPrefix(path, h.prefix)
	if !ok {
		return 0, false
	}
	switch strings.TrimSuffix(rest, "/") {
	case "/chat/completions":
		return opChat, true
	case "/completions":
		return opCompletions, true
	case "/embeddings":
		return opEmbeddings, true
	case "/models":
		return opModels, true
	case "/messages":
		return opMessages, true
	case "/messages/count_tokens":
		return opCountTokens, true
	case "/responses":
		return opResponses, true
	}
	if strings.HasPrefix(rest, "/responses/") {
		return opStoredResponse, true
	}
	return 0, false
}
