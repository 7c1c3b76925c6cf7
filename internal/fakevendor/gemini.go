package fakevendor

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// GeminiVendor is a fake Google generateContent server on 127.0.0.1: the
// Gemini API (POST …/v1beta/models/{model}:generateContent) and Vertex AI
// (POST …/v1/projects/{p}/locations/{l}/publishers/google/models/{model}:generateContent)
// alike, under any path prefix. It answers
//
//   - :generateContent with one GenerateContentResponse;
//   - :streamGenerateContent?alt=sse with server-sent events (CRLF line
//     ends, each event flushed, PerToken apart), one response per thought
//     word, reply word and function call, usageMetadata cumulative on every
//     event and finishReason on the last;
//   - :streamGenerateContent without alt=sse with the same responses as one
//     JSON array, as Google does.
//
// Claude models on Vertex AI (…/publishers/anthropic/models/{model}:rawPredict
// and :streamRawPredict, Anthropic bodies with anthropic_version
// vertex-2023-10-16 and no model) are answered as the Anthropic fake
// answers, from Claude, with the message JSON or Anthropic's SSE stream;
// …/publishers/anthropic/models/count-tokens:rawPredict (a body with the
// model) answers {"input_tokens": len(body)/4+1000}.
//
// It checks what Google checks first (the key when RequireKey is set, a JSON
// object body with contents and only GenerateContentRequest's fields) and
// answers errors in Google's shape,
// {"error":{"code":429,"message":"…","status":"RESOURCE_EXHAUSTED"}}. It
// records every request it receives. It never reaches the internet. Its URL is
// a base_url for both the google and the vertex kind.
type GeminiVendor struct {
	server[GeminiOptions, Recorded]
}

// GeminiOptions shape the fake's answers. Zero values mean "answer
// immediately, successfully, with a short text".
type GeminiOptions struct {
	Name    string // used in the default reply ("Hello from <Name>."); default "gemini"
	Reply   string // the answer's text, streamed word by word; default "Hello from <Name>."
	Thought string // if set, thought parts (thought: true) come first, streamed word by word
	// FunctionCall, if set, is a functionCall part after the text.
	FunctionCall *GeminiFunctionCall

	PromptTokens     int // usageMetadata.promptTokenCount; 0 = len(body)/4
	CandidatesTokens int // candidatesTokenCount at the end; 0 = reply words (+1 for a function call)
	ThoughtsTokens   int // thoughtsTokenCount; 0 = Thought's words
	CachedTokens     int // cachedContentTokenCount, when > 0

	FinishReason string // default "STOP"
	// BlockReason, if set, refuses the prompt: promptFeedback.blockReason and
	// no candidates (a stream sends that one response).
	BlockReason string
	// Truncate makes a stream end cleanly after its last part without ever
	// sending a finishReason, as a cut-off Gemini stream does.
	Truncate bool

	Status    int    // if non-zero and not 200: answer every request with it and a Google error body
	ErrorBody string // body for Status (default: Google's shape with the status name)
	TTFT      time.Duration
	PerToken  time.Duration // delay between streamed responses
	// Claude shapes the answers of Claude models (publishers/anthropic);
	// its RequireKey is not used (Vertex's auth is RequireKey below), its
	// Status answers in Anthropic's shape (the model's own errors, which
	// Vertex passes on), after Status above (the platform's).
	Claude AnthropicOptions
	// RequireKey, if set, must arrive as "x-goog-api-key: <key>" (Gemini API)
	// or "Authorization: Bearer <key>" (Vertex AI, with VertexFakeToken).
	RequireKey string
}

// GeminiFunctionCall is a function call the fake answers with.
type GeminiFunctionCall struct {
	Name             string
	Args             string // a JSON object; "" = {}
	ThoughtSignature string // if set, the part's thoughtSignature
}

