package vendors

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/caddy-llm/llmrouter/internal/meter"
)

// Google's Gemini API comes in two shapes, chosen per vendor by Config.API:
//
//   - "native" (the default, also ""): the production generateContent API,
//     POST {base}/v1beta/models/{model}:generateContent, streamed as
//     :streamGenerateContent?alt=sse, with the key in x-goog-api-key (never
//     in the URL, where proxies and logs would keep it). Chat requests are
//     translated both ways (gemini_request.go, gemini_response.go,
//     gemini_stream.go). Embeddings, which need no translation, still go to
//     the OpenAI-compatible endpoint {base}/v1beta/openai/embeddings.
//   - "openai": the OpenAI-compatible endpoint, {base}/v1beta/openai, with
//     the key as a Bearer token; requests and answers pass through.
//
// Vertex AI (OAuth2 service accounts, regional hosts, Claude) is the separate
// "vertex" kind (vertex.go), sharing the Gemini translation.

// googleNativeBaseURL and googleOpenAIBaseURL are the two default bases.
const (
	googleNativeBaseURL = "https://generativelanguage.googleapis.com"
	googleOpenAIBaseURL = "https://generativelanguage.googleapis.com/v1beta/openai"
	// googleOpenAIPath is where the OpenAI-compatible endpoint lives below
	// the native base.
	googleOpenAIPath = "/v1beta/openai"
)

// google is the Gemini API, native by default.
func init() {
	register(&kind{
		name:           "google",
		defaultBaseURL: googleNativeBaseURL,
		settings:       settingAPI,
		backend:        googleBackend,
	})
}

// googleOpenAIOptions are the Gemini API's OpenAI-compatible endpoint's.
var googleOpenAIOptions = compatOptions{
	endpoints: endpointsOf(ChatCompletions, Embeddings),
	auth:      authBearer,
	sanitize:  sanitizeNonOpenAI,
	classify:  classifyGoogle,
}

// geminiBackend is a google vendor on the native API.
type geminiBackend struct {
	// embeddings is the OpenAI-compatible endpoint below the native base,
	// where embeddings go untranslated.
	embeddings *compatBackend
}

func (b *geminiBackend) serves(e Endpoint) bool { return b.embeddings.serves(e) }

func (b *geminiBackend) classify(status int, body []byte) (Verdict, bool) {
	return classifyGoogle(status, body)
}

// googleBackend applies Config.API: the native API, or the OpenAI-compatible
// endpoint (with its own default base URL).
func googleBackend(v *Vendor, c Config) (backend, *ConfigError) {
	switch strings.TrimSpace(c.API) {
	case "", "native":
		if strings.HasSuffix(v.basePath, googleOpenAIPath) {
			return nil, &ConfigError{"base_url", `ends in /v1beta/openai, the OpenAI-compatible endpoint: ` +
				`set api "openai" to use it, or drop the path for the native API`}
		}
		if strings.HasSuffix(v.basePath, "/v1beta") {
			return nil, &ConfigError{"base_url", `ends in /v1beta, which the native API adds itself: drop it`}
		}
		return &geminiBackend{embeddings: newCompatBackend(v, googleOpenAIOptions, googleOpenAIPath)}, nil
	case "openai":
		if strings.TrimSpace(c.BaseURL) == "" {
			u, cerr := parseBaseURL(googleOpenAIBaseURL)
			if cerr != nil {
				return nil, cerr
			}
			v.setBase(u)
		}
		return newCompatBackend(v, googleOpenAIOptions, ""), nil
	default:
		return nil, &ConfigError{"api", fmt.Sprintf(`must be "native" or "openai", not %q`, c.API)}
	}
}

// geminiMethod returns the generateContent method and query for a stream or
// not.
func geminiMethod(stream bool) (method, query string) {
	if stream {
		return "streamGenerateContent", "alt=sse"
	}
	return "generateContent", ""
}

// geminiModelName drops the "models/" prefix Google's own SDKs and docs
// write model names with; the URL template adds it.
func geminiModelName(model string) string {
	return strings.TrimPrefix(model, "models/")
}

// geminiErrorMessage reads Google's error body,
// {"error":{"code":429,"message":"…","status":"RESOURCE_EXHAUSTED","details":[…]}},
// also wrapped in a one-element array (the OpenAI-compatible endpoint, some
// stream errors). The type is the status (RESOURCE_EXHAUSTED); an
// Anthropic-shaped body (Claude on Vertex) gives its error.type.
func geminiErrorMessage(body []byte) (errType, message string) {
	e, _ := meter.ReadError(body)
	return e.Type, truncateUTF8(e.Message, maxMessageBytes)
}

// classifyGoogle recognises the Gemini API's account problems, which it
// reports as 400s:
//
//   - a bad key is 400 INVALID_ARGUMENT with details[].reason
//     "API_KEY_INVALID" and the message "API key not valid...";
//   - FAILED_PRECONDITION is the project's billing or region ("free tier is
//     not available in your country"), not the request.
//
// Both are read from the structured error, never by searching the whole
// body, so client text echoed in a message cannot trigger them.
func classifyGoogle(status int, body []byte) (Verdict, bool) {
	if status != http.StatusBadRequest {
		return Verdict{}, false
	}
	e := errorRoot(body).Get("error")
	for _, d := range e.Get("details").Array() {
		if d.Get("reason").String() == "API_KEY_INVALID" {
			return Verdict{true, ReasonAuth}, true
		}
	}
	if strings.HasPrefix(e.Get("message").String(), "API key not valid") {
		return Verdict{true, ReasonAuth}, true
	}
	if e.Get("status").String() == "FAILED_PRECONDITION" {
		return Verdict{true, ReasonAuth}, true
	}
	return Verdict{}, false
}

// Interface guards
var _ backend = (*geminiBackend)(nil)
