package vendors

import (
	"net/http"
)

// OpenAI chat completions to Amazon Bedrock's Converse API: the request is
// translated by bedrockConverseBody (aws_converse.go), a whole answer by
// bedrockCompletion, a ConverseStream by bedrockStream (aws_stream.go).

// bedrockAnswers reads Converse answers.
var bedrockAnswers = nativeReaders{newDecoder: newBedrockDecoder, completion: bedrockCompletion,
	errorMessage: bedrockErrorMessage}

// bedrockTranslator is one attempt at an aws vendor.
type bedrockTranslator struct {
	nativeAnswer
	b *bedrockBackend
}

// newBedrockDecoder is the ConverseStream decoder, as nativeAnswer makes it.
func newBedrockDecoder(string) streamDecoder { return newBedrockStream() }

// Request builds a Converse (or ConverseStream) request: the path with the
// escaped model id, the Converse body, and the auth, signed last
// (bedrockBackend.send).
func (t *bedrockTranslator) Request(out *http.Request) error {
	r, err := parseChatRequest(t.a.Body)
	if err != nil {
		return t.v.refused(err)
	}
	body, err := bedrockConverseBody(r, t.a.Model, t.b.maxTokens)
	if err != nil {
		return t.v.refused(err)
	}
	op := "/converse"
	if t.a.Stream {
		op = "/converse-stream"
	}
	return t.b.send(t.v, out, t.a.Model, op, body)
}

// Interface guards
var _ Translator = (*bedrockTranslator)(nil)
