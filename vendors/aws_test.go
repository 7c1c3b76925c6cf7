package vendors

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// awsClearEnv hides the process's AWS credentials from New.
func awsClearEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(name, "")
	}
}

// newAWSTestVendor builds an aws vendor with no environment credentials and
// the signing clock fixed at the SigV4 test suite's time.
func newAWSTestVendor(t *testing.T, c Config) *Vendor {
	t.Helper()
	awsClearEnv(t)
	v, err := New(c)
	require.NoError(t, err)
	v.backend.(*bedrockBackend).now = func() time.Time { return awsSuiteTime }
	return v
}

// awsClientRequest is a client request as the router hands it to Prepare.
func awsClientRequest(t *testing.T, body string) *http.Request {
	t.Helper()
	in := httptest.NewRequest(http.MethodPost, "http://router.example/v1/chat/completions?x=1", strings.NewReader(body))
	in.Header.Set("Authorization", "Bearer client-key")
	in.Header.Set("Content-Type", "application/json; charset=utf-8")
	in.Header.Set("Accept", "text/event-stream")
	in.Header.Set("X-Amz-Security-Token", "client-token")
	in.Header.Set("x-amz-date", "19700101T000000Z")
	in.Header.Set("X-Client-Header", "kept")
	in.Header.Set("Content-Length", "999")
	return in.Clone(context.Background())
}

func awsReadBody(t *testing.T, r *http.Request) []byte {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	require.Equal(t, int64(len(b)), r.ContentLength)
	again, err := r.GetBody()
	require.NoError(t, err)
	b2, _ := io.ReadAll(again)
	require.Equal(t, b, b2)
	return b
}

func awsTestHMAC(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func TestAWSNew(t *testing.T) {
	cases := []struct {
		name     string
		cfg      Config
		env      map[string]string
		wantBase string
		bearer   bool
		region   string
		token    string
	}{
		{name: "api key and region", cfg: Config{Kind: "aws", APIKey: "bedrock-key", Region: "us-west-2"},
			wantBase: "https://bedrock-runtime.us-west-2.amazonaws.com", bearer: true, region: "us-west-2"},
		{name: "api key and base_url without region", cfg: Config{Kind: "aws", APIKey: "k", BaseURL: "https://gw.example.com/bedrock/"},
			wantBase: "https://gw.example.com/bedrock/", bearer: true},
		{name: "static credentials", cfg: Config{Kind: "aws", Region: "eu-central-1", AccessKeyID: " AKID ", SecretAccessKey: "secret\n"},
			wantBase: "https://bedrock-runtime.eu-central-1.amazonaws.com", region: "eu-central-1"},
		{name: "api key wins over access keys", cfg: Config{Kind: "aws", Region: "us-east-1", APIKey: "k", AccessKeyID: "AKID", SecretAccessKey: "s"},
			wantBase: "https://bedrock-runtime.us-east-1.amazonaws.com", bearer: true, region: "us-east-1"},
		{name: "environment credentials", cfg: Config{Kind: "aws", Region: "us-east-1"},
			env:      map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtoken"},
			wantBase: "https://bedrock-runtime.us-east-1.amazonaws.com", region: "us-east-1", token: "envtoken"},
		{name: "configured credentials win over the environment", cfg: Config{Kind: "aws", Region: "us-east-1", AccessKeyID: "AKID", SecretAccessKey: "s"},
			env:      map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtoken"},
			wantBase: "https://bedrock-runtime.us-east-1.amazonaws.com", region: "us-east-1"},
		{name: "region from a VPC endpoint base_url", cfg: Config{Kind: "aws", BaseURL: "https://vpce-0abc-xyz.bedrock-runtime.ap-southeast-2.vpce.amazonaws.com", AccessKeyID: "A", SecretAccessKey: "S"},
			wantBase: "https://vpce-0abc-xyz.bedrock-runtime.ap-southeast-2.vpce.amazonaws.com", region: "ap-southeast-2"},
		{name: "explicit region with base_url", cfg: Config{Kind: "aws", BaseURL: "http://127.0.0.1:9999", Region: "us-east-2", AccessKeyID: "A", SecretAccessKey: "S"},
			wantBase: "http://127.0.0.1:9999", region: "us-east-2"},
		{name: "fips host", cfg: Config{Kind: "aws", BaseURL: "https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com", AccessKeyID: "A", SecretAccessKey: "S"},
			wantBase: "https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com", region: "us-gov-west-1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			awsClearEnv(t)
			for k, val := range c.env {
				t.Setenv(k, val)
			}
			v, err := New(c.cfg)
			require.NoError(t, err)
			assert.Equal(t, c.wantBase, v.BaseURL().String())
			assert.True(t, v.Supports(ChatCompletions))
			assert.True(t, v.Supports(Embeddings), "Titan and Cohere models")
			assert.False(t, v.Supports(Completions))
			assert.True(t, v.Native())
			base, _ := url.Parse(c.wantBase)
			wantDial := base.Host
			if base.Port() == "" {
				wantDial += map[string]string{"https": ":443", "http": ":80"}[base.Scheme]
			}
			assert.Equal(t, wantDial, v.Dial())
			st := v.backend.(*bedrockBackend)
			assert.Equal(t, c.bearer, st.creds == nil)
			assert.Equal(t, c.region, st.region)
			if st.creds != nil {
				creds, err := st.creds.Retrieve(context.Background())
				require.NoError(t, err)
				assert.Equal(t, c.token, creds.SessionToken)
				assert.NotContains(t, creds.AccessKeyID+creds.SecretAccessKey, " ")
				assert.NotContains(t, creds.SecretAccessKey, "\n")
			}
		})
	}
}

