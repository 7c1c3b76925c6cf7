package llmrouter

import (
	"strings"

	"github.com/caddy-llm/llmrouter/vendors"
)

// operation is the OpenAI API route a request targets.
type operation uint8

const (
	opChat operation = iota
	opCompletions
	opEmbeddings
	opModels
)

// endpoint maps a routed operation to the vendors' notion of it.
func (op operation) endpoint() vendors.Endpoint {
	switch op {
	case opCompletions:
		return vendors.Completions
	case opEmbeddings:
		return vendors.Embeddings
	default:
		return vendors.ChatCompletions
	}
}

// operation tells which OpenAI API route path is, if any.
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
	}
	return 0, false
}