// StartGemini starts a fake Gemini/Vertex generateContent server;
// t.Cleanup closes it.
func StartGemini(t testing.TB, o GeminiOptions) *GeminiVendor {
	t.Helper()
	v := &GeminiVendor{}
	v.init(o, nil, Recorded.clone)
	v.lookups = lookups{api: lookupGemini, keyOK: func(r *http.Request) bool {
		v.mu.RLock()
		key := v.opts.RequireKey
		v.mu.RUnlock()
		if key == "" {
			return true
		}
		_, _, ok := geminiAuth(r, key)
		return ok
	}}
	v.serve(v.serveHTTP)
	t.Cleanup(v.Close)
	return v
}

func (v *GeminiVendor) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	o := v.record(recorded(r, body))

	ctx, cancel := v.requestContext(r.Context())
	defer cancel()

	model, method, ok := geminiRoute(r.URL.EscapedPath())
	claude := ok && strings.Contains(r.URL.Path, "/publishers/anthropic/models/")
	if !ok || r.Method != http.MethodPost || claude != (method == "rawPredict" || method == "streamRawPredict") {
		geminiError(w, http.StatusNotFound, fmt.Sprintf("The requested URL %s was not found on this server.", r.URL.Path))
		return
	}
	if o.RequireKey != "" {
		if code, msg, ok := geminiAuth(r, o.RequireKey); !ok {
			if code == http.StatusBadRequest {
				geminiErrorDetails(w, code, msg, `[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]`)
				return
			}
			geminiError(w, code, msg)
			return
		}
	}
	if !sleep(ctx, o.TTFT) {
		return
	}
	if o.Status != 0 && o.Status != http.StatusOK {
		if o.ErrorBody != "" {
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
			w.WriteHeader(o.Status)
			_, _ = io.WriteString(w, o.ErrorBody)
			return
		}
		geminiError(w, o.Status, fmt.Sprintf("fake %d", o.Status))
		return
	}
	if claude {
		vertexClaude(ctx, w, body, model, method, o.Claude)
		return
	}
	if msg := geminiValidate(body); msg != "" {
		geminiError(w, http.StatusBadRequest, msg)
		return
	}

	responses := geminiResponses(o, model, len(body))
	switch {
	case method == "generateContent":
		writeJSON(w, http.StatusOK, geminiMerge(responses))
	case r.URL.Query().Get("alt") == "sse":
		geminiStream(ctx, w, responses, o)
	default:
		writeJSON(w, http.StatusOK, responses)
	}
}

// geminiRoute reads "…/models/{model}:{method}" from an escaped path.
func geminiRoute(path string) (model, method string, ok bool) {
	i := strings.LastIndex(path, "/models/")
	if i < 0 {
		return "", "", false
	}
	model, method, ok = strings.Cut(path[i+len("/models/"):], ":")
	if !ok || model == "" || strings.Contains(model, "/") {
		return "", "", false
	}
	switch method {
	case "generateContent", "streamGenerateContent", "rawPredict", "streamRawPredict":
	default:
		return "", "", false
	}
	return model, method, true
}

// geminiAuth checks the key as Google does: a wrong API key is a 400
// API_KEY_INVALID, a wrong token a 401, no credential a 403.
func geminiAuth(r *http.Request, key string) (int, string, bool) {
	if k := r.Header.Get("X-Goog-Api-Key"); k != "" {
		if k == key {
			return 0, "", true
		}
		return http.StatusBadRequest, "API key not valid. Please pass a valid API key.", false
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		if strings.EqualFold(auth[:min(len(auth), 7)], "bearer ") && strings.TrimSpace(auth[7:]) == key {
			return 0, "", true
		}
		return http.StatusUnauthorized, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.", false
	}
	return http.StatusForbidden, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", false
}

// geminiRequestFields are GenerateContentRequest's fields; Google refuses
// any other ("Unknown name").
var geminiRequestFields = map[string]bool{
	"contents": true, "tools": true, "toolConfig": true, "safetySettings": true, "systemInstruction": true,
	"generationConfig": true, "cachedContent": true, "labels": true, "model": true,
}

