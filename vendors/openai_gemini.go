package vendors

import (
	"fmt"
	"net/http"
	"net/url"
)

// OpenAI chat completions to the Gemini API's generateContent (kind google,
// api native): POST {base}/v1beta/models/{model}:generateContent, streamed as
// :streamGenerateContent?alt=sse, with the key in x-goog-api-key (never in
// the URL, where proxies and logs would keep it). The request is translated
// by gemini_request.go, the answer by gemini_response.go and
// gemini_stream.go. Embeddings need no translation and go to the
// OpenAI-compatible endpoint (see Vendor.Translator).

// geminiTranslator is one chat attempt at a google vendor.
type geminiTranslator struct {
	nativeAnswer
	b *geminiBackend
}

func newGeminiTranslator(v *Vendor, b *geminiBackend, a Attempt) *geminiTranslator {
	return &geminiTranslator{b: b, nativeAnswer: nativeAnswer{v: v, a: a,
		newDecoder: newGeminiStream, completion: geminiChatCompletion, errorMessage: geminiErrorMessage}}
}

// Request builds the generateContent request.
func (t *geminiTranslator) Request(out *http.Request) error {
	body, err := geminiAttemptBody(t.a)
	if err != nil {
		return fmt.Errorf("vendor %q: %w", t.v.id, err)
	}
	model := geminiModelName(t.a.Model)
	method, query := geminiMethod(t.a.Stream)
	o := outgoing{query: query, body: body, authName: "X-Goog-Api-Key", authValue: t.v.key, plain: true}
	o.path, o.rawPath = t.v.below("/v1beta/models/"+model+":"+method, "/v1beta/models/"+url.PathEscape(model)+":"+method)
	return t.v.send(out, &o)
}

// geminiChatCompletion translates a whole generateContent answer into an
// OpenAI chat.completion object.
func geminiChatCompletion(model string, body []byte) ([]byte, error) {
	c, err := geminiCompletion(model, body)
	if err != nil {
		return nil, err
	}
	return c.render(), nil
}

// Interface guards
var _ Translator = (*geminiTranslator)(nil)
