package vendors

import (
	"fmt"
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

// vertexGeminiTranslator is one attempt at a Gemini model on Vertex AI.
type vertexGeminiTranslator struct {
	nativeAnswer
	b *vertexBackend
}

func newVertexGeminiTranslator(v *Vendor, b *vertexBackend, a Attempt) *vertexGeminiTranslator {
	return &vertexGeminiTranslator{b: b, nativeAnswer: nativeAnswer{v: v, a: a,
		newDecoder: newGeminiStream, completion: geminiChatCompletion, errorMessage: geminiErrorMessage}}
}

func (t *vertexGeminiTranslator) Request(out *http.Request) error {
	body, err := geminiAttemptBody(t.a)
	if err != nil {
		return fmt.Errorf("vendor %q: %w", t.v.id, err)
	}
	method, query := geminiMethod(t.a.Stream)
	return t.b.send(t.v, out, "google", geminiModelName(t.a.Model), method, query, body)
}

// vertexClaudeTranslator is one attempt at a Claude model on Vertex AI.
type vertexClaudeTranslator struct {
	nativeAnswer
	b *vertexBackend
}

func newVertexClaudeTranslator(v *Vendor, b *vertexBackend, a Attempt) *vertexClaudeTranslator {
	return &vertexClaudeTranslator{b: b, nativeAnswer: nativeAnswer{v: v, a: a,
		newDecoder: newAnthropicStream, completion: anthropicCompletion, errorMessage: geminiErrorMessage}}
}

func (t *vertexClaudeTranslator) Request(out *http.Request) error {
	body, err := vertexClaudeBody(t.b.maxTokens, t.a)
	if err != nil {
		return fmt.Errorf("vendor %q: %w", t.v.id, err)
	}
	method := "rawPredict"
	if t.a.Stream {
		method = "streamRawPredict"
	}
	return t.b.send(t.v, out, "anthropic", t.a.Model, method, "", body)
}

// Interface guards
var (
	_ Translator = (*vertexGeminiTranslator)(nil)
	_ Translator = (*vertexClaudeTranslator)(nil)
)
