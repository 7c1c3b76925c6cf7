package vendors

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// shapeBodies are request bodies with every arrangement of "model" and
// "stream_options" that shapeOpenAIBody splices or hands to the slow path.
var shapeBodies = []string{
	`{"model":"gpt-4o","messages":[]}`,
	`{"model":"other","messages":[{"role":"user","content":"model"}]}`,
	`{"messages":[],"model":"gpt-4o"}`,
	`{"messages":[]}`,
	`{}`,
	" \n{ \"model\" : \"gpt-4o\" ,\"x\":1 } \n",
	`{"model":"gpt-\u0034o"}`,
	`{"model":null,"x":[1,{"model":"keep"}]}`,
	`{"model":"a","model":"b"}`,
	`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}}`,
	`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":false},"x":1}`,
	`{"stream_options":{},"model":"x"}`,
	`{"stream_options":{"include_usage":true},"stream_options":{}}`,
	`{"stream":true,"stream_options":null}`,
	`{"stream":true,"stream_options":"yes","model":"m"}`,
}

// The splicing fast path writes the same JSON as the whole-body rewrite it
// replaces, for every kind of stream usage handling, with the layout found
// by Prepare or handed in by the router.
func TestShapeOpenAIBodyMatchesSlowPath(t *testing.T) {
	for _, kindName := range []string{"openai", "openai_compatible", "mistral"} {
		v, err := New(Config{Kind: kindName, APIKey: "k", BaseURL: "http://127.0.0.1:1"})
		require.NoError(t, err)
		for _, body := range shapeBodies {
			for _, stream := range []bool{false, true} {
				for _, model := range []string{"gpt-4o", `we"ird`} {
					a := Attempt{Model: model, Body: []byte(body), Stream: stream}
					want, wantErr := v.backend.(*compatBackend).slowBody(a)
					got, err := v.backend.(*compatBackend).shapeBody(a)
					require.Equal(t, wantErr == nil, err == nil, "%s %s stream=%v: %v / %v", kindName, body, stream, err, wantErr)
					if err != nil {
						continue
					}
					assert.True(t, json.Valid(got), "%s: %s", body, got)
					assert.JSONEq(t, string(want), string(got), "%s %s stream=%v model=%s", kindName, body, stream, model)

					layout, err := LayoutOf(a.Body)
					require.NoError(t, err)
					a.Layout = layout
					again, err := v.backend.(*compatBackend).shapeBody(a)
					require.NoError(t, err)
					assert.Equal(t, string(got), string(again))
					assert.Equal(t, body, string(a.Body), "the client's body is never modified")
				}
			}
		}
	}
}

