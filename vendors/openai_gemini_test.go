package vendors

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

func TestGoogleNativePrepare(t *testing.T) {
	in, err := os.ReadFile("testdata/google/requests/tools.openai.json")
	require.NoError(t, err)
	want, err := os.ReadFile("testdata/google/requests/tools.gemini.json")
	require.NoError(t, err)

	cases := []struct {
		name     string
		cfg      Config
		model    string
		stream   bool
		wantURL  string
		wantPath string
		wantRaw  string
	}{
		{"generateContent", Config{ID: "g", Kind: "google", APIKey: " AIza-key\n"}, "gemini-2.5-flash", false,
			"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
			"/v1beta/models/gemini-2.5-flash:generateContent", ""},
		{"stream", Config{ID: "g", Kind: "google", APIKey: "AIza-key", API: "native"}, "gemini-2.5-pro", true,
			"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
			"/v1beta/models/gemini-2.5-pro:streamGenerateContent", ""},
		{"models/ prefix", Config{ID: "g", Kind: "google", APIKey: "AIza-key"}, "models/gemini-2.0-flash", false,
			"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent",
			"/v1beta/models/gemini-2.0-flash:generateContent", ""},
		{"proxy base", Config{ID: "g", Kind: "google", APIKey: "AIza-key", BaseURL: "http://127.0.0.1:9000/gemini/"}, "gemini-2.5-flash", true,
			"http://127.0.0.1:9000/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
			"/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent", ""},
		{"model with a slash stays one segment", Config{ID: "g", Kind: "google", APIKey: "AIza-key"}, "tuned/../../x", false,
			"https://generativelanguage.googleapis.com/v1beta/models/tuned%2F..%2F..%2Fx:generateContent",
			"/v1beta/models/tuned/../../x:generateContent", "/v1beta/models/tuned%2F..%2F..%2Fx:generateContent"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Headers = http.Header{"X-Operator": {"yes"}}
			v, err := New(c.cfg)
			require.NoError(t, err)
			body := bytes.Clone(in)
			r := httptest.NewRequest(http.MethodPost, "http://router.example/v1/chat/completions?client=secret", bytes.NewReader(body))
			r.Header.Set("Authorization", "Bearer client-key")
			r.Header.Set("X-Goog-Api-Key", "client-key")
			r.Header.Set("Accept-Encoding", "gzip")
			r.Header.Set("Content-Length", "123")
			r.Header.Set("X-Client", "kept")
			out := r.Clone(context.Background())
			require.NoError(t, v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: c.model, Body: body, Stream: c.stream}))
			assert.Equal(t, in, body, "the client's body is never modified")

			assert.Equal(t, c.wantURL, out.URL.String())
			assert.Equal(t, c.wantPath, out.URL.Path)
			assert.Equal(t, c.wantRaw, out.URL.RawPath)
			assert.Empty(t, out.Host)
			assert.Equal(t, []string{"AIza-key"}, out.Header.Values("X-Goog-Api-Key"))
			assert.Empty(t, out.Header.Values("Authorization"), "the key goes in x-goog-api-key only")
			assert.NotContains(t, out.URL.String(), "AIza", "never the key in the URL")
			assert.Equal(t, "application/json", out.Header.Get("Content-Type"))
			assert.Empty(t, out.Header.Get("Accept-Encoding"), "the translator needs plain bytes")
			assert.Empty(t, out.Header.Get("Content-Length"))
			assert.Equal(t, "yes", out.Header.Get("X-Operator"))
			assert.Equal(t, "kept", out.Header.Get("X-Client"))

			got, err := io.ReadAll(out.Body)
			require.NoError(t, err)
			assert.EqualValues(t, len(got), out.ContentLength)
			assert.JSONEq(t, string(want), string(got))
			rc, err := out.GetBody()
			require.NoError(t, err)
			again, _ := io.ReadAll(rc)
			assert.Equal(t, got, again)
		})
	}
}

// A request the translation refuses leaves out as it was.
func TestGoogleNativePrepareError(t *testing.T) {
	v, err := New(Config{ID: "g", Kind: "google", APIKey: "AIza-key"})
	require.NoError(t, err)
	out := httptest.NewRequest(http.MethodPost, "http://router.example/v1/chat/completions", nil)
	out.Header.Set("Authorization", "Bearer client-key")
	before := out.URL.String()
	err = v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: "m", Body: []byte(`{"messages":[{"role":"user","content":"x"}],"n":3}`)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `vendor "g": n > 1`)
	assert.Equal(t, before, out.URL.String())
	assert.Equal(t, "Bearer client-key", out.Header.Get("Authorization"))
	assert.Empty(t, out.Header.Get("X-Goog-Api-Key"))

	err = v.Prepare(out, Attempt{Endpoint: Completions, Model: "m", Body: []byte(`{}`)})
	require.Error(t, err)
}

// Native embeddings answers pass through TranslateResponse untouched.
func TestGoogleNativeEmbeddingsPassThrough(t *testing.T) {
	v, err := New(Config{Kind: "google", APIKey: "k"})
	require.NoError(t, err)
	body := `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"model":"gemini-embedding-001"}`
	resp := &http.Response{Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader([]byte(body)))}
	v.TranslateResponse(resp, Attempt{Endpoint: Embeddings, Model: "gemini-embedding-001"})
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, body, string(got))
	assert.True(t, gjson.ValidBytes(got))
}

