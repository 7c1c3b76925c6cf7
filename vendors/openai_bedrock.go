package vendors

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
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
// escaped model id, the Converse body, and the auth, signed last.
//
// Headers: Content-Type is application/json; the client's Accept is dropped
// (it was meant for the OpenAI API; the AWS SDKs send none), and so is any
// X-Amz-* header the operator did not configure, so that a client can
// neither smuggle in an X-Amz-Security-Token nor break the signature.
func (t *bedrockTranslator) Request(out *http.Request) error {
	v, b, a := t.v, t.b, t.a
	r, err := parseChatRequest(a.Body)
	if err != nil {
		return v.refused(err)
	}
	body, err := bedrockConverseBody(r, a.Model, b.maxTokens)
	if err != nil {
		return v.refused(err)
	}
	var creds aws.Credentials
	if b.creds != nil {
		if creds, err = b.creds.Retrieve(out.Context()); err != nil {
			return v.refused(fmt.Errorf("aws credentials: %w", err))
		}
	}
	op := "/converse"
	if a.Stream {
		op = "/converse-stream"
	}
	o := outgoing{host: awsHost(v.base), body: body, plain: true}
	o.path, o.rawPath = v.below("/model/"+a.Model+op, "/model/"+bedrockEscapeModelID(a.Model)+op)
	if b.creds == nil {
		o.authName, o.authValue = "Authorization", "Bearer "+v.key
	}
	o.finish = func(out *http.Request, body []byte) error {
		h := out.Header
		if _, configured := v.headers["Accept"]; !configured {
			h.Del("Accept")
		}
		for name := range h {
			if len(name) > 6 && strings.EqualFold(name[:6], "X-Amz-") {
				if _, configured := v.headers[name]; !configured {
					delete(h, name)
				}
			}
		}
		out.Method = http.MethodPost
		if b.creds == nil {
			return nil
		}
		// Last: the signature covers the exact body bytes just installed.
		return bedrockSign(out.Context(), b.signer, creds, out, body, awsSigningService, b.region, b.now())
	}
	return v.send(out, &o)
}

// Interface guards
var _ Translator = (*bedrockTranslator)(nil)