func TestAWSNewErrors(t *testing.T) {
	cases := []struct {
		name, field string
		cfg         Config
		env         map[string]string
	}{
		{"nothing to authenticate with", "api_key", Config{Kind: "aws", Region: "us-east-1"}, nil},
		{"nothing to authenticate with, base_url", "api_key", Config{Kind: "aws", BaseURL: "https://example.com"}, nil},
		{"half the environment", "api_key", Config{Kind: "aws", Region: "us-east-1"}, map[string]string{"AWS_ACCESS_KEY_ID": "A"}},
		{"access key without secret", "secret_access_key", Config{Kind: "aws", Region: "us-east-1", AccessKeyID: "A"}, nil},
		{"secret without access key", "access_key_id", Config{Kind: "aws", Region: "us-east-1", SecretAccessKey: "S"}, nil},
		{"session token alone", "access_key_id", Config{Kind: "aws", Region: "us-east-1", SessionToken: "T"}, nil},
		{"control character in secret", "secret_access_key", Config{Kind: "aws", Region: "us-east-1", AccessKeyID: "A", SecretAccessKey: "hunter2\x00x"}, nil},
		{"no region, no base_url", "region", Config{Kind: "aws", APIKey: "k"}, nil},
		{"bad region", "region", Config{Kind: "aws", APIKey: "k", Region: "us-east-1.evil.com/"}, nil},
		{"upper-case region", "region", Config{Kind: "aws", APIKey: "k", Region: "US-EAST-1"}, nil},
		{"SigV4 with a base_url naming no region", "region", Config{Kind: "aws", BaseURL: "https://gw.example.com", AccessKeyID: "A", SecretAccessKey: "S"}, nil},
		{"api_version", "api_version", Config{Kind: "aws", APIKey: "k", Region: "us-east-1", APIVersion: "2023-09-30"}, nil},
		{"key with control characters", "api_key", Config{Kind: "aws", APIKey: "k\r\n1", Region: "us-east-1"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			awsClearEnv(t)
			for k, val := range c.env {
				t.Setenv(k, val)
			}
			v, err := New(c.cfg)
			require.Error(t, err)
			assert.Nil(t, v)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, c.field, ce.Field)
			assert.NotContains(t, err.Error(), "hunter2", "secrets are never echoed")
		})
	}
}

