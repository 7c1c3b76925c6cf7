package vendors

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// richBody has everything a vendor-specific field could look like: unknown
// top-level fields, nested objects, escapes, odd number forms and spacing.
// Prepare must change only "model" and leave every other byte of it alone.
const richBody = `{"model":"client-model","messages":[{"role":"user","content":"h\u00e9llo \"q\" ✓"}],` +
	`"temperature":0.7,"safe_prompt":true,"top_k":40,"stream":true,"stream_options":{"include_usage":true},` +
	`"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object",` +
	`"properties":{"a":{"type":"array","items":[1,2.50,{"b":null}]}}}}},` +
	`"extra_body":{"google":{"thinking_config":{"thinking_budget":1024}}},` +
	`"big":12345678901234567890,"n":1e2, "spaced" :  [ 1 , 2 ] }`

// prepareCase is one row of a per-kind Prepare table.
type prepareCase struct {
	name        string
	cfg         Config
	endpoint    Endpoint
	model       string
	body        string    // "" = richBody
	wantURL     string    // out.URL.String()
	wantPath    string    // out.URL.Path (decoded)
	wantRawPath string    // out.URL.RawPath; "" when Go's default encoding is right
	wantAuth    [2]string // credential header name and value; zero = no credential header
}

// allCredentialHeaders are checked on every prepared request: exactly the
// vendor's own credential header may be present, with exactly one value.
var allCredentialHeaders = []string{"Authorization", "Api-Key", "X-Api-Key", "X-Goog-Api-Key"}

func runPrepareCases(t *testing.T, cases []prepareCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkPrepare(t, c) })
	}
}

func checkPrepare(t *testing.T, c prepareCase) {
	t.Helper()
	v, err := New(c.cfg)
	require.NoError(t, err)

	src := c.body
	if src == "" {
		src = richBody
	}
	// Spare capacity would let an in-place edit go unnoticed by len-based
	// comparisons, so check the whole backing array.
	body := make([]byte, len(src), len(src)+64)
	copy(body, src)
	full := body[:cap(body)]
	orig := bytes.Clone(full)

	// A client request as the router receives it, with everything Prepare
	// must replace or drop.
	in := httptest.NewRequest(http.MethodPost,
		"http://router.example/v1/"+c.endpoint.String()+"?client=secret", bytes.NewReader(body))
	in.Header.Set("Content-Length", strconv.Itoa(len(body)))
	in.Header.Set("Content-Type", "text/plain")
	in.Header.Set("Authorization", "Bearer client-key")
	in.Header.Set("X-Api-Key", "client-key")
	in.Header.Set("X-Client-Header", "kept")
	in.TransferEncoding = []string{"chunked"}
	out := in.Clone(context.Background())

	require.NoError(t, v.Prepare(out, Attempt{Endpoint: c.endpoint, Model: c.model, Body: body}))

	assert.Equal(t, orig, full, "the caller's body slice was modified")

	// URL.
	want, err := url.Parse(c.wantURL)
	require.NoError(t, err)
	assert.Equal(t, c.wantURL, out.URL.String())
	assert.Equal(t, want.Scheme, out.URL.Scheme)
	assert.Equal(t, want.Host, out.URL.Host)
	assert.Equal(t, c.wantPath, out.URL.Path)
	assert.Equal(t, c.wantRawPath, out.URL.RawPath)
	assert.Equal(t, want.RawQuery, out.URL.RawQuery)
	assert.Empty(t, out.Host, "Host must be empty so Go sends URL.Host")

	// The request the clone came from is untouched.
	assert.Equal(t, "/v1/"+c.endpoint.String(), in.URL.Path)
	assert.Equal(t, "client=secret", in.URL.RawQuery)
	assert.Equal(t, "Bearer client-key", in.Header.Get("Authorization"))

	// Headers.
	for _, name := range allCredentialHeaders {
		if name == c.wantAuth[0] {
			assert.Equal(t, []string{c.wantAuth[1]}, out.Header.Values(name), name)
		} else {
			assert.Empty(t, out.Header.Values(name), name)
		}
	}
	for name, values := range c.cfg.Headers {
		assert.Equal(t, values, out.Header.Values(name), name)
	}
	assert.Equal(t, "kept", out.Header.Get("X-Client-Header"))
	assert.Equal(t, []string{"application/json"}, out.Header.Values("Content-Type"))
	assert.Empty(t, out.Header.Values("Content-Length"))
	assert.Nil(t, out.TransferEncoding)

	// Body.
	got, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	assert.EqualValues(t, len(got), out.ContentLength)
	require.NotNil(t, out.GetBody)
	for range 2 { // GetBody must work repeatedly (redirects, HTTP/2 retries).
		rc, err := out.GetBody()
		require.NoError(t, err)
		again, err := io.ReadAll(rc)
		require.NoError(t, err)
		assert.Equal(t, got, again)
	}
	require.True(t, gjson.ValidBytes(got), "prepared body is not valid JSON: %s", got)
	assert.Equal(t, c.model, gjson.GetBytes(got, "model").String())
	assertOnlyModelChanged(t, body, got)
}