// geminiValidate returns Google's message for a body it would refuse, or "".
func geminiValidate(body []byte) string {
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		return "Invalid JSON payload received. " + err.Error()
	}
	for k := range req {
		if !geminiRequestFields[k] {
			return fmt.Sprintf("Invalid JSON payload received. Unknown name %q: Cannot find field.", k)
		}
	}
	var contents []struct {
		Role  string            `json:"role"`
		Parts []json.RawMessage `json:"parts"`
	}
	if err := json.Unmarshal(req["contents"], &contents); err != nil || len(contents) == 0 {
		return "* GenerateContentRequest.contents: contents is not specified\n"
	}
	for i, c := range contents {
		if c.Role != "" && c.Role != "user" && c.Role != "model" {
			return fmt.Sprintf("Please use a valid role: user, model. (contents[%d].role %q)", i, c.Role)
		}
		if len(c.Parts) == 0 {
			return fmt.Sprintf("* GenerateContentRequest.contents[%d].parts: contents.parts must not be empty.\n", i)
		}
	}
	return ""
}

// geminiStatus is Google's status name for an HTTP status.
func geminiStatus(code int) string {
	switch code {
	case 400:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 409:
		return "ABORTED"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case 500:
		return "INTERNAL"
	case 501:
		return "UNIMPLEMENTED"
	case 503:
		return "UNAVAILABLE"
	case 504:
		return "DEADLINE_EXCEEDED"
	}
	return "UNKNOWN"
}

// geminiError writes Google's error body.
func geminiError(w http.ResponseWriter, code int, msg string) {
	geminiErrorDetails(w, code, msg, "")
}