// When the vendor's model name is the client's and the stream needs no
// change, the client's body goes out as it is: no copy.
func TestShapeOpenAIBodyKeepsUnchangedBody(t *testing.T) {
	v, err := New(Config{Kind: "openai_compatible", APIKey: "k", BaseURL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	body := []byte(`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[]}`)
	layout, err := LayoutOf(body)
	require.NoError(t, err)
	got, err := v.backend.(*compatBackend).shapeBody(Attempt{Model: "gpt-4o", Body: body, Stream: true, Layout: layout})
	require.NoError(t, err)
	assert.Same(t, &body[0], &got[0])
}

func TestPrepareErrors(t *testing.T) {
	deepseek, err := New(Config{ID: "ds", Kind: "deepseek", APIKey: "k"})
	require.NoError(t, err)
	azure, err := New(Config{ID: "az", Kind: "azure", APIKey: "k", BaseURL: "https://r.openai.azure.com"})
	require.NoError(t, err)

	cases := []struct {
		name string
		v    *Vendor
		a    Attempt
	}{
		{"unsupported endpoint", deepseek, Attempt{Endpoint: Embeddings, Model: "m", Body: []byte(`{}`)}},
		{"out of range endpoint", deepseek, Attempt{Endpoint: Endpoint(5), Model: "m", Body: []byte(`{}`)}},
		{"empty model", deepseek, Attempt{Model: "", Body: []byte(`{}`)}},
		{"invalid JSON", deepseek, Attempt{Model: "m", Body: []byte(`{"messages":[`)}},
		{"array body", deepseek, Attempt{Model: "m", Body: []byte(`[{"model":"x"}]`)}},
		{"string body", deepseek, Attempt{Model: "m", Body: []byte(`"model"`)}},
		{"empty body", deepseek, Attempt{Model: "m", Body: nil}},
		{"azure dot-dot deployment", azure, Attempt{Model: "..", Body: []byte(`{}`)}},
		{"azure dot deployment", azure, Attempt{Model: ".", Body: []byte(`{}`)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := httptest.NewRequest(http.MethodPost, "http://router.example/v1/chat/completions", nil)
			out.Header.Set("Authorization", "Bearer client")
			before := out.URL.String()
			err := c.v.Prepare(out, c.a)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.v.ID())
			// A failed Prepare leaves the request alone.
			assert.Equal(t, before, out.URL.String())
			assert.Equal(t, "Bearer client", out.Header.Get("Authorization"))
		})
	}
	require.Error(t, deepseek.Prepare(nil, Attempt{Model: "m", Body: []byte(`{}`)}))
}

func TestPrepareBodyModel(t *testing.T) {
	v, err := New(Config{Kind: "openai", APIKey: "k"})
	require.NoError(t, err)
	cases := []struct{ name, body, model, want string }{
		{"replaces", `{"model":"a","x":1}`, "gpt-4o", `{"model":"gpt-4o","x":1}`},
		{"adds when absent", `{"x":1}`, "gpt-4o", `{"model":"gpt-4o","x":1}`},
		{"replaces non-string", `{"model":{"id":1},"x":1}`, "m", `{"model":"m","x":1}`},
		{"empty object", `{}`, "m", `{"model":"m"}`},
		{"escapes the model", `{"model":"a"}`, `we"ird\`, `{"model":"we\"ird\\"}`},
		{"leading whitespace", "\n {\"model\":\"a\"}", "m", "\n {\"model\":\"m\"}"},
		// Duplicates are collapsed so that no decoder (first-wins or
		// last-wins) can see the client's model.
		{"duplicate model keys", `{"model":"a","x":1,"model":"b"}`, "m", `{"x":1,"model":"m"}`},
		{"escaped duplicate key", `{"model":"a","mod\u0065l":"b","x":1}`, "m", `{"x":1,"model":"m"}`},
		{"nested model untouched", `{"tools":[{"model":"keep"}],"model":"a"}`, "m", `{"tools":[{"model":"keep"}],"model":"m"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := []byte(c.body)
			out := httptest.NewRequest(http.MethodPost, "/", nil)
			require.NoError(t, v.Prepare(out, Attempt{Model: c.model, Body: body}))
			got, err := io.ReadAll(out.Body)
			require.NoError(t, err)
			assert.Equal(t, c.want, string(got))
			assert.Equal(t, c.body, string(body))
			assert.EqualValues(t, len(c.want), out.ContentLength)
		})
	}
}

func TestPrepareHeaders(t *testing.T) {
	cfg := Config{Kind: "openai", APIKey: "sk-vendor", Headers: http.Header{
		"openai-organization": {"org-1"},
		"X-Multi":             {"a", "b"},
		"Authorization":       {"Bearer operator"}, // the key wins
	}}
	v, err := New(cfg)
	require.NoError(t, err)

	out := httptest.NewRequest(http.MethodPost, "/", nil)
	out.Header.Set("OpenAI-Organization", "client-org")
	out.Header.Add("Authorization", "Bearer c1")
	out.Header.Add("Authorization", "Bearer c2")
	out.Header.Set("Api-Key", "client")
	out.Header.Set("X-Goog-Api-Key", "client")
	require.NoError(t, v.Prepare(out, Attempt{Model: "m", Body: []byte(`{}`)}))

	assert.Equal(t, []string{"Bearer sk-vendor"}, out.Header.Values("Authorization"))
	assert.Equal(t, []string{"org-1"}, out.Header.Values("OpenAI-Organization"), "operator header replaces the client's")
	assert.Equal(t, []string{"a", "b"}, out.Header.Values("X-Multi"))
	assert.Empty(t, out.Header.Values("Api-Key"))
	assert.Empty(t, out.Header.Values("X-Goog-Api-Key"))

	// The Vendor's headers are its own: neither the Config's map nor a
	// prepared request's header can change what the next Prepare sends.
	cfg.Headers["X-Multi"][0] = "changed"
	cfg.Headers.Set("X-New", "1")
	out.Header["X-Multi"][0] = "changed"
	out2 := httptest.NewRequest(http.MethodPost, "/", nil)
	require.NoError(t, v.Prepare(out2, Attempt{Model: "m", Body: []byte(`{}`)}))
	assert.Equal(t, []string{"a", "b"}, out2.Header.Values("X-Multi"))
	assert.Empty(t, out2.Header.Get("X-New"))
}

func TestPrepareNilHeaderAndURL(t *testing.T) {
	v, err := New(Config{Kind: "x", APIKey: "k"})
	require.NoError(t, err)
	out := &http.Request{Method: http.MethodPost}
	require.NoError(t, v.Prepare(out, Attempt{Model: "grok-4", Body: []byte(`{}`)}))
	assert.Equal(t, "https://api.x.ai/v1/chat/completions", out.URL.String())
	assert.Equal(t, "Bearer k", out.Header.Get("Authorization"))
}

func TestPrepareRoundTrip(t *testing.T) {
	// End to end through net/http: what the vendor's server receives.
	var got struct {
		method, path, rawQuery, host, auth, contentType string
		contentLength                                   int64
		body                                            []byte
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.method, got.path, got.rawQuery = r.Method, r.URL.EscapedPath(), r.URL.RawQuery
		got.host, got.auth, got.contentType = r.Host, r.Header.Get("Api-Key"), r.Header.Get("Content-Type")
		got.contentLength = r.ContentLength
		got.body, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()

	v, err := New(Config{Kind: "azure", APIKey: "az-key", BaseURL: srv.URL + "/prefix/"})
	require.NoError(t, err)
	body := []byte(`{"model":"gpt-4o","messages":[]}`)
	in := httptest.NewRequest(http.MethodPost, "http://router.example/v1/chat/completions?x=1", bytes.NewReader(body))
	out := in.Clone(context.Background())
	out.RequestURI = "" // a server request's field that client requests must not set
	require.NoError(t, v.Prepare(out, Attempt{Model: "dep/1", Body: body}))

	resp, err := srv.Client().Do(out)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())

	assert.Equal(t, http.MethodPost, got.method)
	assert.Equal(t, "/prefix/openai/deployments/dep%2F1/chat/completions", got.path)
	assert.Equal(t, "api-version=2024-10-21", got.rawQuery)
	assert.Equal(t, strings.TrimPrefix(srv.URL, "http://"), got.host)
	assert.Equal(t, "az-key", got.auth)
	assert.Equal(t, "application/json", got.contentType)
	assert.Equal(t, `{"model":"dep/1","messages":[]}`, string(got.body))
	assert.EqualValues(t, len(got.body), got.contentLength)
}

func TestPrepareConcurrent(t *testing.T) {
	v, err := New(Config{Kind: "openai", APIKey: "k", Headers: http.Header{"X-A": {"1"}}})
	require.NoError(t, err)
	body := []byte(richBody)
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			model := "m" + strconv.Itoa(i)
			out := httptest.NewRequest(http.MethodPost, "/", nil)
			if assert.NoError(t, v.Prepare(out, Attempt{Model: model, Body: body})) {
				out.Header["X-A"][0] = "changed" // must not race with other Prepares
				b, _ := io.ReadAll(out.Body)
				assert.Equal(t, model, gjson.GetBytes(b, "model").String())
			}
			_ = v.Classify(429, []byte(`{"error":{"code":"insufficient_quota"}}`))
			_ = v.ErrorMessage(500, []byte(`{"error":{"message":"k"}}`))
		})
	}
	wg.Wait()
	assert.Equal(t, richBody, string(body))
}

