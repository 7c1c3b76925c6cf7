package vendors

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testKey is the API key of vendors made by newTestVendor.
const testKey = "sk-test-0123456789abcdef"

// newTestVendor returns a valid vendor of kind k.
func newTestVendor(t *testing.T, k string) *Vendor {
	t.Helper()
	cfg := Config{ID: k + "-test", Kind: k, APIKey: testKey}
	switch k {
	case "azure":
		cfg.BaseURL = "https://myres.openai.azure.com"
	case "openai_compatible":
		cfg.BaseURL = "http://127.0.0.1:8000/v1"
	case "aws":
		cfg.Region = "us-east-1"
	case "vertex":
		cfg = vertexTestConfig(t)
	}
	v, err := New(cfg)
	require.NoError(t, err)
	return v
}

type classifyCase struct {
	name   string
	status int
	body   string
	want   Verdict
}

func runClassifyCases(t *testing.T, kind string, cases []classifyCase) {
	t.Helper()
	v := newTestVendor(t, kind)
	for _, c := range cases {
		t.Run(kind+"/"+c.name, func(t *testing.T) {
			assert.Equal(t, c.want, v.Classify(c.status, []byte(c.body)))
		})
	}
}

// genericClassifyCases hold for every kind: the bodies are plain OpenAI-style
// errors that no kind-specific rule looks at.
var genericClassifyCases = func() []classifyCase {
	plain := `{"error":{"message":"something","type":"some_error","param":null,"code":null}}`
	cases := []classifyCase{
		{"400 bad request", 400, `{"error":{"message":"Invalid 'messages': empty array","type":"invalid_request_error"}}`, Verdict{false, "bad_request"}},
		{"400 context length", 400, `{"error":{"message":"too long","type":"invalid_request_error","code":"context_length_exceeded"}}`, Verdict{false, "bad_request"}},
		{"400 content filter", 400, `{"error":{"message":"filtered","code":"content_filter","status":400}}`, Verdict{false, "bad_request"}},
		{"401 auth", 401, `{"error":{"message":"Incorrect API key provided: sk-****","type":"invalid_request_error","code":"invalid_api_key"}}`, Verdict{true, "auth"}},
		{"402 payment", 402, `{"error":{"message":"Insufficient Balance","type":"unknown_error"}}`, Verdict{true, "quota"}},
		{"403 permission", 403, `{"error":{"message":"Country, region, or territory not supported","code":"unsupported_country_region_territory"}}`, Verdict{true, "auth"}},
		{"404 model", 404, `{"error":{"message":"The model does not exist","code":"model_not_found"}}`, Verdict{true, "not_found"}},
		{"404 deployment", 404, `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}`, Verdict{true, "not_found"}},
		{"405", 405, plain, Verdict{false, "client_error"}},
		{"408 timeout", 408, plain, Verdict{true, "timeout"}},
		{"409 conflict", 409, plain, Verdict{true, "server_error"}},
		{"410", 410, plain, Verdict{false, "client_error"}},
		{"413 too large", 413, `{"error":{"type":"request_too_large","message":"Request exceeds the maximum size"}}`, Verdict{false, "bad_request"}},
		{"415", 415, plain, Verdict{false, "client_error"}},
		{"422 validation", 422, `{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","stream_options"],"msg":"Extra inputs are not permitted"}]},"type":"invalid_request_error"}`, Verdict{false, "bad_request"}},
		{"429 rate limit", 429, `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`, Verdict{true, "rate_limited"}},
		{"429 insufficient_quota", 429, `{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`, Verdict{true, "quota"}},
		{"429 insufficient_quota code only", 429, `{"error":{"message":"quota","code":"insufficient_quota"}}`, Verdict{true, "quota"}},
		{"429 insufficient_quota type only", 429, `{"error":{"message":"quota","type":"insufficient_quota"}}`, Verdict{true, "quota"}},
		{"429 insufficient_quota truncated body", 429, `{"error":{"code":"insufficient_quota","message":"You exceeded your cur`, Verdict{true, "quota"}},
		{"429 quota only in message", 429, `{"error":{"message":"insufficient_quota"}}`, Verdict{true, "rate_limited"}},
		{"429 empty body", 429, ``, Verdict{true, "rate_limited"}},
		{"500", 500, `{"error":{"message":"The server had an error","type":"server_error"}}`, Verdict{true, "server_error"}},
		{"501", 501, plain, Verdict{true, "server_error"}},
		{"502 html", 502, `<html><body>502 Bad Gateway</body></html>`, Verdict{true, "server_error"}},
		{"503 overloaded", 503, `{"error":{"message":"The engine is currently overloaded","type":"server_error","code":"server_is_overloaded"}}`, Verdict{true, "overloaded"}},
		{"504 timeout", 504, ``, Verdict{true, "timeout"}},
		{"520", 520, plain, Verdict{true, "server_error"}},
		{"529 overloaded", 529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, Verdict{true, "overloaded"}},
		{"599", 599, plain, Verdict{true, "server_error"}},
		{"200 is not an error", 200, plain, Verdict{}},
		{"399 is not an error", 399, plain, Verdict{}},
	}
	for _, s := range []int{406, 411, 412, 416, 417, 418, 421, 423, 424, 425, 426, 428, 431, 451, 499} {
		cases = append(cases, classifyCase{strconv.Itoa(s), s, plain, Verdict{false, "client_error"}})
	}
	return cases
}()

func TestClassifyGenericAllKinds(t *testing.T) {
	for _, k := range Kinds() {
		runClassifyCases(t, k, genericClassifyCases)
	}
}

// TestClassifyVendorRulesStayWithTheirKind checks that each vendor-specific
// body rule is scoped to its kind: the same body from another kind gets the
// generic (status-based) verdict.
func TestClassifyVendorRulesStayWithTheirKind(t *testing.T) {
	bodies := map[string]struct {
		status int
		body   string
		owner  string
	}{
		"x bad key":                  {400, `{"code":"Client specified an invalid argument","error":"Incorrect API key provided: xa***12."}`, "x"},
		"google API_KEY_INVALID":     {400, `[{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}]`, "google"},
		"google FAILED_PRECONDITION": {400, `{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}`, "google"},
		"volcengine closed endpoint": {400, `{"error":{"code":"InvalidEndpoint.ClosedEndpoint","message":"The endpoint is closed","type":"BadRequest"}}`, "volcengine"},
	}
	for name, b := range bodies {
		for _, k := range Kinds() {
			got := newTestVendor(t, k).Classify(b.status, []byte(b.body))
			if k == b.owner {
				assert.True(t, got.Failover, "%s on %s", name, k)
			} else {
				assert.Equal(t, Verdict{false, "bad_request"}, got, "%s on %s", name, k)
			}
		}
	}
}
