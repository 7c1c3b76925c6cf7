package vendors

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tidwall/gjson"
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

// googleKind is the Gemini API, native by default.
var googleKind = &kind{
	name:           "google",
	defaultBaseURL: googleNativeBaseURL,
	endpoints:      endpointsOf(ChatCompletions, Embeddings),
	auth:           authBearer,
	configure:      googleConfigure,
	classify:       classifyGoogle,
	native: &nativeAPI{
		prepare:      googlePrepare,
		newStream:    func(_ *Vendor, a Attempt) streamDecoder { return newGeminiStream(a.Model) },
		completion:   googleCompletion,
		errorMessage: geminiErrorMessage,
	},
}

// googleOpenAIKind is a google vendor configured with api "openai": the same
// kind name and error rules, but no translation. Such a vendor points its
// kind here (rather than only clearing Vendor.native) so that everything
// consulting the kind's native hooks, TranslateResponse and TranslateError
// included, sees an OpenAI-compatible vendor.
var googleOpenAIKind = &kind{
	name:           "google",
	defaultBaseURL: googleOpenAIBaseURL,
	endpoints:      endpointsOf(ChatCompletions, Embeddings),
	auth:           authBearer,
	sanitize:       sanitizeNonOpenAI,
	classify:       classifyGoogle,
}

// googleConfigure applies Config.API and rejects what the kind cannot use.
func googleConfigure(v *Vendor, c Config) *ConfigError {
	if strings.TrimSpace(c.APIVersion) != "" {
		return &ConfigError{"api_version", `is not used by kind "google" (only azure takes an api_version)`}
	}
	switch strings.TrimSpace(c.API) {
	case "", "native":
		if strings.HasSuffix(v.basePath, googleOpenAIPath) {
			return &ConfigError{"base_url", `ends in /v1beta/openai, the OpenAI-compatible endpoint: ` +
				`set api "openai" to use it, or drop the path for the native API`}
		}
		if strings.HasSuffix(v.basePath, "/v1beta") {
			return &ConfigError{"base_url", `ends in /v1beta, which the native API adds itself: drop it`}
		}
		return nil
	case "openai":
		v.kind = googleOpenAIKind
		v.native = nil
		v.endpoints = googleOpenAIKind.endpoints
		if strings.TrimSpace(c.BaseURL) == "" {
			u, cerr := parseBaseURL(googleOpenAIBaseURL)
			if cerr != nil {
				return cerr
			}
			v.setBase(u)
		}
		return nil
	default:
		return &ConfigError{"api", fmt.Sprintf(`must be "native" or "openai", not %q`, c.API)}
	}
}

// googlePrepare builds a native Gemini API request: generateContent for chat,
// the OpenAI-compatible endpoint for embeddings.
func googlePrepare(v *Vendor, out *http.Request, a Attempt) error {
	if a.Endpoint == Embeddings {
		return googlePrepareEmbeddings(v, out, a)
	}
	body, err := geminiAttemptBody(a)
	if err != nil {
		return err
	}
	model := geminiModelName(a.Model)
	method, query := geminiMethod(a.Stream)
	googleSetURL(v, out, "/v1beta/models/"+model+":"+method,
		"/v1beta/models/"+url.PathEscape(model)+":"+method, query)
	out.Header.Set("X-Goog-Api-Key", v.key)
	out.Header.Set("Content-Type", "application/json")
	// The answer is translated here, so it must arrive as plain bytes: the
	// transport negotiates (and undoes) compression itself.
	out.Header.Del("Accept-Encoding")
	setBody(out, body)
	return nil
}

// googlePrepareEmbeddings sends an embeddings request as it is (with the
// model set) to the OpenAI-compatible endpoint below the native base.
func googlePrepareEmbeddings(v *Vendor, out *http.Request, a Attempt) error {
	body, err := v.shapeOpenAIBody(a)
	if err != nil {
		return err
	}
	rel := googleOpenAIPath + "/" + Embeddings.String()
	googleSetURL(v, out, rel, rel, "")
	out.Header.Set("Authorization", "Bearer "+v.key)
	out.Header.Set("Content-Type", "application/json")
	out.Header.Del("Accept-Encoding") // TranslateResponse passes it through as plain bytes
	setBody(out, body)
	return nil
}

// googleCompletion translates a native answer; embeddings come from the
// OpenAI-compatible endpoint and pass through.
func googleCompletion(_ *Vendor, a Attempt, body []byte) ([]byte, error) {
	if a.Endpoint != ChatCompletions {
		return body, nil
	}
	c, err := geminiCompletion(a.Model, body)
	if err != nil {
		return nil, err
	}
	return c.render(), nil
}

// googleSetURL points out at the vendor's base plus suffix: path is decoded,
// rawPath the same path with the model segment escaped.
func googleSetURL(v *Vendor, out *http.Request, path, rawPath, query string) {
	u := &url.URL{
		Scheme:   v.base.Scheme,
		Host:     v.base.Host,
		Path:     v.basePath + path,
		RawQuery: query,
	}
	u.RawPath = rawPathIfNeeded(u.Path, v.baseRawPath+rawPath)
	out.URL = u
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
	e := errorRoot(body).Get("error")
	if e.IsObject() {
		errType = e.Get("status").String()
		if errType == "" {
			if t := e.Get("type"); t.Type == gjson.String {
				errType = t.String()
			}
		}
	}
	return errType, ErrorMessage(body)
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