// Streamed requests ask for the usage chunk where the kind takes
// stream_options, drop the field where the kind refuses it, and leave it alone
// where support is unknown.
func TestPrepareStreamUsage(t *testing.T) {
	const asked = `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[]}`
	const plain = `{"model":"m","stream":true,"messages":[]}`
	const off = `{"model":"m","stream":true,"stream_options":{"include_usage":false},"messages":[]}`
	cases := []struct {
		kind, body string
		wantUsage  gjson.Type // of stream_options.include_usage; Null = absent
		wantOpts   bool       // stream_options present at all
	}{
		{"openai", plain, gjson.True, true},
		{"openai", off, gjson.True, true},
		{"openai", asked, gjson.True, true},
		{"deepseek", plain, gjson.True, true},
		{"volcengine", plain, gjson.True, true},
		{"mistral", asked, gjson.Null, false},
		{"mistral", plain, gjson.Null, false},
		{"openai_compatible", plain, gjson.Null, false},
		{"openai_compatible", off, gjson.False, true},
	}
	for _, c := range cases {
		t.Run(c.kind+" "+c.body, func(t *testing.T) {
			v, err := New(Config{ID: "v", Kind: c.kind, BaseURL: "https://example.com/v1", APIKey: "k"})
			require.NoError(t, err)
			out := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
			in := []byte(c.body)
			require.NoError(t, v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: "m2", Body: in, Stream: true}))
			got, _ := io.ReadAll(out.Body)
			assert.Equal(t, c.wantUsage, gjson.GetBytes(got, "stream_options.include_usage").Type)
			assert.Equal(t, c.wantOpts, gjson.GetBytes(got, "stream_options").Exists())
			assert.Equal(t, "m2", gjson.GetBytes(got, "model").String())
			assert.Equal(t, c.body, string(in), "the client's body is never modified")
		})
	}
}