func TestAWSClassify(t *testing.T) {
	// newTestVendor (classify_test.go) has no region for aws: build one.
	v := newAWSTestVendor(t, Config{Kind: "aws", APIKey: testKey, Region: "us-east-1"})
	cases := append(slices.Clone(genericClassifyCases), []classifyCase{
		{"throttling", 429, `{"message":"Too many requests, please wait before trying again."}`, Verdict{true, "rate_limited"}},
		{"throttling by type", 429, `{"__type":"com.amazon.coral.service#ThrottlingException","message":"Rate exceeded"}`, Verdict{true, "rate_limited"}},
		{"daily token quota", 429, `{"message":"Too many tokens per day, please wait before trying again."}`, Verdict{true, "quota"}},
		{"daily quota by type", 429, `{"__type":"ThrottlingException","message":"Too many requests per day, please wait before trying again."}`, Verdict{true, "quota"}},
		{"service quota exceeded", 400, `{"__type":"ServiceQuotaExceededException","message":"Your request exceeds the service quota for your account."}`, Verdict{true, "quota"}},
		{"service quota exceeded by code", 400, `{"code":"ServiceQuotaExceededException:http://internal.amazon.com/coral/com.amazon.bedrock/","message":"quota"}`, Verdict{true, "quota"}},
		{"access denied", 403, `{"message":"You don't have access to the model with the specified model ID."}`, Verdict{true, "auth"}},
		{"access denied, AWS auth layer", 403, `{"Message":"User: arn:aws:iam::123456789012:user/x is not authorized to perform: bedrock:InvokeModel"}`, Verdict{true, "auth"}},
		{"unrecognized client", 403, `{"message":"The security token included in the request is invalid."}`, Verdict{true, "auth"}},
		{"expired token as a 400", 400, `{"__type":"ExpiredTokenException","message":"The security token included in the request is expired"}`, Verdict{true, "auth"}},
		{"incomplete signature as a 400", 400, `{"__type":"IncompleteSignatureException","message":"Authorization header requires 'Credential' parameter."}`, Verdict{true, "auth"}},
		{"signature mismatch by type", 403, `{"__type":"InvalidSignatureException","message":"The request signature we calculated does not match"}`, Verdict{true, "auth"}},
		{"resource not found", 404, `{"message":"Model not found."}`, Verdict{true, "not_found"}},
		{"resource not found by type", 400, `{"__type":"ResourceNotFoundException","message":"x"}`, Verdict{true, "not_found"}},
		{"needs an inference profile", 400, `{"message":"Invocation of model ID anthropic.claude-sonnet-4-20250514-v1:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model."}`, Verdict{true, "not_found"}},
		{"needs an inference profile by type", 400, `{"__type":"ValidationException","message":"Invocation of model ID x with on-demand throughput isn't supported."}`, Verdict{true, "not_found"}},
		{"invalid model identifier", 400, `{"message":"The provided model identifier is invalid."}`, Verdict{true, "not_found"}},
		{"validation", 400, `{"message":"The text field in the ContentBlock object at messages.0.content.0 is blank. Add text to the text field, and try again."}`, Verdict{false, "bad_request"}},
		{"validation by type", 400, `{"__type":"ValidationException","message":"Input is too long for requested model."}`, Verdict{false, "bad_request"}},
		{"model not ready", 429, `{"message":"Model is not ready to serve inference requests. The model is scaling up."}`, Verdict{true, "overloaded"}},
		{"model not ready by type", 429, `{"__type":"ModelNotReadyException","message":"x"}`, Verdict{true, "overloaded"}},
		{"service unavailable", 503, `{"message":"Service Unavailable"}`, Verdict{true, "overloaded"}},
		{"service unavailable by type", 500, `{"__type":"ServiceUnavailableException","message":"x"}`, Verdict{true, "overloaded"}},
		{"internal", 500, `{"message":"The server encountered an internal error."}`, Verdict{true, "server_error"}},
		{"model error 424", 424, `{"message":"The model returned an error."}`, Verdict{true, "server_error"}},
		{"model stream error by type", 424, `{"__type":"ModelStreamErrorException","message":"x"}`, Verdict{true, "server_error"}},
		{"model timeout", 408, `{"message":"Model has timed out in processing the request."}`, Verdict{true, "timeout"}},
		{"model timeout by type", 400, `{"__type":"ModelTimeoutException","message":"x"}`, Verdict{true, "timeout"}},
		{"truncated body", 429, `{"message":"Too many tokens per day, please wait before trying again.","__ty`, Verdict{true, "quota"}},
		{"truncated inside the message", 429, `{"message":"Too many tokens per day, ple`, Verdict{true, "rate_limited"}},
		{"client text cannot route", 400, `{"error":{"message":"on-demand throughput inference profile"}}`, Verdict{false, "bad_request"}},
	}...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, v.Classify(c.status, []byte(c.body)))
		})
	}
}

