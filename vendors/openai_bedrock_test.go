package vendors

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

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

func TestBedrockTranslator_Feed(t *testing.T) {
	v := newAWSTestVendor(t, Config{Kind: "aws", APIKey: testKey, Region: "us-east-1"})
	checkStream(t, streamCase{
		v: v, a: Attempt{Endpoint: ChatCompletions, Model: "anthropic.claude-sonnet-4-20250514-v1:0"},
		contentType: "application/vnd.amazon.eventstream", stream: bedrockTestFrames(t, bedrockTextEvents...),
		firstContent: "Hello", wantText: "Hello \"world\" ✓\n",
		// Bedrock's inputTokens leave out the prompt cache: 12 + 100 read + 20 written.
		wantUsage: billing.Usage{PromptTokens: 132, CachedTokens: 100, CompletionTokens: 5},
	})
}

func TestBedrockTranslator_Answer(t *testing.T) {
	v := newAWSTestVendor(t, Config{Kind: "aws", APIKey: testKey, Region: "us-east-1"})
	checkAnswer(t, answerCase{
		v: v, a: Attempt{Endpoint: ChatCompletions, Model: "anthropic.claude-sonnet-4-20250514-v1:0"},
		answer: []byte(`{"output":{"message":{"role":"assistant","content":[{"text":"Salut"}]}},"stopReason":"end_turn",` +
			`"usage":{"inputTokens":5,"outputTokens":2,"totalTokens":7}}`),
		wantText: "Salut", wantUsage: billing.Usage{PromptTokens: 5, CompletionTokens: 2},
	})
}

func TestBedrockTranslator_ErrorBody(t *testing.T) {
	v := newAWSTestVendor(t, Config{Kind: "aws", APIKey: testKey, Region: "us-east-1"})
	checkNativeErrorBody(t, v, 429, `{"__type":"ThrottlingException","message":"Rate exceeded"}`,
		"Rate exceeded", "rate_limit_error")
}
