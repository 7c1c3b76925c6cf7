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
	"github.com/tidwall/gjson"
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
			assert.False(t, v.Supports(Embeddings))
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

// TestAWSPrepareBearer: a Bedrock API key request, with everything Prepare
// must replace or drop.
func TestAWSPrepareBearer(t *testing.T) {
	v := newAWSTestVendor(t, Config{ID: "bedrock", Kind: "aws", APIKey: "bedrock-api-key", Region: "us-east-1",
		Headers: http.Header{"X-Operator": {"op"}}})
	const body = `{"model":"client-model","messages":[{"role":"user","content":"Hi"}],"stream":true}`
	in := []byte(body)
	out := awsClientRequest(t, body)
	require.NoError(t, v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: "us.anthropic.claude-sonnet-4-20250514-v1:0", Body: in, Stream: true}))

	assert.Equal(t, "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse-stream", out.URL.String())
	assert.Equal(t, "/model/us.anthropic.claude-sonnet-4-20250514-v1:0/converse-stream", out.URL.Path)
	assert.Equal(t, "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse-stream", out.URL.RawPath)
	assert.Empty(t, out.URL.RawQuery)
	assert.Empty(t, out.Host)
	assert.Equal(t, http.MethodPost, out.Method)
	assert.Equal(t, []string{"Bearer bedrock-api-key"}, out.Header.Values("Authorization"))
	assert.Equal(t, "application/json", out.Header.Get("Content-Type"))
	assert.Empty(t, out.Header.Values("Accept"))
	assert.Empty(t, out.Header.Values("X-Amz-Security-Token"))
	assert.Empty(t, out.Header.Values("X-Amz-Date"))
	assert.Empty(t, out.Header.Values("Content-Length"))
	assert.Equal(t, "kept", out.Header.Get("X-Client-Header"))
	assert.Equal(t, "op", out.Header.Get("X-Operator"))
	assert.Nil(t, out.TransferEncoding)
	assert.JSONEq(t, `{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":4096}}`,
		string(awsReadBody(t, out)))
	assert.Equal(t, body, string(in), "the client's body is never modified")
}

func TestAWSPreparePaths(t *testing.T) {
	cases := []struct {
		name, base, model, wantURL, wantPath string
		stream                               bool
	}{
		{"on-demand model id", "", "anthropic.claude-sonnet-4-20250514-v1:0",
			"https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-sonnet-4-20250514-v1%3A0/converse",
			"/model/anthropic.claude-sonnet-4-20250514-v1:0/converse", false},
		{"global inference profile, stream", "", "global.anthropic.claude-sonnet-4-20250514-v1:0",
			"https://bedrock-runtime.us-east-1.amazonaws.com/model/global.anthropic.claude-sonnet-4-20250514-v1%3A0/converse-stream",
			"/model/global.anthropic.claude-sonnet-4-20250514-v1:0/converse-stream", true},
		{"no colon needs no raw path", "", "amazon.nova-pro-v1",
			"https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.nova-pro-v1/converse",
			"/model/amazon.nova-pro-v1/converse", false},
		{"inference profile ARN", "", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-3-70b-instruct-v1:0",
			"https://bedrock-runtime.us-east-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.meta.llama3-3-70b-instruct-v1%3A0/converse",
			"/model/arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-3-70b-instruct-v1:0/converse", false},
		{"base_url with a path prefix", "https://gw.example.com/aws/bedrock/", "deepseek.r1-v1:0",
			"https://gw.example.com/aws/bedrock/model/deepseek.r1-v1%3A0/converse",
			"/aws/bedrock/model/deepseek.r1-v1:0/converse", false},
		{"default port dropped", "https://bedrock-runtime.us-east-1.amazonaws.com:443", "m",
			"https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", "/model/m/converse", false},
		{"other port kept", "http://127.0.0.1:8080", "m:1",
			"http://127.0.0.1:8080/model/m%3A1/converse", "/model/m:1/converse", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newAWSTestVendor(t, Config{Kind: "aws", APIKey: "k", Region: "us-east-1", BaseURL: c.base})
			out := awsClientRequest(t, `{"messages":[]}`)
			require.NoError(t, v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: c.model, Body: []byte(`{"messages":[]}`), Stream: c.stream}))
			assert.Equal(t, c.wantURL, out.URL.String())
			assert.Equal(t, c.wantPath, out.URL.Path)
		})
	}
}

// TestAWSPrepareSigV4: the signed request keeps the client's passed-through
// headers unsigned, drops the client's X-Amz-* and signs the operator's.
func TestAWSPrepareSigV4(t *testing.T) {
	v := newAWSTestVendor(t, Config{Kind: "aws", Region: "us-east-1", AccessKeyID: "AKIDEXAMPLE",
		SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		Headers:         http.Header{"X-Amz-Client-Context": {"operator"}}})
	out := awsClientRequest(t, `{"messages":[{"role":"user","content":"Hi"}]}`)
	require.NoError(t, v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: "m", Body: []byte(`{"messages":[{"role":"user","content":"Hi"}]}`)}))
	auth := out.Header.Get("Authorization")
	assert.True(t, strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, "+
		"SignedHeaders=content-type;host;x-amz-client-context;x-amz-date, Signature="), auth)
	assert.Equal(t, "20150830T123600Z", out.Header.Get("X-Amz-Date"))
	assert.Empty(t, out.Header.Values("X-Amz-Security-Token"), "the client's token is gone and the credentials have none")
	assert.Equal(t, "operator", out.Header.Get("X-Amz-Client-Context"))
	assert.Equal(t, "kept", out.Header.Get("X-Client-Header"))
	assert.NotContains(t, auth, "client-key")
}

