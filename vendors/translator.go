package vendors

import (
	"fmt"
	"net/http"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/meter"
)

// A Translator carries one attempt of a client's request to one vendor and
// the vendor's answer back: it writes the request in the vendor's API, and
// reads the answer, streamed or whole, into the client's API, telling on the
// way what the router needs to know of it: whether the first content token
// has come (the commit point), the usage, an error the vendor reported inside
// a 200, whether the answer completed.
//
// There is one implementation per pair of client API (the Endpoint) and
// vendor API, each in a file named for the pair (openai_compat.go,
// openai_anthropic.go...), and Vendor.Translator is the one place that picks
// it. A Translator lives for one attempt and keeps that attempt's state (a
// stream decoder's, the meter's); it is not safe for concurrent use. Release
// it when the attempt is over.
type Translator interface {
	// Request shapes out, the attempt's own copy of the client's request,
	// for the vendor: URL, headers, auth and body. It does everything that
	// can fail before it changes out, so out is left untouched on error; an
	// error means this vendor cannot take the request (another may).
	Request(out *http.Request) error

	// ResponseHeaders fits the header of a successful (2xx) answer to the
	// body the client will read (its media type; no stale length or
	// encoding). It is called before the body is read.
	ResponseHeaders(resp *http.Response)

	// ResponseStream reads a streamed answer.
	ResponseStream

	// Answer translates a whole (non-streaming) answer and reads it. An
	// error means the answer cannot be read at all.
	Answer(body []byte) ([]byte, meter.Result, error)

	// ErrorBody renders a vendor's error answer (status >= 400) that goes to
	// the client as it is, in the client API's error shape, without the
	// vendor's key; it may set h's Content-Type.
	ErrorBody(h http.Header, status int, body []byte) []byte

	// Release frees the translator's buffers; it must not be used after.
	Release()
}

// ResponseStream is a streamed answer on its way to the client: the vendor's
// bytes in, the client's events out, event by event, and what they said.
type ResponseStream interface {
	// Feed reads the next bytes of the vendor's stream, in any split; eof
	// says they are its last (they may be empty). An error means the stream
	// cannot be read further: it is broken.
	Feed(p []byte, eof bool) error
	// Output returns the bytes ready for the client and empties the buffer;
	// the slice is valid until the next call to Feed, Output or End.
	Output() []byte
	// End is called when the vendor's stream is over and the client is to
	// get its last bytes: whatever the vendor left unterminated is passed
	// on, as if the vendor had finished it.
	End()
	// Committed reports whether the answer reached its first content token.
	Committed() bool
	// Done reports whether the answer ended properly.
	Done() bool
	// Err returns the first error the vendor reported inside the stream.
	Err() *meter.VendorError
	// Usage is what the answer consumed so far: as the vendor reported it,
	// or else estimated.
	Usage() billing.Usage
	// Interrupt ends a stream that broke after its commit point (the vendor
	// went away or went quiet): it adds to the output the client API's last
	// event for a failed answer (chat completions: an error event;
	// Responses: response.failed), so that the client never takes a broken
	// answer for a complete one. It is the translator's because only the
	// stream knows what that event must carry (a response id, the next
	// sequence number). code is the error's code, e.g. "stream_interrupted".
	Interrupt(message, code string)
}

// Attempt is what one try of a request at this vendor needs.
type Attempt struct {
	Endpoint Endpoint
	Model    string // the vendor-side model (or Azure deployment) name
	Body     []byte // the client's JSON body, already without router-only fields; NEVER modified in place
	Stream   bool   // the client asked for a stream: stream_options are adjusted to the vendor
	// Layout, when known, says that the caller validated Body as a JSON
	// object and where its "model" and "stream_options" are, which spares
	// the translation a scan of it (see Layout). Zero: it validates Body
	// itself.
	Layout Layout
	// ClientWantsUsage is whether the client asked for the usage chunk of a
	// stream (stream_options.include_usage): the router may ask the vendor
	// for it to meter, and strips it again when the client did not.
	ClientWantsUsage bool
	// PromptTokens is the router's estimate of the prompt, the usage it
	// reports when the vendor reports none.
	PromptTokens int
	// ResponseIDs signs and opens the ids of Responses API answers (they
	// name the vendor that produced them); nil outside the Responses API.
	ResponseIDs *ResponseIDs
	// TokenCapAdded says that the body's max_completion_tokens is not the
	// client's but the router's, added to bound a hard budget's worst case:
	// kinds whose API may not know that name send it as max_tokens.
	TokenCapAdded bool
}

// Translator returns the translation of attempt a at this vendor. It is the
// one place that picks the implementation, from the client's API (the
// endpoint) and the vendor's.
func (v *Vendor) Translator(a Attempt) (Translator, error) {
	if !v.Supports(a.Endpoint) {
		return nil, fmt.Errorf("vendor %q: kind %s does not serve %s", v.id, v.kind.name, a.Endpoint)
	}
	if a.Model == "" {
		return nil, fmt.Errorf("vendor %q: no model to send", v.id)
	}
	if (a.Endpoint == Messages || a.Endpoint == CountTokens) && servesMessagesNatively(v, a.Model) {
		// Claude, as the client wrote it (messages_native.go).
		return newMessagesTranslator(v, a), nil
	}
	if a.Endpoint == CountTokens {
		// Only Claude counts; the router estimates the rest.
		return nil, fmt.Errorf("vendor %q: model %q has no count_tokens", v.id, a.Model)
	}
	if !v.backend.serves(a.Endpoint) {
		// A client API the vendor does not speak, through its chat
		// completions (bridge.go).
		return newBridgeTranslator(v, a), nil
	}
	switch b := v.backend.(type) {
	case *compatBackend:
		if a.Endpoint == Responses {
			return newResponsesTranslator(v, b, a), nil
		}
		return newCompatTranslator(v, b, a), nil
	case *anthropicBackend:
		return &anthropicTranslator{b: b, nativeAnswer: nativeAnswer{v: v, a: a, read: &anthropicAnswers}}, nil
	case *bedrockBackend:
		if a.Endpoint == Embeddings {
			return newEmbeddingsTranslator(v, a, b, nil), nil
		}
		return &bedrockTranslator{b: b, nativeAnswer: nativeAnswer{v: v, a: a, read: &bedrockAnswers}}, nil
	case *geminiBackend:
		if a.Endpoint == Embeddings {
			// Embeddings need no translation: the Gemini API serves them
			// on its OpenAI-compatible endpoint.
			return newCompatTranslator(v, b.embeddings, a), nil
		}
		return &geminiTranslator{nativeAnswer{v: v, a: a, read: &geminiAnswers}}, nil
	case *vertexBackend:
		if a.Endpoint == Embeddings {
			return newEmbeddingsTranslator(v, a, nil, b), nil
		}
		if vertexIsClaude(a.Model) {
			return &vertexTranslator{nativeAnswer{v: v, a: a, read: &vertexClaudeAnswers}, b, true}, nil
		}
		return &vertexTranslator{nativeAnswer{v: v, a: a, read: &geminiAnswers}, b, false}, nil
	}
	return nil, fmt.Errorf("vendor %q: no translation from %s to kind %s", v.id, a.Endpoint, v.kind.name)
}
