package vendors

import (
	"net/http"
)

// OpenAI chat completions to Vertex AI, by the model's publisher:
//
//   - Gemini: POST {host}/v1/projects/{project}/locations/{location}/
//     publishers/google/models/{model}:generateContent, streamed as
//     :streamGenerateContent?alt=sse, translated as for the Gemini API
//     (gemini_*.go);
//   - Claude (a model whose name starts with "claude", e.g.
//     claude-sonnet-4@20250514): .../publishers/anthropic/models/{model}:rawPredict,
//     streamed as :streamRawPredict, translated as for Anthropic's Messages
//     API (anthropic*.go) with the body changes of vertex_claude.go.
//
// Both authenticate with the vendor's service account token (vertex.go).

// vertexClaudeAnswers reads Claude's answers on Vertex AI: Anthropic's
// Messages, with Google's errors.
var vertexClaudeAnswers = nativeReaders{newDecoder: newAnthropicStream, completion: anthropicCompletion,
	errorMessage: geminiErrorMessage}

// vertexTranslator is one attempt at a vertex vendor, whose model is
// Gemini or, with claude set, Claude.
type vertexTranslator struct {
	nativeAnswer
	b      *vertexBackend
	claude bool
}

// Request builds the generateContent request at the google publisher, or
// the rawPredict request at the anthropic publisher.
func (t *vertexTranslator) Request(out *http.Request) error {
	if t.claude {
		body, err := vertexClaudeBody(t.b.maxTokens, t.a)
		if err != nil {
			return t.v.refused(err)
		}
		method := "rawPredict"
		if t.a.Stream {
			method = "streamRawPredict"
		}
		return t.b.send(t.v, out, "anthropic", t.a.Model, method, "", body)
	}
	body, model, method, query, err := geminiRequestOf(t.a)
	if err != nil {
		return t.v.refused(err)
	}
	return t.b.send(t.v, out, "google", model, method, query, body)
}

// Interface guards
var _ Translator = (*vertexTranslator)(nil)