// openAIStream is an OpenAI chat stream with a role chunk, one chunk per
// piece of text, a finish chunk, the usage chunk and [DONE].
func openAIStream(usage string, texts ...string) []byte {
	chunk := func(delta, finish string) string {
		return `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m",` +
			`"choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + finish + `}]}` + "\n\n"
	}
	out := chunk(`{"role":"assistant","content":""}`, "null")
	for _, text := range texts {
		out += chunk(`{"content":"`+text+`"}`, "null")
	}
	out += chunk(`{}`, `"stop"`)
	out += `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[],"usage":` + usage + "}\n\n"
	return []byte(out + "data: [DONE]\n\n")
}

// An OpenAI stream passes through event by event; the usage chunk the
// router asked for is dropped when the client did not.
func TestCompatTranslator_Feed(t *testing.T) {
	for _, kind := range []string{"openai", "azure", "mistral", "openai_compatible"} {
		t.Run(kind, func(t *testing.T) {
			checkStream(t, streamCase{
				v: newTestVendor(t, kind), a: Attempt{Endpoint: ChatCompletions, Model: "m", PromptTokens: 3},
				stream:       openAIStream(`{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":4}}`, "Bonjour", " monde"),
				firstContent: "Bonjour", wantText: "Bonjour monde",
				wantUsage: billing.Usage{PromptTokens: 9, CachedTokens: 4, CompletionTokens: 2},
			})
		})
	}
}

// A whole answer passes as it is, read for the commit point and the meter.
func TestCompatTranslator_Answer(t *testing.T) {
	v := newTestVendor(t, "openai")
	answer := []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,` +
		`"message":{"role":"assistant","content":"Salut"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
	checkAnswer(t, answerCase{v: v, a: Attempt{Endpoint: ChatCompletions, Model: "gpt-4o"}, answer: answer,
		wantText: "Salut", wantUsage: billing.Usage{PromptTokens: 5, CompletionTokens: 1}})

	tr, err := v.Translator(Attempt{Endpoint: ChatCompletions, Model: "gpt-4o"})
	require.NoError(t, err)
	defer tr.Release()
	h := http.Header{"Content-Type": {"application/json"}, "Content-Length": {"180"}}
	resp := &http.Response{Header: h, ContentLength: 180}
	tr.ResponseHeaders(resp)
	assert.Equal(t, "180", h.Get("Content-Length"), "the answer is not translated: its length holds")
	out, _, err := tr.Answer(answer)
	require.NoError(t, err)
	assert.Same(t, &answer[0], &out[0], "no copy")
}

// A vendor's error goes to the client as the vendor sent it, but for the
// router's key.
func TestCompatTranslator_ErrorBody(t *testing.T) {
	v := newTestVendor(t, "openai")
	tr, err := v.Translator(Attempt{Endpoint: ChatCompletions, Model: "gpt-4o"})
	require.NoError(t, err)
	defer tr.Release()
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	body := `{"error":{"message":"bad request for key ` + testKey + `","type":"invalid_request_error","param":"messages","code":null}}`
	out := tr.ErrorBody(h, 400, []byte(body))
	assert.Equal(t, strings.ReplaceAll(body, testKey, "[redacted]"), string(out))
	assert.Equal(t, "application/json; charset=utf-8", h.Get("Content-Type"))
}

// A pooled translator starts every attempt afresh.
func TestCompatTranslator_Release(t *testing.T) {
	v := newTestVendor(t, "openai")
	for i := range 3 {
		tr, err := v.Translator(Attempt{Endpoint: ChatCompletions, Model: "gpt-4o", Stream: true, PromptTokens: 10 + i})
		require.NoError(t, err)
		assert.False(t, tr.Committed())
		assert.False(t, tr.Done())
		assert.Equal(t, billing.Usage{PromptTokens: 10 + i, Estimated: true}, tr.Usage())
		require.NoError(t, tr.Feed(openAIStream(`{"prompt_tokens":1,"completion_tokens":1}`, "x"), true))
		assert.True(t, tr.Done())
		tr.Release()
	}
}

// send writes its header names into the map as they are (no Set, no Del):
// every kind's must be in canonical form, or Header.Get would not find them.
func TestPreparedHeaderNamesAreCanonical(t *testing.T) {
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	prepared := 0
	for _, k := range Kinds() {
		v, err := New(Config{Kind: k, APIKey: "k", BaseURL: "https://example.com"})
		if err != nil {
			continue // aws and vertex take other credentials
		}
		out := httptest.NewRequest(http.MethodPost, "/", nil)
		out.Header.Set("Authorization", "Bearer client")
		out.Header.Set("Content-Length", "99")
		out.Header.Set("Accept-Encoding", "gzip")
		require.NoError(t, v.Prepare(out, Attempt{Model: "m", Body: body}), k)
		prepared++
		for name := range out.Header {
			assert.Equal(t, textproto.CanonicalMIMEHeaderKey(name), name, "%s: %q", k, name)
		}
		assert.NotEqual(t, "Bearer client", out.Header.Get("Authorization"), k)
		assert.Empty(t, out.Header.Get("Content-Length"), k)
	}
	assert.GreaterOrEqual(t, prepared, 8)
}
