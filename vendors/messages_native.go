package vendors

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/caddy-llm/llmrouter/internal/anthropic"
	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/meter"
)

// Anthropic's Messages API, from a Messages client to the vendors that serve
// Claude natively, passed through: the client's body goes with only the
// model (and where the vendor needs it, anthropic_version) changed, so
// cache_control, thinking blocks and their signatures, and every beta
// feature reach Claude as the client wrote them.
//
//   - anthropic: POST {base}/v1/messages (count_tokens:
//     /v1/messages/count_tokens) with the vendor-side model in the body,
//     x-api-key, the client's anthropic-version (2023-06-01 when it sends
//     none) and its anthropic-beta;
//   - vertex (Claude models): .../publishers/anthropic/models/{model}:rawPredict
//     or :streamRawPredict, the body without "model" and with
//     "anthropic_version": "vertex-2023-10-16"; anthropic-beta goes as a
//     header;
//   - aws: POST /model/{id}/invoke or /invoke-with-response-stream, the body
//     without "model" and "stream", with "anthropic_version":
//     "bedrock-2023-05-31" and the client's anthropic-beta as the body's
//     "anthropic_beta" list (Bedrock reads betas there), signed as Converse is.
//
// count_tokens: anthropic's own; vertex's
// .../publishers/anthropic/models/count-tokens:rawPredict with the model in
// the body; aws's CountTokens, POST /model/{foundation model id}/count-tokens
// with {"input":{"invokeModel":{"body":"<base64 of the InvokeModel body>"}}},
// whose {"inputTokens": n} the client gets as {"input_tokens": n}.
//
// The answer is Anthropic's: messagesStream reads a stream (Bedrock's
// event-stream frames turned back into SSE events), messagesAnswer a whole
// answer, and errors reach the client in Anthropic's shape.

// bedrockAnthropicVersion is the anthropic_version Bedrock requires in the body.
const bedrockAnthropicVersion = "bedrock-2023-05-31"

// messagesTranslator is one attempt of a Messages (or count_tokens) request
// at a vendor that serves Claude natively.
type messagesTranslator struct {
	v *Vendor
	a Attempt
	s *messagesStream
}

func newMessagesTranslator(v *Vendor, a Attempt) *messagesTranslator {
	_, bedrock := v.backend.(*bedrockBackend)
	return &messagesTranslator{v: v, a: a, s: newMessagesStream(a.PromptTokens, bedrock && a.Stream)}
}

// servesMessagesNatively reports whether a vendor takes model's Messages
// requests as they are: every anthropic vendor, and Claude on aws and vertex.
func servesMessagesNatively(v *Vendor, model string) bool {
	switch v.backend.(type) {
	case *anthropicBackend:
		return true
	case *vertexBackend:
		return vertexIsClaude(model)
	case *bedrockBackend:
		return bedrockIsClaude(model)
	}
	return false
}

// bedrockIsClaude tells Anthropic's models on Bedrock by id, inference
// profile (us.anthropic..., global.anthropic...) or ARN.
func bedrockIsClaude(model string) bool {
	return strings.Contains(model, "anthropic.claude")
}

// Request writes the attempt for the vendor's kind.
func (t *messagesTranslator) Request(out *http.Request) error {
	// Other vendors' thinking and tool ids, which Claude refuses
	// (messages_replay.go).
	safe, err := messagesReplaySafe(t.a.Body)
	if err != nil {
		return t.v.refused(err)
	}
	switch b := t.v.backend.(type) {
	case *anthropicBackend:
		body, err := withModel(safe, t.a.Model)
		if err != nil {
			return t.v.refused(err)
		}
		path, rawPath := b.path, b.rawPath
		if t.a.Endpoint == CountTokens {
			path, rawPath = b.countPath, b.countRawPath
		}
		version := strings.TrimSpace(out.Header.Get("Anthropic-Version"))
		if version == "" {
			version = anthropicVersion
		}
		return t.v.send(out, &outgoing{path: path, rawPath: rawPath, body: body,
			authName: "X-Api-Key", authValue: t.v.key,
			protocolName: "Anthropic-Version", protocolValue: version, plain: true})
	case *vertexBackend:
		body, err := messagesBodyWithVersion(safe, vertexAnthropicVersion, false)
		if err != nil {
			return t.v.refused(err)
		}
		out.Header.Del("Anthropic-Version") // the version is in the body
		if t.a.Endpoint == CountTokens {
			// One endpoint counts for every Claude model: the model is in
			// the body.
			if body, err = sjson.SetBytes(body, "model", t.a.Model); err != nil {
				return t.v.refused(err)
			}
			return b.send(t.v, out, "anthropic", "count-tokens", "rawPredict", "", body)
		}
		method := "rawPredict"
		if t.a.Stream {
			method = "streamRawPredict"
		}
		return b.send(t.v, out, "anthropic", t.a.Model, method, "", body)
	case *bedrockBackend:
		body, err := messagesBodyWithVersion(safe, bedrockAnthropicVersion, true)
		if err == nil {
			body, err = withAnthropicBetas(body, out.Header.Values("Anthropic-Beta"))
		}
		if err == nil && t.a.Endpoint == CountTokens {
			body, err = bedrockCountTokensBody(body)
		}
		if err != nil {
			return t.v.refused(err)
		}
		model, op := t.a.Model, "/invoke"
		switch {
		case t.a.Endpoint == CountTokens:
			model, op = bedrockFoundationModel(model), "/count-tokens"
		case t.a.Stream:
			op = "/invoke-with-response-stream"
		}
		out.Header.Del("Anthropic-Version")
		out.Header.Del("Anthropic-Beta")
		return b.send(t.v, out, model, op, body)
	}
	return t.v.refused(fmt.Errorf("kind %s does not serve the Messages API", t.v.kind.name))
}

