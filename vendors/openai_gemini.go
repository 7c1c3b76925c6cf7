package vendors

import (
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

// geminiAnswers reads generateContent answers, the Gemini API's and Vertex
// AI's.
var geminiAnswers = nativeReaders{newDecoder: newGeminiStream, completion: geminiChatCompletion,
	errorMessage: geminiErrorMessage}

// geminiTranslator is one chat attempt at a google vendor. Its backend has
// nothing a chat request needs: the key is the vendor's.
type geminiTranslator struct{ nativeAnswer }

// Request builds the generateContent request.
func (t *geminiTranslator) Request(out *http.Request) error {
	body, model, method, query, err := geminiRequestOf(t.a)
	if err != nil {
		return t.v.refused(err)
	}
	o := outgoing{query: query, body: body, authName: "X-Goog-Api-Key", authValue: t.v.key, plain: true}
	o.path, o.rawPath = t.v.below("/v1beta/models/"+model+":"+method, "/v1beta/models/"+url.PathEscape(model)+":"+method)
	return t.v.send(out, &o)
}

// geminiRequestOf translates attempt a for generateContent: the body, the
// model as the URL names it, and the method and query (a stream's, or not).
func geminiRequestOf(a Attempt) (body []byte, model, method, query string, err error) {
	if body, err = geminiAttemptBody(a); err != nil {
		return nil, "", "", "", err
	}
	method, query = geminiMethod(a.Stream)
	return body, geminiModelName(a.Model), method, query, nil
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