// geminiErrorDetails writes Google's error body, with raw details if given.
func geminiErrorDetails(w http.ResponseWriter, code int, msg, details string) {
	e := map[string]any{"code": code, "message": msg, "status": geminiStatus(code)}
	if details != "" {
		e["details"] = json.RawMessage(details)
	}
	b, _ := marshal(map[string]any{"error": e})
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// geminiPart, geminiResponse… are the fake's answer, in Google's JSON.
type geminiPart struct {
	Text             string          `json:"text,omitempty"`
	Thought          bool            `json:"thought,omitempty"`
	FunctionCall     json.RawMessage `json:"functionCall,omitempty"`
	ThoughtSignature string          `json:"thoughtSignature,omitempty"`
}

type geminiCandidate struct {
	Content      *geminiContent `json:"content,omitempty"`
	FinishReason string         `json:"finishReason,omitempty"`
	Index        int            `json:"index"`
}

type geminiContent struct {
	Parts []geminiPart `json:"parts"`
	Role  string       `json:"role"`
}

type geminiUsage struct {
	PromptTokenCount        int `json:"promptTokenCount"`
	CandidatesTokenCount    int `json:"candidatesTokenCount,omitempty"`
	TotalTokenCount         int `json:"totalTokenCount"`
	CachedContentTokenCount int `json:"cachedContentTokenCount,omitempty"`
	ThoughtsTokenCount      int `json:"thoughtsTokenCount,omitempty"`
}

type geminiResponse struct {
	Candidates     []geminiCandidate `json:"candidates,omitempty"`
	PromptFeedback map[string]string `json:"promptFeedback,omitempty"`
	UsageMetadata  geminiUsage       `json:"usageMetadata"`
	ModelVersion   string            `json:"modelVersion"`
	ResponseID     string            `json:"responseId"`
}

// geminiResponses builds the answer as the streamed responses: one per
// thought word, reply word and function call; the last carries the finish
// reason and the final usage.
func geminiResponses(o GeminiOptions, model string, bodyLen int) []geminiResponse {
	name := o.Name
	if name == "" {
		name = "gemini"
	}
	reply := o.Reply
	if reply == "" {
		reply = "Hello from " + name + "."
	}
	prompt := o.PromptTokens
	if prompt == 0 {
		prompt = bodyLen / 4
	}
	id := newID("")
	mk := func(parts []geminiPart, candidates, thoughts int) geminiResponse {
		u := geminiUsage{PromptTokenCount: prompt, CandidatesTokenCount: candidates, ThoughtsTokenCount: thoughts,
			CachedContentTokenCount: o.CachedTokens, TotalTokenCount: prompt + candidates + thoughts}
		return geminiResponse{Candidates: []geminiCandidate{{Content: &geminiContent{Parts: parts, Role: "model"}}},
			UsageMetadata: u, ModelVersion: model, ResponseID: id}
	}
	if o.BlockReason != "" {
		return []geminiResponse{{PromptFeedback: map[string]string{"blockReason": o.BlockReason},
			UsageMetadata: geminiUsage{PromptTokenCount: prompt, TotalTokenCount: prompt}, ModelVersion: model, ResponseID: id}}
	}

	thoughtWords := splitWords(o.Thought)
	words := splitWords(reply)
	thoughts := o.ThoughtsTokens
	if thoughts == 0 {
		thoughts = len(thoughtWords)
	}
	candidates := o.CandidatesTokens
	if candidates == 0 {
		candidates = len(words)
		if o.FunctionCall != nil {
			candidates++
		}
	}
	var out []geminiResponse
	for i, tw := range thoughtWords {
		out = append(out, mk([]geminiPart{{Text: tw, Thought: true}}, 0, min(i+1, thoughts)))
	}
	for i, word := range words {
		out = append(out, mk([]geminiPart{{Text: word}}, min(i+1, candidates), thoughts))
	}
	if fc := o.FunctionCall; fc != nil {
		args := strings.TrimSpace(fc.Args)
		if args == "" {
			args = "{}"
		}
		call, _ := marshal(map[string]any{"name": fc.Name, "args": json.RawMessage(args)})
		out = append(out, mk([]geminiPart{{FunctionCall: call, ThoughtSignature: fc.ThoughtSignature}}, candidates, thoughts))
	}
	last := &out[len(out)-1]
	last.UsageMetadata.CandidatesTokenCount = candidates
	last.UsageMetadata.TotalTokenCount = prompt + candidates + thoughts
	if !o.Truncate {
		last.Candidates[0].FinishReason = o.FinishReason
		if last.Candidates[0].FinishReason == "" {
			last.Candidates[0].FinishReason = "STOP"
		}
	}
	return out
}

// geminiMerge joins streamed responses into the one generateContent returns.
func geminiMerge(rs []geminiResponse) geminiResponse {
	out := rs[len(rs)-1]
	if len(out.Candidates) == 0 {
		return out
	}
	var parts []geminiPart
	for _, r := range rs {
		for _, p := range r.Candidates[0].Content.Parts {
			if n := len(parts); n > 0 && p.FunctionCall == nil && parts[n-1].FunctionCall == nil && parts[n-1].Thought == p.Thought {
				parts[n-1].Text += p.Text
				continue
			}
			parts = append(parts, p)
		}
	}
	out.Candidates = []geminiCandidate{{Content: &geminiContent{Parts: parts, Role: "model"},
		FinishReason: out.Candidates[0].FinishReason}}
	return out
}

// geminiStream writes the responses as SSE, flushing each.
func geminiStream(ctx context.Context, w http.ResponseWriter, rs []geminiResponse, o GeminiOptions) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	for i, r := range rs {
		if i > 0 && !sleep(ctx, o.PerToken) {
			abort()
		}
		b, err := marshal(r)
		if err != nil {
			panic(err)
		}
		if _, err := fmt.Fprintf(w, "data: %s\r\n\r\n", b); err != nil || rc.Flush() != nil {
			abort()
		}
	}
}