// TranslateResponse wires the decoder in, whatever the read sizes.
func TestGeminiTranslateResponseStream(t *testing.T) {
	in, err := os.ReadFile("testdata/google/streams/text.sse")
	require.NoError(t, err)
	v := newTestVendor(t, "google")
	resp := &http.Response{StatusCode: 200, Header: http.Header{
		"Content-Type": {"text/event-stream"}, "Content-Length": {"999"}, "Content-Encoding": {"identity"}},
		Body: io.NopCloser(iotest.OneByteReader(bytes.NewReader(in)))}
	v.TranslateResponse(resp, Attempt{Endpoint: ChatCompletions, Model: "gemini-x", Stream: true})
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Empty(t, resp.Header.Get("Content-Length"))
	assert.Empty(t, resp.Header.Get("Content-Encoding"))
	got, err := io.ReadAll(iotest.OneByteReader(resp.Body))
	require.NoError(t, err)
	want, err := os.ReadFile("testdata/google/streams/text.openai.txt")
	require.NoError(t, err)
	assert.Equal(t, string(want), geminiNormalize(string(got)))
	assert.Contains(t, string(got), `"model":"gemini-x"`)
	assert.Contains(t, string(got), `"id":"resp-s1"`)

	// Non-streaming answers become a chat.completion.
	body, err := os.ReadFile("testdata/google/responses/text.gemini.json")
	require.NoError(t, err)
	resp = &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json; charset=UTF-8"}},
		Body: io.NopCloser(bytes.NewReader(body))}
	v.TranslateResponse(resp, Attempt{Endpoint: ChatCompletions, Model: "gemini-2.5-flash"})
	got, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "Hello, world <3", gjson.GetBytes(got, "choices.0.message.content").String())
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
}

func TestGeminiErrorTranslation(t *testing.T) {
	v := newTestVendor(t, "google")
	body := `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure"}]}}`
	got := v.TranslateError(429, []byte(body))
	assert.JSONEq(t, `{"error":{"message":"Resource has been exhausted (e.g. check quota).","type":"RESOURCE_EXHAUSTED","param":null,"code":null}}`, string(got))

	// The array wrapper, and the key redacted from the message.
	got = v.TranslateError(400, []byte(`[{"error":{"code":400,"message":"bad key `+testKey+`","status":"INVALID_ARGUMENT"}}]`))
	assert.Equal(t, "INVALID_ARGUMENT", gjson.GetBytes(got, "error.type").String())
	assert.Equal(t, "bad key [redacted]", gjson.GetBytes(got, "error.message").String())

	// Not Google's shape: the generic message and type.
	got = v.TranslateError(502, []byte(`<html>Bad Gateway</html>`))
	assert.JSONEq(t, `{"error":{"message":"Bad Gateway","type":"server_error","param":null,"code":null}}`, string(got))

	typ, msg := geminiErrorMessage([]byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
	assert.Equal(t, "overloaded_error", typ)
	assert.Equal(t, "Overloaded", msg)
}

// geminiContractStream is a streamGenerateContent?alt=sse answer: text in
// two responses, then the finish reason with the (cumulative) usage.
const geminiContractStream = `data: {"candidates":[{"content":{"parts":[{"text":"Bonjour"}],"role":"model"}}],"usageMetadata":{"promptTokenCount":6}}` + "\r\n\r\n" +
	`data: {"candidates":[{"content":{"parts":[{"text":" monde"}],"role":"model"}}],"usageMetadata":{"promptTokenCount":6}}` + "\r\n\r\n" +
	`data: {"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":6,"candidatesTokenCount":3,"totalTokenCount":9}}` + "\r\n\r\n"

func TestGeminiTranslator_Feed(t *testing.T) {
	checkStream(t, streamCase{
		v: newTestVendor(t, "google"), a: Attempt{Endpoint: ChatCompletions, Model: "gemini-2.5-flash"},
		stream: []byte(geminiContractStream), firstContent: "Bonjour", wantText: "Bonjour monde",
		wantUsage: billing.Usage{PromptTokens: 6, CompletionTokens: 3},
	})
}

func TestGeminiTranslator_Answer(t *testing.T) {
	checkAnswer(t, answerCase{
		v: newTestVendor(t, "google"), a: Attempt{Endpoint: ChatCompletions, Model: "gemini-2.5-flash"},
		answer: []byte(`{"candidates":[{"content":{"parts":[{"text":"Salut"}],"role":"model"},"finishReason":"STOP"}],` +
			`"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":2,"totalTokenCount":7}}`),
		wantText: "Salut", wantUsage: billing.Usage{PromptTokens: 5, CompletionTokens: 2},
	})
}

func TestGeminiTranslator_ErrorBody(t *testing.T) {
	checkNativeErrorBody(t, newTestVendor(t, "google"), 429,
		`{"error":{"code":429,"message":"quota for `+testKey+` exceeded","status":"RESOURCE_EXHAUSTED"}}`,
		"quota for [redacted] exceeded", "RESOURCE_EXHAUSTED")
}