// awsDribbleReader returns at most n bytes per Read.
type awsDribbleReader struct {
	data []byte
	n    int
}

func (r *awsDribbleReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n, len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// awsNormalizeSSE replaces the synthesized id and created of translated
// chunks with fixed values.
func awsNormalizeSSE(s string) string {
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(s, "\n") {
		if rest, ok := strings.CutPrefix(line, `data: {"id":"`); ok {
			_, rest, _ = strings.Cut(rest, `"`)
			if i := strings.Index(rest, `"created":`); i >= 0 {
				j := strings.IndexByte(rest[i:], ',')
				rest = rest[:i] + `"created":1700000000` + rest[i+j:]
			}
			line = `data: {"id":"chatcmpl-test"` + rest
		}
		out.WriteString(line)
	}
	return out.String()
}

// Bedrock's REST API states an error's type only in X-Amzn-ErrorType; a
// ServiceQuotaExceededException is a 400 whose message alone does not say
// it, so without the header it would pass for the client's mistake.
func TestBedrockClassifyFromHeader(t *testing.T) {
	v := newAWSTestVendor(t, Config{Kind: "aws", APIKey: "k", Region: "us-east-1"})
	header := func(typ string) http.Header {
		return http.Header{"X-Amzn-Errortype": {typ + ":http://internal.amazon.com/coral/com.amazon.bedrock/"}}
	}
	body := []byte(`{"message":"The request would exceed your account's service quota."}`)
	assert.Equal(t, Verdict{false, ReasonBadRequest}, v.Classify(http.StatusBadRequest, body), "the body alone")
	assert.Equal(t, Verdict{true, ReasonQuota},
		v.ClassifyResponse(http.StatusBadRequest, header("ServiceQuotaExceededException"), body))
	assert.Equal(t, Verdict{true, ReasonOverloaded},
		v.ClassifyResponse(http.StatusServiceUnavailable, header("ServiceUnavailableException"), nil), "no body at all")
	assert.Equal(t, Verdict{true, ReasonQuota}, v.ClassifyResponse(http.StatusTooManyRequests,
		header("ThrottlingException"), []byte(`{"message":"Too many tokens per day, please wait before trying again."}`)))
	assert.Equal(t, Verdict{false, ReasonBadRequest}, v.ClassifyResponse(http.StatusBadRequest,
		header("ThrottlingException"), []byte(`{"__type":"ValidationException","message":"bad"}`)), "the body's type comes first")
	assert.Equal(t, Verdict{false, ReasonBadRequest}, v.ClassifyResponse(http.StatusBadRequest, http.Header{}, body),
		"no header: as before")
}