// VertexFakeToken is the access token StartGoogleTokenServer hands out; give
// it to a GeminiVendor as RequireKey to check the Vertex kind's auth.
const VertexFakeToken = "ya29.fake-vertex-token"

// StartGoogleTokenServer starts a fake Google OAuth2 token endpoint (the
// token_uri of a service account key, see VertexServiceAccountJSON): it
// answers a JWT-bearer grant (grant_type
// urn:ietf:params:oauth:grant-type:jwt-bearer with a signed assertion) with
// {"access_token":VertexFakeToken,"expires_in":3600,"token_type":"Bearer"},
// anything else with 400 invalid_grant. It returns the endpoint's URL and a
// function counting the token requests received; t.Cleanup closes it.
func StartGoogleTokenServer(t testing.TB) (tokenURL string, requests func() int) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost || r.PostFormValue("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" ||
			strings.Count(r.PostFormValue("assertion"), ".") != 2 {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"Invalid grant: account not found"}`)
			return
		}
		claims, err := base64.RawURLEncoding.DecodeString(strings.Split(r.PostFormValue("assertion"), ".")[1])
		var c struct {
			Scope string `json:"scope"`
		}
		if err != nil || json.Unmarshal(claims, &c) != nil || c.Scope == "" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"invalid_scope","error_description":"Invalid OAuth scope or ID token audience provided."}`)
			return
		}
		_, _ = io.WriteString(w, `{"access_token":"`+VertexFakeToken+`","expires_in":3600,"token_type":"Bearer"}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/token", func() int { return int(n.Load()) }
}

var (
	vertexKeyOnce sync.Once
	vertexKeyPEM  []byte
)

// VertexServiceAccountJSON returns a service account key (the JSON Google
// issues) whose token_uri is tokenURL, for the vertex kind's credentials.
// The RSA key is generated once per process.
func VertexServiceAccountJSON(t testing.TB, tokenURL string) []byte {
	t.Helper()
	vertexKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		vertexKeyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	})
	b, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "fake-project", "private_key_id": "fake-key-1",
		"private_key": string(vertexKeyPEM), "client_email": "router@fake-project.iam.gserviceaccount.com",
		"client_id": "100000000000000000001", "token_uri": tokenURL,
	})
	if err != nil {
		t.Fatalf("fakevendor: %v", err)
	}
	return b
}

// vertexClaude answers a Claude model's rawPredict (or streamRawPredict,
// or count-tokens:rawPredict) as Claude does on Vertex AI.
func vertexClaude(ctx context.Context, w http.ResponseWriter, body []byte, model, method string, o AnthropicOptions) {
	w.Header().Set("Request-Id", newID("req_vrtx_"))
	if o.Status != 0 && o.Status != http.StatusOK {
		typ, msg := o.ErrorType, o.ErrorMessage
		if typ == "" {
			typ = anthropicErrorType(o.Status)
		}
		if msg == "" {
			msg = fmt.Sprintf("fake %d", o.Status)
		}
		anthropicError(w, o.Status, typ, msg)
		return
	}
	if model == "count-tokens" {
		// The model to count for is in the body.
		if _, problem := claudeValidate(body, claudeDialect{version: claudeVertex.version}, true); problem != "" {
			anthropicError(w, http.StatusBadRequest, "invalid_request_error", problem)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"input_tokens": len(body)/4 + 1000})
		return
	}
	if _, problem := claudeValidate(body, claudeVertex, false); problem != "" {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", problem)
		return
	}
	m := anthropicNewMessage(o.answer(), model, len(body))
	if !sleep(ctx, o.TTFT) {
		abort()
	}
	if method == "streamRawPredict" { // the method says it, as the body's "stream" does
		anthropicSSE(ctx, w, m, o.PerToken, o.StreamError, o.StreamErrorAfter)
		return
	}
	writeJSON(w, http.StatusOK, m.json())
}