// assertOnlyModelChanged checks that every top-level field of before other
// than "model" appears in after with byte-identical raw JSON, in the same
// order, and that after has exactly one "model".
func assertOnlyModelChanged(t *testing.T, before, after []byte) {
	t.Helper()
	type field struct{ key, raw string }
	others := func(b []byte) (fields []field, models int) {
		gjson.ParseBytes(b).ForEach(func(k, v gjson.Result) bool {
			if k.String() == "model" {
				models++
			} else {
				fields = append(fields, field{k.Raw, v.Raw})
			}
			return true
		})
		return fields, models
	}
	wantFields, _ := others(before)
	gotFields, models := others(after)
	assert.Equal(t, wantFields, gotFields)
	assert.Equal(t, 1, models, "prepared body must have exactly one model field")
}

func TestEndpointString(t *testing.T) {
	assert.Equal(t, "chat/completions", ChatCompletions.String())
	assert.Equal(t, "completions", Completions.String())
	assert.Equal(t, "embeddings", Embeddings.String())
	assert.Equal(t, "Endpoint(9)", Endpoint(9).String())
}

func TestKinds(t *testing.T) {
	want := []string{"anthropic", "aws", "azure", "deepseek", "google", "mistral", "openai", "openai_compatible",
		"vertex", "volcengine", "x"}
	assert.Equal(t, want, Kinds())

	// Kinds returns a copy.
	k := Kinds()
	k[0] = "mutated"
	assert.Equal(t, want, Kinds())

	for _, name := range want {
		assert.True(t, IsKind(name), name)
	}
	for _, name := range []string{"", "OpenAI", "claude", "bedrock", "azure ", "compatible"} {
		assert.False(t, IsKind(name), name)
	}
}

func TestSupports(t *testing.T) {
	type support struct{ chat, completions, embeddings bool }
	cases := []struct {
		cfg  Config
		want support
	}{
		{Config{Kind: "openai", APIKey: "k"}, support{true, true, true}},
		{Config{Kind: "azure", APIKey: "k", BaseURL: "https://r.openai.azure.com"}, support{true, true, true}},
		{Config{Kind: "azure", APIKey: "k", BaseURL: "https://r.openai.azure.com/openai/v1"}, support{true, false, true}},
		{Config{Kind: "azure", APIKey: "k", BaseURL: "https://r.openai.azure.com", APIVersion: "v1"}, support{true, false, true}},
		{Config{Kind: "mistral", APIKey: "k"}, support{true, false, true}},
		{Config{Kind: "deepseek", APIKey: "k"}, support{true, false, false}},
		{Config{Kind: "volcengine", APIKey: "k"}, support{true, false, true}},
		{Config{Kind: "x", APIKey: "k"}, support{true, false, false}},
		{Config{Kind: "google", APIKey: "k"}, support{true, false, true}},
		{Config{Kind: "openai_compatible", BaseURL: "http://localhost:8000/v1"}, support{true, true, true}},
	}
	for _, c := range cases {
		t.Run(c.cfg.Kind+" "+c.cfg.BaseURL+" "+c.cfg.APIVersion, func(t *testing.T) {
			v, err := New(c.cfg)
			require.NoError(t, err)
			got := support{v.Supports(ChatCompletions), v.Supports(Completions), v.Supports(Embeddings)}
			assert.Equal(t, c.want, got)
			assert.False(t, v.Supports(Endpoint(7)))
		})
	}
}

