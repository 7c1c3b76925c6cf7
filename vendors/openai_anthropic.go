package vendors

import (
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

// anthropicAnswers reads Messages answers.
var anthropicAnswers = nativeReaders{newDecoder: newAnthropicStream, completion: anthropicCompletion,
	errorMessage: anthropicErrorMessage}

// anthropicTranslator is one attempt at an anthropic vendor.
type anthropicTranslator struct {
	nativeAnswer
	b *anthropicBackend
}

// Request builds POST {base}/v1/messages with the translated body,
// x-api-key and anthropic-version.
func (t *anthropicTranslator) Request(out *http.Request) error {
	r, err := parseChatRequest(t.a.Body)
	if err != nil {
		return t.v.refused(err)
	}
	body, err := anthropicMessagesBody(r, t.a.Model, t.b.maxTokens, t.a.Stream)
	if err != nil {
		return t.v.refused(err)
	}
	return t.v.send(out, &outgoing{path: t.b.path, rawPath: t.b.rawPath, body: body,
		authName: "X-Api-Key", authValue: t.v.key,
		protocolName: "Anthropic-Version", protocolValue: anthropicVersion, plain: true})
}

// Interface guards
var _ Translator = (*anthropicTranslator)(nil)
