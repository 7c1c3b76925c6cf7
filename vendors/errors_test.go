package vendors

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestErrorMessageShapes(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"openai", `{"error":{"message":"Invalid 'messages': empty array.","type":"invalid_request_error","param":"messages","code":"empty_array"}}`, "Invalid 'messages': empty array."},
		{"anthropic", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}`, "Overloaded"},
		{"gemini native", `{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}`, "Resource has been exhausted"},
		{"gemini compat array", `[{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}]`, "API key not valid."},
		{"volcengine", `{"error":{"code":"RateLimitExceeded.EndpointRPMExceeded","message":"RPM exceeded. Request ID: 0217","type":"TooManyRequests"}}`, "RPM exceeded. Request ID: 0217"},
		{"error as a plain string (xAI)", `{"code":"Client specified an invalid argument","error":"Model grok-9 does not exist"}`, "Model grok-9 does not exist"},
		{"error as a plain string (Ollama)", `{"error":"model \"x\" not found"}`, `model "x" not found`},
		{"bedrock top-level message", `{"message":"The security token included in the request is invalid."}`, "The security token included in the request is invalid."},
		{"vllm top-level message", `{"object":"error","message":"max context is 8192","type":"BadRequestError","code":400}`, "max context is 8192"},
		{"mistral validation object", `{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","stream_options"],"msg":"Extra inputs are not permitted"},{"type":"missing","loc":["body","messages"],"msg":"Field required"}]},"type":"invalid_request_error"}`, "body.stream_options: Extra inputs are not permitted; body.messages: Field required"},
		{"fastapi detail string", `{"detail":"Not Found"}`, "Not Found"},
		{"fastapi detail list", `{"detail":[{"loc":["body","model"],"msg":"field required","type":"value_error.missing"}]}`, "body.model: field required"},
		{"error.message wins over message", `{"message":"outer","error":{"message":"inner"}}`, "inner"},
		{"empty error.message falls through", `{"error":{"message":""},"message":"outer"}`, "outer"},
		{"whitespace trimmed", `{"error":{"message":"  spaced \n"}}`, "spaced"},
		{"leading blank lines (DeepSeek keep-alive)", "\n\n{\"error\":{\"message\":\"Server Overloaded\"}}", "Server Overloaded"},
		{"escapes decoded", `{"error":{"message":"caf\u00e9 \"quoted\""}}`, `café "quoted"`},
		{"error object without message", `{"error":{"code":"x"}}`, ""},
		{"error null", `{"error":null}`, ""},
		{"numeric message", `{"message":42}`, ""},
		{"empty body", ``, ""},
		{"html", `<html><body><h1>502 Bad Gateway</h1></body></html>`, ""},
		{"plain text", `upstream connect error`, ""},
		{"json string", `"oops"`, ""},
		{"empty array", `[]`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, ErrorMessage([]byte(c.body)))
		})
	}
}

func TestErrorMessageTruncation(t *testing.T) {
	body := func(msg string) []byte { return []byte(`{"error":{"message":"` + msg + `"}}`) }

	got := ErrorMessage(body(strings.Repeat("a", 600)))
	assert.Equal(t, strings.Repeat("a", 500), got)

	exact := strings.Repeat("b", 500)
	assert.Equal(t, exact, ErrorMessage(body(exact)))

	// 2-byte runes: 500 is a boundary.
	got = ErrorMessage(body(strings.Repeat("é", 300)))
	assert.Equal(t, strings.Repeat("é", 250), got)

	// 3-byte runes: 500 falls inside one, so the cut moves back to 498.
	got = ErrorMessage(body(strings.Repeat("€", 200)))
	assert.Len(t, got, 498)
	assert.True(t, utf8.ValidString(got))

	// 4-byte runes after an odd prefix.
	got = ErrorMessage(body("x" + strings.Repeat("😀", 200)))
	assert.LessOrEqual(t, len(got), 500)
	assert.True(t, utf8.ValidString(got))
	assert.True(t, strings.HasPrefix(got, "x😀"))

	// Invalid UTF-8 from the vendor comes out valid.
	got = ErrorMessage([]byte("{\"error\":{\"message\":\"bad \xff\xfe bytes\"}}"))
	assert.True(t, utf8.ValidString(got))
	assert.Contains(t, got, "bad ")
}