// TestAWSPrepareErrors: requests Converse cannot express fail in Prepare,
// with the request left as it was.
func TestAWSPrepareErrors(t *testing.T) {
	v := newAWSTestVendor(t, Config{ID: "bedrock", Kind: "aws", APIKey: "k", Region: "us-east-1"})
	for name, c := range map[string]struct{ body, want string }{
		"n > 1":           {`{"n":2,"messages":[{"role":"user","content":"x"}]}`, "n > 1"},
		"image URL":       {`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`, "cannot fetch"},
		"image type":      {`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,AAAA"}}]}]}`, `"image/bmp"`},
		"bad arguments":   {`{"messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{x"}}]}]}`, "tool_calls[0].function.arguments"},
		"unknown role":    {`{"messages":[{"role":"function","content":"x"}]}`, `role "function"`},
		"not JSON":        {`{"messages":`, "schema"},
		"audio part":      {`{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}`, "input_audio"},
		"bad data URL":    {`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,raw"}}]}]}`, "base64 data URL"},
		"bad tool_choice": {`{"tool_choice":"sometimes","messages":[]}`, "tool_choice"},
	} {
		t.Run(name, func(t *testing.T) {
			out := awsClientRequest(t, c.body)
			before := out.Header.Clone()
			err := v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: "m", Body: []byte(c.body)})
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), `vendor "bedrock"`)
			assert.Equal(t, before, out.Header)
			assert.Equal(t, "router.example", out.URL.Host)
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

func TestAWSErrorMessages(t *testing.T) {
	v := newAWSTestVendor(t, Config{Kind: "aws", APIKey: testKey, Region: "us-east-1"})
	assert.JSONEq(t, `{"error":{"message":"Input is too long for requested model.","type":"invalid_request_error","param":null,"code":null}}`,
		string(v.TranslateError(400, []byte(`{"message":"Input is too long for requested model."}`))))
	assert.JSONEq(t, `{"error":{"message":"Rate exceeded","type":"rate_limit_error","param":null,"code":null}}`,
		string(v.TranslateError(400, []byte(`{"__type":"ThrottlingException","message":"Rate exceeded"}`))))
	assert.JSONEq(t, `{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`,
		string(v.TranslateError(500, []byte(`{"Message":"boom"}`))))
	assert.JSONEq(t, `{"error":{"message":"Bad Gateway","type":"server_error","param":null,"code":null}}`,
		string(v.TranslateError(502, []byte(`<html>bad gateway</html>`))))
	assert.JSONEq(t, `{"error":{"message":"key [redacted] rejected","type":"invalid_request_error","param":null,"code":null}}`,
		string(v.TranslateError(400, []byte(`{"message":"key `+testKey+` rejected"}`))))
	assert.Equal(t, "vendor rejected the router's credentials",
		v.ErrorMessage(400, []byte(`{"__type":"ExpiredTokenException","message":"expired"}`)))
	assert.Equal(t, "Input is too long for requested model.",
		v.ErrorMessage(400, []byte(`{"message":"Input is too long for requested model."}`)))
}

// TestAWSTranslateJSON: a Converse answer read through TranslateResponse.
func TestAWSTranslateJSON(t *testing.T) {
	v := newAWSTestVendor(t, Config{Kind: "aws", APIKey: "k", Region: "us-east-1"})
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}, "Content-Length": {"123"}},
		Body: io.NopCloser(strings.NewReader(`{"output":{"message":{"role":"assistant","content":[{"text":"Hi!"}]}},"stopReason":"end_turn","usage":{"inputTokens":3,"outputTokens":2,"totalTokens":5},"metrics":{"latencyMs":10}}`))}
	v.TranslateResponse(resp, Attempt{Endpoint: ChatCompletions, Model: "m"})
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Empty(t, resp.Header.Get("Content-Length"))
	assert.Equal(t, "Hi!", gjson.GetBytes(got, "choices.0.message.content").String())
	assert.Equal(t, "stop", gjson.GetBytes(got, "choices.0.finish_reason").String())
	assert.Equal(t, int64(5), gjson.GetBytes(got, "usage.total_tokens").Int())
	assert.Equal(t, "m", gjson.GetBytes(got, "model").String())

	resp.Body = io.NopCloser(strings.NewReader(`{"message":"not a converse answer"}`))
	v.TranslateResponse(resp, Attempt{Endpoint: ChatCompletions, Model: "m"})
	_, err = io.ReadAll(resp.Body)
	require.ErrorIs(t, err, errNativeStream)
}

// TestAWSTranslateStream: a ConverseStream body read through
// TranslateResponse in small reads.
func TestAWSTranslateStream(t *testing.T) {
	v := newAWSTestVendor(t, Config{Kind: "aws", APIKey: "k", Region: "us-east-1"})
	frames := bedrockTestFrames(t, bedrockTextEvents...)
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/vnd.amazon.eventstream"}},
		Body: io.NopCloser(&awsDribbleReader{data: frames, n: 7})}
	v.TranslateResponse(resp, Attempt{Endpoint: ChatCompletions, Model: "anthropic.claude-sonnet-4-20250514-v1:0", Stream: true})
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	awsAssertGolden(t, "stream_text.sse", awsNormalizeSSE(string(got)))
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