// messagesBodyWithVersion is a Messages body for a vendor that names the
// model in the URL: without "model" (every member of that name), with
// anthropic_version, and for Bedrock without "stream" (the operation says
// it).
func messagesBodyWithVersion(body []byte, version string, dropStream bool) ([]byte, error) {
	fields := []string{"model", "anthropic_version"}
	if dropStream {
		fields = append(fields, "stream")
	}
	out := body
	var err error
	for _, f := range fields {
		for gjson.GetBytes(out, f).Exists() {
			if out, err = sjson.DeleteBytes(out, f); err != nil {
				return nil, err
			}
		}
	}
	return sjson.SetBytes(out, "anthropic_version", version)
}

// bedrockCountTokensBody wraps an InvokeModel body for Bedrock's
// CountTokens: {"input":{"invokeModel":{"body":"<base64>"}}}. A
// count_tokens request has no max_tokens, which InvokeModel requires; any
// will do, as it changes no input token.
func bedrockCountTokensBody(invoke []byte) ([]byte, error) {
	var err error
	if !gjson.GetBytes(invoke, "max_tokens").Exists() {
		if invoke, err = sjson.SetBytes(invoke, "max_tokens", 1); err != nil {
			return nil, err
		}
	}
	return sjson.SetBytes([]byte(`{"input":{"invokeModel":{}}}`), "input.invokeModel.body", base64.StdEncoding.EncodeToString(invoke))
}

// bedrockFoundationModel is the foundation model of a cross-region
// inference profile id (us.anthropic.claude… → anthropic.claude…):
// CountTokens takes only foundation model ids. Other ids (ARNs) stay.
func bedrockFoundationModel(model string) string {
	if i := strings.Index(model, ".anthropic."); i > 0 && !strings.HasPrefix(model, "arn:") {
		return model[i+1:]
	}
	return model
}

// withAnthropicBetas adds the client's anthropic-beta header values (each
// a comma-separated list) as the body's anthropic_beta list.
func withAnthropicBetas(body []byte, headers []string) ([]byte, error) {
	var betas []string
	for _, h := range headers {
		for _, b := range strings.Split(h, ",") {
			if b = strings.TrimSpace(b); b != "" {
				betas = append(betas, b)
			}
		}
	}
	if len(betas) == 0 {
		return body, nil
	}
	return sjson.SetBytes(body, "anthropic_beta", betas)
}

// ResponseHeaders: a stream is Anthropic SSE for the client (Bedrock's
// frames are turned into it), of a length known only at its end.
func (t *messagesTranslator) ResponseHeaders(resp *http.Response) {
	resp.Header.Del("Content-Encoding")
	if t.a.Stream {
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
		resp.Header.Set("Content-Type", "text/event-stream")
		return
	}
	resp.Header.Set("Content-Type", "application/json")
}

func (t *messagesTranslator) Feed(p []byte, eof bool) error  { return t.s.Feed(p, eof) }
func (t *messagesTranslator) Output() []byte                 { return t.s.Output() }
func (t *messagesTranslator) End()                           { t.s.End() }
func (t *messagesTranslator) Interrupt(message, code string) { t.s.Interrupt(message, code) }
func (t *messagesTranslator) Committed() bool                { return t.s.Committed() }
func (t *messagesTranslator) Done() bool                     { return t.s.Done() }
func (t *messagesTranslator) Err() *meter.VendorError        { return t.s.Err() }
func (t *messagesTranslator) Usage() billing.Usage           { return t.s.Usage() }

// Answer passes the answer as it is. A count_tokens answer is no
// completion: it is read as content so that it commits, and costs nothing.
func (t *messagesTranslator) Answer(body []byte) ([]byte, meter.Result, error) {
	if t.a.Endpoint == CountTokens {
		if _, bedrock := t.v.backend.(*bedrockBackend); bedrock {
			// Bedrock's {"inputTokens": n}, as Anthropic's.
			if n := gjson.GetBytes(body, "inputTokens"); n.Type == gjson.Number {
				body = strconv.AppendInt([]byte(`{"input_tokens":`), n.Int(), 10)
				body = append(body, '}')
			}
		}
		return body, countTokensResult(body), nil
	}
	return body, messagesAnswer(body, t.a.PromptTokens), nil
}

// CountTokensFinal reports whether the vendor's error to a count_tokens
// request goes to the client (Anthropic counts every model it serves, so its
// error is about the request), rather than the router's estimate: Bedrock
// and Vertex AI count only some Claude models, in some regions.
func (v *Vendor) CountTokensFinal() bool {
	_, anthropic := v.backend.(*anthropicBackend)
	return anthropic
}