func TestVendorErrorMessageRedactsKey(t *testing.T) {
	v := newTestVendor(t, "openai")

	got := v.ErrorMessage(429, []byte(`{"error":{"message":"key `+testKey+` is throttled; `+testKey+` again"}}`))
	assert.Equal(t, "key [redacted] is throttled; [redacted] again", got)

	// Query-escaped form, as in an echoed URL.
	k, err := New(Config{Kind: "openai_compatible", BaseURL: "http://h", APIKey: "abc/def+ghi="})
	require.NoError(t, err)
	esc := url.QueryEscape("abc/def+ghi=")
	got = k.ErrorMessage(500, []byte(`{"error":"GET http://h/x?key=`+esc+` failed; raw abc/def+ghi="}`))
	assert.Equal(t, "GET http://h/x?key=[redacted] failed; raw [redacted]", got)

	// JSON-escaped in the body is still caught, because the message is
	// decoded before redaction.
	j, err := New(Config{Kind: "openai_compatible", BaseURL: "http://h", APIKey: "sk-a/b-key"})
	require.NoError(t, err)
	assert.Equal(t, "bad [redacted]", j.ErrorMessage(400, []byte(`{"error":{"message":"bad sk-a\/b-key"}}`)))

	// A key too short to be real would redact ordinary words instead.
	short, err := New(Config{Kind: "openai_compatible", BaseURL: "http://h", APIKey: "k"})
	require.NoError(t, err)
	assert.Equal(t, "blocks are kept", short.ErrorMessage(400, []byte(`{"error":{"message":"blocks are kept"}}`)))
}

func TestVendorErrorMessageKeyAtTruncationBoundary(t *testing.T) {
	v := newTestVendor(t, "mistral")
	// The key starts 5 bytes before the cut: truncating first would leave
	// "sk-te" behind.
	msg := strings.Repeat("a", 495) + testKey + " tail"
	got := v.ErrorMessage(500, []byte(`{"error":{"message":"`+msg+`"}}`))
	assert.LessOrEqual(t, len(got), 500)
	assert.NotContains(t, got, testKey[:3])
	assert.True(t, strings.HasPrefix(got, strings.Repeat("a", 495)+"[red"))
}

func TestVendorErrorMessageCredentialRejections(t *testing.T) {
	const fixed = "vendor rejected the router's credentials"
	cases := []struct {
		kind   string
		status int
		body   string
	}{
		{"openai", 401, `{"error":{"message":"Incorrect API key provided: sk-test-****cdef.","code":"invalid_api_key"}}`},
		{"azure", 401, `{"error":{"code":"401","message":"Access denied due to invalid subscription key"}}`},
		{"openai", 403, `{"error":{"message":"Project proj_x does not have access to model gpt-5"}}`},
		{"deepseek", 401, ``},
		{"x", 400, `{"code":"Client specified an invalid argument","error":"Incorrect API key provided: xa***Bc."}`},
		{"google", 400, `[{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}}]`},
	}
	for _, c := range cases {
		assert.Equal(t, fixed, newTestVendor(t, c.kind).ErrorMessage(c.status, []byte(c.body)), "%s %d", c.kind, c.status)
	}
	// The package-level function knows no vendor and keeps the text.
	assert.Equal(t, "Incorrect API key provided: xa***Bc.", ErrorMessage([]byte(cases[4].body)))
}

func TestVendorErrorMessagePassThrough(t *testing.T) {
	v := newTestVendor(t, "volcengine")
	assert.Equal(t, "The endpoint is closed",
		v.ErrorMessage(400, []byte(`{"error":{"code":"InvalidEndpoint.ClosedEndpoint","message":"The endpoint is closed"}}`)))
	assert.Equal(t, "", v.ErrorMessage(502, []byte(`<html>bad gateway</html>`)))

	long := strings.Repeat("z", 2000)
	assert.Len(t, v.ErrorMessage(500, []byte(`{"error":{"message":"`+long+`"}}`)), 500)

	// Without a key nothing is redacted.
	c, err := New(Config{Kind: "openai_compatible", BaseURL: "http://localhost:8000"})
	require.NoError(t, err)
	assert.Equal(t, "model not found", c.ErrorMessage(404, []byte(`{"error":"model not found"}`)))
}

func TestRedact(t *testing.T) {
	v, err := New(Config{ID: "v", Kind: "openai", APIKey: "sk-secret/+key"})
	require.NoError(t, err)
	assert.Equal(t, "bad key [redacted] and [redacted]", v.Redact("bad key sk-secret/+key and sk-secret%2F%2Bkey"))
	assert.Len(t, v.Redact(strings.Repeat("é", 400)), 500)
}

func TestLeaksFindsTheKeyInEitherForm(t *testing.T) {
	k, err := New(Config{Kind: "openai_compatible", BaseURL: "http://h", APIKey: "abc/def+ghi="})
	require.NoError(t, err)
	assert.True(t, k.Leaks("Bearer abc/def+ghi="))
	assert.True(t, k.Leaks("https://h/v1?key="+url.QueryEscape("abc/def+ghi=")))
	assert.False(t, k.Leaks("text/event-stream"))
	assert.False(t, k.Leaks(""))

	// A key that needs no escaping has one form.
	plain := newTestVendor(t, "openai")
	assert.True(t, plain.Leaks("x-"+testKey))
	assert.False(t, plain.Leaks("application/json"))

	// No key, nothing to leak, whatever the value.
	none, err := New(Config{Kind: "openai_compatible", BaseURL: "http://h"})
	require.NoError(t, err)
	assert.False(t, none.Leaks("anything"))
	assert.Equal(t, "nothing [redacted] here", plain.Redact("nothing "+testKey+" here"))
	assert.Equal(t, "nothing to redact", none.Redact("nothing to redact"))
}
