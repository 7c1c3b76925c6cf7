package fakevendor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-llm/llmrouter/vendors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
	"golang.org/x/oauth2/google"
)

const geminiTestBody = `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"generationConfig":{"maxOutputTokens":10}}`

// geminiPost posts body to the fake at path with the given headers.
func geminiPost(t *testing.T, v *GeminiVendor, path, body string, headers map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, v.URL()+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, val := range headers {
		req.Header.Set(k, val)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// geminiEvents reads an SSE body into its data payloads, checking the CRLF
// framing.
func geminiEvents(t *testing.T, r io.Reader) []string {
	t.Helper()
	raw, err := io.ReadAll(r)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(string(raw), "\r\n\r\n"), "%q", raw)
	var out []string
	for _, ev := range strings.Split(strings.TrimSuffix(string(raw), "\r\n\r\n"), "\r\n\r\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		require.True(t, ok, ev)
		require.True(t, gjson.Valid(data), data)
		out = append(out, data)
	}
	return out
}

func TestGeminiGenerateContent(t *testing.T) {
	v := StartGemini(t, GeminiOptions{Reply: "Hello there, friend.", PromptTokens: 7, CachedTokens: 3})
	resp := geminiPost(t, v, "/v1beta/models/gemini-2.5-flash:generateContent", geminiTestBody, map[string]string{"x-goog-api-key": "k"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := gjson.ParseBytes(body)
	assert.Equal(t, "Hello there, friend.", r.Get("candidates.0.content.parts.0.text").String())
	assert.EqualValues(t, 1, r.Get("candidates.0.content.parts.#").Int())
	assert.Equal(t, "model", r.Get("candidates.0.content.role").String())
	assert.Equal(t, "STOP", r.Get("candidates.0.finishReason").String())
	assert.JSONEq(t, `{"promptTokenCount":7,"candidatesTokenCount":3,"totalTokenCount":10,"cachedContentTokenCount":3}`, r.Get("usageMetadata").Raw)
	assert.Equal(t, "gemini-2.5-flash", r.Get("modelVersion").String())
	assert.NotEmpty(t, r.Get("responseId").String())

	reqs := v.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/v1beta/models/gemini-2.5-flash:generateContent", reqs[0].Path)
	assert.Equal(t, "k", reqs[0].Header.Get("X-Goog-Api-Key"))
	assert.JSONEq(t, geminiTestBody, string(reqs[0].Body))
	assert.Equal(t, 1, v.Count())
	v.Reset()
	assert.Equal(t, 0, v.Count())
}

func TestGeminiStreamSSE(t *testing.T) {
	v := StartGemini(t, GeminiOptions{Reply: "one two three", Thought: "hmm ok", PromptTokens: 5, PerToken: time.Millisecond})
	resp := geminiPost(t, v, "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse", geminiTestBody, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := geminiEvents(t, resp.Body)
	require.Len(t, events, 5)
	assert.True(t, gjson.Get(events[0], "candidates.0.content.parts.0.thought").Bool())
	assert.Equal(t, "hmm", gjson.Get(events[0], "candidates.0.content.parts.0.text").String())
	assert.Equal(t, " ok", gjson.Get(events[1], "candidates.0.content.parts.0.text").String())
	var text strings.Builder
	for i, ev := range events[2:] {
		text.WriteString(gjson.Get(ev, "candidates.0.content.parts.0.text").String())
		// Usage is cumulative.
		assert.EqualValues(t, i+1, gjson.Get(ev, "usageMetadata.candidatesTokenCount").Int())
		assert.EqualValues(t, 2, gjson.Get(ev, "usageMetadata.thoughtsTokenCount").Int())
	}
	assert.Equal(t, "one two three", text.String())
	for _, ev := range events[:4] {
		assert.False(t, gjson.Get(ev, "candidates.0.finishReason").Exists(), ev)
	}
	assert.Equal(t, "STOP", gjson.Get(events[4], "candidates.0.finishReason").String())
	assert.EqualValues(t, 10, gjson.Get(events[4], "usageMetadata.totalTokenCount").Int())
	assert.Equal(t, "alt=sse", v.Requests()[0].RawQuery)
}

func TestGeminiStreamArrayAndFunctionCall(t *testing.T) {
	v := StartGemini(t, GeminiOptions{Reply: "Checking.", FunctionCall: &GeminiFunctionCall{
		Name: "get_weather", Args: `{"city":"Paris"}`, ThoughtSignature: "c2ln"}, FinishReason: "STOP"})

	// Without alt=sse the stream is one JSON array.
	resp := geminiPost(t, v, "/v1beta/models/m:streamGenerateContent", geminiTestBody, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, _ := io.ReadAll(resp.Body)
	arr := gjson.ParseBytes(body)
	require.True(t, arr.IsArray())
	require.EqualValues(t, 2, arr.Get("#").Int())
	fc := arr.Get("1.candidates.0.content.parts.0")
	assert.Equal(t, "get_weather", fc.Get("functionCall.name").String())
	assert.JSONEq(t, `{"city":"Paris"}`, fc.Get("functionCall.args").Raw)
	assert.Equal(t, "c2ln", fc.Get("thoughtSignature").String())
	assert.Equal(t, "STOP", arr.Get("1.candidates.0.finishReason").String())
	assert.EqualValues(t, 2, arr.Get("1.usageMetadata.candidatesTokenCount").Int())

	// generateContent merges the parts.
	resp = geminiPost(t, v, "/v1beta/models/m:generateContent", geminiTestBody, nil)
	body, _ = io.ReadAll(resp.Body)
	parts := gjson.GetBytes(body, "candidates.0.content.parts")
	require.EqualValues(t, 2, parts.Get("#").Int(), "%s", body)
	assert.Equal(t, "Checking.", parts.Get("0.text").String())
	assert.Equal(t, "get_weather", parts.Get("1.functionCall.name").String())
}

func TestGeminiBlockAndTruncate(t *testing.T) {
	v := StartGemini(t, GeminiOptions{BlockReason: "SAFETY"})
	resp := geminiPost(t, v, "/v1beta/models/m:streamGenerateContent?alt=sse", geminiTestBody, nil)
	events := geminiEvents(t, resp.Body)
	require.Len(t, events, 1)
	assert.Equal(t, "SAFETY", gjson.Get(events[0], "promptFeedback.blockReason").String())
	assert.False(t, gjson.Get(events[0], "candidates").Exists())

	v.SetOptions(GeminiOptions{Reply: "a b", Truncate: true})
	resp = geminiPost(t, v, "/v1beta/models/m:streamGenerateContent?alt=sse", geminiTestBody, nil)
	events = geminiEvents(t, resp.Body)
	require.Len(t, events, 2)
	for _, ev := range events {
		assert.False(t, gjson.Get(ev, "candidates.0.finishReason").Exists())
	}
}

func TestGeminiErrors(t *testing.T) {
	v := StartGemini(t, GeminiOptions{RequireKey: "good"})
	cases := []struct {
		name, path, body string
		headers          map[string]string
		status           int
		errStatus        string
	}{
		{"wrong api key", "/v1beta/models/m:generateContent", geminiTestBody, map[string]string{"x-goog-api-key": "bad"}, 400, "INVALID_ARGUMENT"},
		{"wrong token", "/v1beta/models/m:generateContent", geminiTestBody, map[string]string{"Authorization": "Bearer bad"}, 401, "UNAUTHENTICATED"},
		{"no credential", "/v1beta/models/m:generateContent", geminiTestBody, nil, 403, "PERMISSION_DENIED"},
		{"unknown field", "/v1beta/models/m:generateContent", `{"contents":[{"role":"user","parts":[{"text":"x"}]}],"model":"m","stream":true}`, map[string]string{"x-goog-api-key": "good"}, 400, "INVALID_ARGUMENT"},
		{"no contents", "/v1beta/models/m:generateContent", `{"contents":[]}`, map[string]string{"x-goog-api-key": "good"}, 400, "INVALID_ARGUMENT"},
		{"empty parts", "/v1beta/models/m:generateContent", `{"contents":[{"role":"user","parts":[]}]}`, map[string]string{"x-goog-api-key": "good"}, 400, "INVALID_ARGUMENT"},
		{"bad role", "/v1beta/models/m:generateContent", `{"contents":[{"role":"assistant","parts":[{"text":"x"}]}]}`, map[string]string{"x-goog-api-key": "good"}, 400, "INVALID_ARGUMENT"},
		{"not JSON", "/v1beta/models/m:generateContent", `{`, map[string]string{"x-goog-api-key": "good"}, 400, "INVALID_ARGUMENT"},
		{"unknown method", "/v1beta/models/m:countTokens", geminiTestBody, map[string]string{"x-goog-api-key": "good"}, 404, "NOT_FOUND"},
		{"chat completions path", "/v1beta/openai/chat/completions", geminiTestBody, map[string]string{"x-goog-api-key": "good"}, 404, "NOT_FOUND"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := geminiPost(t, v, c.path, c.body, c.headers)
			assert.Equal(t, c.status, resp.StatusCode)
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, c.errStatus, gjson.GetBytes(body, "error.status").String(), "%s", body)
			assert.EqualValues(t, c.status, gjson.GetBytes(body, "error.code").Int())
			assert.NotEmpty(t, gjson.GetBytes(body, "error.message").String())
		})
	}
	resp := geminiPost(t, v, "/v1beta/models/m:generateContent", geminiTestBody, nil)
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", gjson.GetBytes(body, "error.message").String())
	resp = geminiPost(t, v, "/v1beta/models/m:generateContent", geminiTestBody, map[string]string{"x-goog-api-key": "bad"})
	body, _ = io.ReadAll(resp.Body)
	assert.Equal(t, "API_KEY_INVALID", gjson.GetBytes(body, "error.details.0.reason").String())

	v.SetOptions(GeminiOptions{Status: 429})
	resp = geminiPost(t, v, "/v1beta/models/m:generateContent", geminiTestBody, nil)
	assert.Equal(t, 429, resp.StatusCode)
	body, _ = io.ReadAll(resp.Body)
	assert.JSONEq(t, `{"error":{"code":429,"message":"fake 429","status":"RESOURCE_EXHAUSTED"}}`, string(body))

	v.SetOptions(GeminiOptions{Status: 503, ErrorBody: `[{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}]`})
	resp = geminiPost(t, v, "/v1beta/models/m:generateContent", geminiTestBody, nil)
	assert.Equal(t, 503, resp.StatusCode)
	body, _ = io.ReadAll(resp.Body)
	assert.Equal(t, `[{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}]`, string(body))
}

// Close aborts a stream in flight: the client sees a truncated body.
func TestGeminiCloseAbortsStream(t *testing.T) {
	v := StartGemini(t, GeminiOptions{Reply: strings.Repeat("w ", 50), PerToken: 50 * time.Millisecond})
	resp := geminiPost(t, v, "/v1beta/models/m:streamGenerateContent?alt=sse", geminiTestBody, nil)
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(line, "data: "))
	v.Close()
	rest, _ := io.ReadAll(br)
	assert.NotContains(t, string(rest), "STOP")
}

func TestGoogleTokenServer(t *testing.T) {
	tokenURL, requests := StartGoogleTokenServer(t)
	cfg, err := google.JWTConfigFromJSON(VertexServiceAccountJSON(t, tokenURL), "https://www.googleapis.com/auth/cloud-platform")
	require.NoError(t, err)
	tok, err := cfg.TokenSource(context.Background()).Token()
	require.NoError(t, err)
	assert.Equal(t, VertexFakeToken, tok.AccessToken)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.WithinDuration(t, time.Now().Add(time.Hour), tok.Expiry, time.Minute)
	assert.Equal(t, 1, requests())

	resp, err := http.PostForm(tokenURL, map[string][]string{"grant_type": {"client_credentials"}})
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, 2, requests())
}

// End to end: the google and vertex kinds against the fake, answers
// translated to OpenAI's shape.
func TestGeminiWithVendors(t *testing.T) {
	clientBody := []byte(`{"model":"alias","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Weather?"}],` +
		`"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"additionalProperties":false}}}],` +
		`"max_tokens":50,"stream_options":{"include_usage":true}}`)
	fake := StartGemini(t, GeminiOptions{Reply: "Let me check.", Thought: "Need a tool.",
		FunctionCall: &GeminiFunctionCall{Name: "get_weather", Args: `{"city":"Paris"}`, ThoughtSignature: "c2ln"},
		PromptTokens: 30, ThoughtsTokens: 8, RequireKey: "AIza-test"})

	send := func(t *testing.T, v *vendors.Vendor, a vendors.Attempt) []byte {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, "http://router.invalid/v1/chat/completions", bytes.NewReader(a.Body))
		require.NoError(t, err)
		require.NoError(t, prepare(v, req, a))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		out, err := translate(v, resp, a)
		require.NoError(t, err)
		return out
	}

	t.Run("google", func(t *testing.T) {
		fake.Reset()
		v, err := vendors.New(vendors.Config{ID: "g", Kind: "google", APIKey: "AIza-test", BaseURL: fake.URL()})
		require.NoError(t, err)
		out := send(t, v, vendors.Attempt{Endpoint: vendors.ChatCompletions, Model: "gemini-2.5-flash", Body: clientBody})
		c := gjson.ParseBytes(out)
		assert.Equal(t, "chat.completion", c.Get("object").String())
		assert.Equal(t, "Let me check.", c.Get("choices.0.message.content").String())
		assert.Equal(t, "Need a tool.", c.Get("choices.0.message.reasoning_content").String())
		assert.Equal(t, "get_weather", c.Get("choices.0.message.tool_calls.0.function.name").String())
		assert.JSONEq(t, `{"city":"Paris"}`, c.Get("choices.0.message.tool_calls.0.function.arguments").String())
		assert.Equal(t, "tool_calls", c.Get("choices.0.finish_reason").String())
		assert.JSONEq(t, `{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42,"completion_tokens_details":{"reasoning_tokens":8}}`, c.Get("usage").Raw)

		// The fake saw a valid Gemini request.
		reqs := fake.Requests()
		require.Len(t, reqs, 1)
		assert.Equal(t, "/v1beta/models/gemini-2.5-flash:generateContent", reqs[0].Path)
		assert.Equal(t, "Be brief.", gjson.GetBytes(reqs[0].Body, "systemInstruction.parts.0.text").String())
		assert.False(t, gjson.GetBytes(reqs[0].Body, "tools.0.functionDeclarations.0.parameters.additionalProperties").Exists())

		// Streamed.
		out = send(t, v, vendors.Attempt{Endpoint: vendors.ChatCompletions, Model: "gemini-2.5-flash", Body: clientBody, Stream: true})
		s := string(out)
		assert.Contains(t, s, `"reasoning_content":"Need"`)
		assert.Contains(t, s, `"content":"Let"`)
		assert.Contains(t, s, `"name":"get_weather"`)
		assert.Contains(t, s, `"finish_reason":"tool_calls"`)
		assert.Contains(t, s, `"usage":{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42`)
		assert.True(t, strings.HasSuffix(s, "data: [DONE]\n\n"))
		assert.Equal(t, "alt=sse", fake.Requests()[1].RawQuery)

		// Errors become OpenAI-shaped.
		bad, err := vendors.New(vendors.Config{ID: "g", Kind: "google", APIKey: "AIza-wrong", BaseURL: fake.URL()})
		require.NoError(t, err)
		req, _ := http.NewRequest(http.MethodPost, "http://router.invalid/", nil)
		a := vendors.Attempt{Endpoint: vendors.ChatCompletions, Model: "gemini-2.5-flash", Body: clientBody}
		require.NoError(t, prepare(bad, req, a))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 400, resp.StatusCode)
		assert.Equal(t, vendors.Verdict{Failover: true, Reason: vendors.ReasonAuth}, bad.Classify(400, body))
		assert.Equal(t, "INVALID_ARGUMENT", gjson.GetBytes(errorBody(bad, 400, body), "error.type").String())
	})

	t.Run("vertex", func(t *testing.T) {
		fake.Reset()
		fake.SetOptions(GeminiOptions{Reply: "Bonjour.", PromptTokens: 4, RequireKey: VertexFakeToken})
		tokenURL, tokens := StartGoogleTokenServer(t)
		v, err := vendors.New(vendors.Config{ID: "vx", Kind: "vertex", Project: "proj", Region: "europe-west1",
			CredentialsJSON: VertexServiceAccountJSON(t, tokenURL), BaseURL: fake.URL()})
		require.NoError(t, err)
		for _, stream := range []bool{false, true} {
			out := send(t, v, vendors.Attempt{Endpoint: vendors.ChatCompletions, Model: "gemini-2.5-pro", Body: clientBody, Stream: stream})
			if stream {
				assert.Contains(t, string(out), `"content":"Bonjour."`)
				assert.Contains(t, string(out), "data: [DONE]")
			} else {
				assert.Equal(t, "Bonjour.", gjson.GetBytes(out, "choices.0.message.content").String())
			}
		}
		assert.Equal(t, 1, tokens(), "the token is cached")
		reqs := fake.Requests()
		require.Len(t, reqs, 2)
		assert.Equal(t, "/v1/projects/proj/locations/europe-west1/publishers/google/models/gemini-2.5-pro:generateContent", reqs[0].Path)
		assert.Equal(t, "/v1/projects/proj/locations/europe-west1/publishers/google/models/gemini-2.5-pro:streamGenerateContent", reqs[1].Path)
		assert.Equal(t, "Bearer "+VertexFakeToken, reqs[0].Header.Get("Authorization"))
		var check map[string]any
		assert.NoError(t, json.Unmarshal(reqs[0].Body, &check))
	})
}