func TestNewErrors(t *testing.T) {
	type newErrCase struct {
		name  string
		cfg   Config
		field string
		// notInMessage must not appear in the error (secrets).
		notInMessage string
	}
	cases := []newErrCase{
		{name: "unknown kind", cfg: Config{Kind: "claude", APIKey: "k"}, field: "kind"},
		{name: "empty kind", cfg: Config{APIKey: "k"}, field: "kind"},
		{name: "kind is case-sensitive", cfg: Config{Kind: "OpenAI", APIKey: "k"}, field: "kind"},

		{name: "unparsable base_url", cfg: Config{Kind: "openai", APIKey: "k", BaseURL: "http://[::1"}, field: "base_url"},
		{name: "scheme ftp", cfg: Config{Kind: "openai", APIKey: "k", BaseURL: "ftp://example.com/v1"}, field: "base_url"},
		{name: "no scheme", cfg: Config{Kind: "openai", APIKey: "k", BaseURL: "api.openai.com/v1"}, field: "base_url"},
		{name: "opaque", cfg: Config{Kind: "openai", APIKey: "k", BaseURL: "https:api.openai.com"}, field: "base_url"},
		{name: "no host", cfg: Config{Kind: "openai", APIKey: "k", BaseURL: "https:///v1"}, field: "base_url"},
		{name: "port only", cfg: Config{Kind: "openai", APIKey: "k", BaseURL: "https://:443/v1"}, field: "base_url"},
		{name: "port zero", cfg: Config{Kind: "openai", APIKey: "k", BaseURL: "https://example.com:0/v1"}, field: "base_url"},
		{name: "port too big", cfg: Config{Kind: "openai", APIKey: "k", BaseURL: "https://example.com:70000/v1"}, field: "base_url"},
		{name: "query", cfg: Config{Kind: "openai", APIKey: "k", BaseURL: "https://example.com/v1?x=1"}, field: "base_url"},
		{name: "empty query", cfg: Config{Kind: "openai", APIKey: "k", BaseURL: "https://example.com/v1?"}, field: "base_url"},
		{name: "fragment", cfg: Config{Kind: "openai", APIKey: "k", BaseURL: "https://example.com/v1#frag"}, field: "base_url"},
		{name: "empty fragment", cfg: Config{Kind: "openai", APIKey: "k", BaseURL: "https://example.com/v1#"}, field: "base_url"},
		{
			name: "userinfo", cfg: Config{Kind: "openai", APIKey: "k", BaseURL: "https://user:hunter2@example.com/v1"},
			field: "base_url", notInMessage: "hunter2",
		},
		{name: "azure needs base_url", cfg: Config{Kind: "azure", APIKey: "k"}, field: "base_url"},
		{name: "openai_compatible needs base_url", cfg: Config{Kind: "openai_compatible"}, field: "base_url"},
		{name: "blank base_url is missing", cfg: Config{Kind: "openai_compatible", BaseURL: "  "}, field: "base_url"},

		{name: "blank key", cfg: Config{Kind: "openai", APIKey: " \n"}, field: "api_key"},
		{
			name: "key with control character", cfg: Config{Kind: "openai", APIKey: "sk-abc\r\ndef"},
			field: "api_key", notInMessage: "sk-abc",
		},
		{name: "azure key missing", cfg: Config{Kind: "azure", BaseURL: "https://r.openai.azure.com"}, field: "api_key"},

		{name: "api_version on openai", cfg: Config{Kind: "openai", APIKey: "k", APIVersion: "2024-10-21"}, field: "api_version"},
		{
			name:  "azure v1 base_url with dated api_version",
			cfg:   Config{Kind: "azure", APIKey: "k", BaseURL: "https://r.openai.azure.com/openai/v1/", APIVersion: "2024-10-21"},
			field: "api_version",
		},

		{name: "bad header name", cfg: Config{Kind: "openai", APIKey: "k", Headers: http.Header{"Bad Header": {"x"}}}, field: "headers"},
		{name: "empty header name", cfg: Config{Kind: "openai", APIKey: "k", Headers: http.Header{"": {"x"}}}, field: "headers"},
		{name: "header value CRLF", cfg: Config{Kind: "openai", APIKey: "k", Headers: http.Header{"X-A": {"a\r\nX-B: b"}}}, field: "headers"},
		{name: "Content-Length header", cfg: Config{Kind: "openai", APIKey: "k", Headers: http.Header{"content-length": {"1"}}}, field: "headers"},
		{name: "Host header", cfg: Config{Kind: "openai", APIKey: "k", Headers: http.Header{"Host": {"evil"}}}, field: "headers"},
	}
	// Every kind except openai_compatible and vertex (OAuth from a service
	// account) needs a key; aws takes SigV4 credentials instead, so none may
	// come from the environment here.
	for _, env := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(env, "")
	}
	for _, k := range Kinds() {
		if k == "openai_compatible" || k == "vertex" {
			continue
		}
		cases = append(cases, newErrCase{name: "missing key " + k, cfg: Config{Kind: k, BaseURL: "https://example.com"}, field: "api_key"})
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := New(c.cfg)
			require.Error(t, err)
			assert.Nil(t, v)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, c.field, ce.Field)
			assert.NotEmpty(t, ce.Message)
			assert.Equal(t, ce.Field+": "+ce.Message, err.Error())
			if c.notInMessage != "" {
				assert.NotContains(t, err.Error(), c.notInMessage)
			}
		})
	}
}