// ErrorBody renders the vendor's error in Anthropic's shape, without the key.
func (t *messagesTranslator) ErrorBody(h http.Header, status int, body []byte) []byte {
	body = t.v.RedactBody(body)
	var typ, msg string
	switch t.v.backend.(type) {
	case *bedrockBackend:
		typ, msg = bedrockErrorMessage(body)
		typ = anthropicTypeOfOpenAI(typ)
	default:
		e, _ := meter.ReadError(body)
		typ, msg = e.Type, e.Message
	}
	h.Set("Content-Type", "application/json")
	return messagesErrorBody(status, typ, t.v.Redact(msg))
}

func (t *messagesTranslator) Release() {}

// countTokensResult reads count_tokens' {"input_tokens": n}.
func countTokensResult(body []byte) meter.Result {
	n := gjson.GetBytes(body, "input_tokens")
	if n.Type != gjson.Number {
		e, _ := meter.ReadError(body)
		if e.Message == "" {
			e.Message = "the answer has no input_tokens"
		}
		return meter.Result{Err: &e}
	}
	return meter.Result{HasContent: true}
}

// messagesErrorBody is an Anthropic error body: the vendor's type when it
// is one of Anthropic's, else the type Anthropic gives the status.
func messagesErrorBody(status int, typ, msg string) []byte {
	if !isAnthropicErrorType(typ) {
		typ = anthropic.TypeOf(status)
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	if msg == "" {
		msg = fmt.Sprintf("the vendor answered HTTP %d", status)
	}
	return anthropic.AppendError(nil, anthropic.Error{Type: typ, Message: truncateUTF8(msg, maxMessageBytes)}, nil)
}

// appendMessagesErrorEvent appends an Anthropic error event.
func appendMessagesErrorEvent(dst []byte, typ, msg string) []byte {
	if !isAnthropicErrorType(typ) {
		typ = anthropic.API
	}
	return anthropic.AppendErrorEvent(dst, anthropic.Error{Type: typ, Message: msg})
}

func isAnthropicErrorType(typ string) bool {
	switch typ {
	case anthropic.InvalidRequest, anthropic.Authentication, anthropic.Billing, anthropic.Permission,
		anthropic.NotFound, anthropic.RequestTooLarge, anthropic.RateLimit, anthropic.API,
		anthropic.Timeout, anthropic.Overloaded:
		return true
	}
	return false
}

// anthropicTypeOfOpenAI maps the OpenAI error types the router's readers
// give (bedrockOpenAIErrorType's, OpenAI's own) to Anthropic's; "" stays ""
// (the status decides).
func anthropicTypeOfOpenAI(typ string) string {
	switch typ {
	case "server_error":
		return anthropic.API
	case "insufficient_quota":
		return anthropic.RateLimit
	}
	return typ
}

// messagesTypeOfBedrock is the Anthropic error type of a Bedrock exception.
func messagesTypeOfBedrock(awsType string) string {
	if t := anthropicTypeOfOpenAI(bedrockOpenAIErrorType(awsType)); isAnthropicErrorType(t) {
		return t
	}
	return anthropic.API
}

// send writes a Bedrock runtime request: the operation op of model, body,
// and the auth (a Bedrock API key, or SigV4 over the exact body, last).
//
// Headers: Content-Type is application/json; the client's Accept is dropped
// (it was meant for the client's API; the AWS SDKs send none), and so is
// any X-Amz-* header the operator did not configure, so that a client can
// neither smuggle in an X-Amz-Security-Token nor break the signature.
func (b *bedrockBackend) send(v *Vendor, out *http.Request, model, op string, body []byte) error {
	o := outgoing{host: awsHost(v.base), body: body, plain: true}
	o.path, o.rawPath = v.below("/model/"+model+op, "/model/"+bedrockEscapeModelID(model)+op)
	return b.sendSigned(v, out, &o, http.MethodPost)
}

// sendSigned sends o with method (POST, or GET without a body) as every
// Bedrock call goes: the credentials fetched first, a Bedrock API key as a
// bearer token or else SigV4 over the exact request, and no Accept or X-Amz-*
// header the operator did not configure.
func (b *bedrockBackend) sendSigned(v *Vendor, out *http.Request, o *outgoing, method string) error {
	var creds aws.Credentials
	if b.creds != nil {
		var err error
		if creds, err = b.creds.Retrieve(out.Context()); err != nil {
			return v.refused(fmt.Errorf("aws credentials: %w", err))
		}
	}
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
		out.Method = method
		if method == http.MethodGet {
			h.Del("Content-Type")
			out.Body, out.GetBody, out.ContentLength, body = http.NoBody, nil, 0, nil
		}
		if b.creds == nil {
			return nil
		}
		// Last: the signature covers the exact body bytes just installed.
		return bedrockSign(out.Context(), b.signer, creds, out, body, awsSigningService, b.region, b.now())
	}
	return v.send(out, o)
}

// Interface guards
var _ Translator = (*messagesTranslator)(nil)
