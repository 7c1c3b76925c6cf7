package vendors

import (
	"fmt"
	"net/http"
)

// OpenAI chat completions to Anthropic's Messages API: the request is
// translated by anthropicMessagesBody (anthropic.go), a whole answer by
// anthropicCompletion, a stream by anthropicStream (anthropic_stream.go).

// anthropicVersion is the Messages API version every request names. It is
// the only version there is; the translation is written against it, so an
// operator's anthropic-version header is replaced. Operator headers such as
// anthropic-beta or anthropic-workspace-id are kept.
const anthropicVersion = "2023-06-01"

// anthropicTranslator is one attempt at an anthropic vendor.
type anthropicTranslator struct {
	nativeAnswer
	b *anthropicBackend
}

func newAnthropicTranslator(v *Vendor, b *anthropicBackend, a Attempt) *anthropicTranslator {
	return &anthropicTranslator{b: b, nativeAnswer: nativeAnswer{v: v, a: a,
		newDecoder: newAnthropicStream, completion: anthropicCompletion, errorMessage: anthropicErrorMessage}}
}

// Request builds POST {base}/v1/messages with the translated body,
// x-api-key and anthropic-version.
func (t *anthropicTranslator) Request(out *http.Request) error {
	r, err := parseChatRequest(t.a.Body)
	if err != nil {
		return fmt.Errorf("vendor %q: %w", t.v.id, err)
	}
	body, err := anthropicMessagesBody(r, t.a.Model, t.b.maxTokens, t.a.Stream)
	if err != nil {
		return fmt.Errorf("vendor %q: %w", t.v.id, err)
	}
	return t.v.send(out, &outgoing{path: t.b.path, rawPath: t.b.rawPath, body: body,
		authName: "X-Api-Key", authValue: t.v.key,
		protocolName: "Anthropic-Version", protocolValue: anthropicVersion, plain: true})
}

// Interface guards
var _ Translator = (*anthropicTranslator)(nil)