func TestNewUnknownKindListsKinds(t *testing.T) {
	_, err := New(Config{Kind: "bedrock", APIKey: "k"})
	require.Error(t, err)
	for _, k := range Kinds() {
		assert.Contains(t, err.Error(), k)
	}
	assert.Contains(t, err.Error(), `"bedrock"`)
}

func TestNewAcceptsValidConfigs(t *testing.T) {
	for _, c := range []Config{
		{ID: "openai", Kind: "openai", APIKey: "sk-test"},
		{ID: "oai", Kind: "openai", APIKey: "  sk-test\n", BaseURL: " https://api.openai.com/v1/ "},
		{ID: "local", Kind: "openai_compatible", BaseURL: "http://127.0.0.1:11434/v1"},
		{ID: "upper", Kind: "openai", APIKey: "k", BaseURL: "HTTPS://API.OPENAI.COM/v1"},
		{ID: "hdr", Kind: "openai", APIKey: "k", Headers: http.Header{"OpenAI-Project": {"p"}, "x-tab": {"a\tb"}, "X-Empty": nil}},
	} {
		v, err := New(c)
		require.NoError(t, err, c.ID)
		assert.Equal(t, c.ID, v.ID())
		assert.Equal(t, c.Kind, v.Kind())
	}
}

func TestKeyIsTrimmed(t *testing.T) {
	v, err := New(Config{Kind: "openai", APIKey: " sk-test\n"})
	require.NoError(t, err)
	out := httptest.NewRequest(http.MethodPost, "/", nil)
	require.NoError(t, v.Prepare(out, Attempt{Model: "m", Body: []byte(`{}`)}))
	assert.Equal(t, "Bearer sk-test", out.Header.Get("Authorization"))
}

func TestDial(t *testing.T) {
	cases := []struct{ kind, baseURL, want string }{
		{"openai", "", "api.openai.com:443"},
		{"volcengine", "", "ark.cn-beijing.volces.com:443"},
		{"google", "", "generativelanguage.googleapis.com:443"},
		{"openai", "https://gw.example.com:8443/v1", "gw.example.com:8443"},
		{"openai_compatible", "http://localhost", "localhost:80"},
		{"openai_compatible", "http://localhost/v1/", "localhost:80"},
		{"openai_compatible", "http://127.0.0.1:8080/proxy/v1", "127.0.0.1:8080"},
		{"openai_compatible", "http://[::1]:11434/v1", "[::1]:11434"},
		{"openai_compatible", "https://[2001:db8::1]/v1", "[2001:db8::1]:443"},
		{"openai_compatible", "http://[2001:db8::1]/v1", "[2001:db8::1]:80"},
		{"azure", "https://myres.openai.azure.com", "myres.openai.azure.com:443"},
	}
	for _, c := range cases {
		t.Run(c.kind+" "+c.baseURL, func(t *testing.T) {
			v, err := New(Config{Kind: c.kind, BaseURL: c.baseURL, APIKey: "k"})
			require.NoError(t, err)
			assert.Equal(t, c.want, v.Dial())
		})
	}
}

func TestBaseURL(t *testing.T) {
	v, err := New(Config{Kind: "openai", APIKey: "sk-secret"})
	require.NoError(t, err)
	u := v.BaseURL()
	assert.Equal(t, "https://api.openai.com/v1", u.String())
	assert.Nil(t, u.User)

	// It is a copy.
	u.Host = "evil.example"
	u.Path = "/x"
	assert.Equal(t, "https://api.openai.com/v1", v.BaseURL().String())

	// Neither the URL nor the vendor's printed forms carry the key.
	for _, s := range []string{v.BaseURL().String(), v.String(), v.GoString()} {
		assert.NotContains(t, s, "sk-secret")
	}
}
