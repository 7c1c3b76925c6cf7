package fakevendor

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/caddy-llm/llmrouter/vendors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

const bedrockModel = "anthropic.claude-sonnet-4-20250514-v1:0"

var bedrockTestCreds = BedrockCredentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", Region: "us-east-1"}

// bedrockPost sends body to the fake's operation path for model.
func bedrockPost(t *testing.T, v *BedrockVendor, model string, stream bool, body string, hdr http.Header) *http.Response {
	t.Helper()
	op := "converse"
	if stream {
		op = "converse-stream"
	}
	req, err := http.NewRequest(http.MethodPost, v.URL()+"/model/"+strings.ReplaceAll(model, ":", "%3A")+"/"+op, strings.NewReader(body))
	require.NoError(t, err)
	for k, vals := range hdr {
		req.Header[k] = vals
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// bedrockFrames decodes a whole event-stream body into (type, payload) pairs.
func bedrockFrames(t *testing.T, body io.Reader) [][2]string {
	t.Helper()
	dec := eventstream.NewDecoder()
	var out [][2]string
	for {
		msg, err := dec.Decode(body, nil)
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		typ := msg.Headers.Get(":event-type")
		if mt := msg.Headers.Get(":message-type"); mt != nil && mt.String() == "exception" {
			typ = msg.Headers.Get(":exception-type")
		}
		require.NotNil(t, typ)
		out = append(out, [2]string{typ.String(), string(msg.Payload)})
	}
}

const bedrockBody = `{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":10}}`

func TestBedrockConverse(t *testing.T) {
	v := StartBedrock(t, BedrockOptions{Reply: "Hello there.", InputTokens: 7, CacheReadTokens: 3})
	resp := bedrockPost(t, v, bedrockModel, false, bedrockBody, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.NotEmpty(t, resp.Header.Get("X-Amzn-Requestid"))
	b, _ := io.ReadAll(resp.Body)
	assert.JSONEq(t, `{"output":{"message":{"role":"assistant","content":[{"text":"Hello there."}]}},"stopReason":"end_turn",
		"usage":{"inputTokens":7,"outputTokens":2,"totalTokens":12,"cacheReadInputTokens":3},"metrics":{"latencyMs":42}}`, string(b))

	reqs := v.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, http.MethodPost, reqs[0].Method)
	assert.Equal(t, "/model/anthropic.claude-sonnet-4-20250514-v1%3A0/converse", reqs[0].RawPath)
	assert.Equal(t, "/model/"+bedrockModel+"/converse", reqs[0].Path)
	assert.Equal(t, bedrockModel, reqs[0].ModelID)
	assert.False(t, reqs[0].Stream)
	assert.Equal(t, bedrockBody, string(reqs[0].Body))
	assert.Equal(t, 1, v.Count())
	v.Reset()
	assert.Equal(t, 0, v.Count())
}

func TestBedrockConverseToolAndReasoning(t *testing.T) {
	v := StartBedrock(t, BedrockOptions{Reasoning: "Think first.", ToolCall: &BedrockToolCall{ID: "tooluse_1", Name: "get_weather", Input: `{"city":"Paris"}`}})
	b, _ := io.ReadAll(bedrockPost(t, v, "m", false, bedrockBody, nil).Body)
	assert.Equal(t, "tool_use", gjson.GetBytes(b, "stopReason").String())
	assert.Equal(t, "Think first.", gjson.GetBytes(b, "output.message.content.0.reasoningContent.reasoningText.text").String())
	assert.Equal(t, `{"city":"Paris"}`, gjson.GetBytes(b, "output.message.content.1.toolUse.input").Raw)
	assert.Equal(t, int64(4), gjson.GetBytes(b, "usage.outputTokens").Int(), "2 reasoning chunks + 2 tool fragments")
}

func TestBedrockConverseStream(t *testing.T) {
	v := StartBedrock(t, BedrockOptions{Reply: "Hi you", ToolCall: &BedrockToolCall{ID: "tooluse_9", Name: "f", Input: `{"a":1}`},
		InputTokens: 11, OutputTokens: 5})
	resp := bedrockPost(t, v, bedrockModel, true, bedrockBody, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/vnd.amazon.eventstream", resp.Header.Get("Content-Type"))
	frames := bedrockFrames(t, resp.Body)
	var types []string
	for _, f := range frames {
		types = append(types, f[0])
		assert.True(t, json.Valid([]byte(f[1])), f[1])
	}
	assert.Equal(t, []string{"messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop",
		"contentBlockStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}, types)
	assert.Equal(t, "Hi", gjson.Get(frames[1][1], "delta.text").String())
	assert.Equal(t, " you", gjson.Get(frames[2][1], "delta.text").String())
	assert.Equal(t, int64(1), gjson.Get(frames[4][1], "contentBlockIndex").Int())
	assert.Equal(t, "tooluse_9", gjson.Get(frames[4][1], "start.toolUse.toolUseId").String())
	assert.Equal(t, `{"a":1}`, gjson.Get(frames[5][1], "delta.toolUse.input").String()+gjson.Get(frames[6][1], "delta.toolUse.input").String())
	assert.Equal(t, "tool_use", gjson.Get(frames[8][1], "stopReason").String())
	assert.JSONEq(t, `{"inputTokens":11,"outputTokens":5,"totalTokens":16}`, gjson.Get(frames[9][1], "usage").Raw)
	assert.True(t, v.Requests()[0].Stream)
}

func TestBedrockStreamExceptionAndOmitMetadata(t *testing.T) {
	v := StartBedrock(t, BedrockOptions{Reply: "one two three", StreamException: "throttlingException", ExceptionAfter: 1})
	frames := bedrockFrames(t, bedrockPost(t, v, "m", true, bedrockBody, nil).Body)
	require.Len(t, frames, 3)
	assert.Equal(t, "throttlingException", frames[2][0])
	assert.Equal(t, "fake throttlingException", gjson.Get(frames[2][1], "message").String())

	v.SetOptions(BedrockOptions{OmitMetadata: true})
	frames = bedrockFrames(t, bedrockPost(t, v, "m", true, bedrockBody, nil).Body)
	assert.Equal(t, "messageStop", frames[len(frames)-1][0])
}

func TestBedrockStreamPacing(t *testing.T) {
	v := StartBedrock(t, BedrockOptions{Reply: "a b c d", PerToken: 20 * time.Millisecond})
	start := time.Now()
	frames := bedrockFrames(t, bedrockPost(t, v, "m", true, bedrockBody, nil).Body)
	assert.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond)
	assert.Len(t, frames, 8)
}

func TestBedrockErrors(t *testing.T) {
	v := StartBedrock(t, BedrockOptions{Status: 429, ErrorMessage: "Too many requests, please wait before trying again."})
	resp := bedrockPost(t, v, "m", false, bedrockBody, nil)
	assert.Equal(t, 429, resp.StatusCode)
	assert.Equal(t, "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/", resp.Header.Get("X-Amzn-Errortype"))
	b, _ := io.ReadAll(resp.Body)
	assert.JSONEq(t, `{"message":"Too many requests, please wait before trying again."}`, string(b))

	v.SetOptions(BedrockOptions{Status: 400, ErrorType: "ServiceQuotaExceededException"})
	resp = bedrockPost(t, v, "m", true, bedrockBody, nil)
	assert.Equal(t, 400, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("X-Amzn-Errortype"), "ServiceQuotaExceededException:"))

	v.SetOptions(BedrockOptions{})
	resp = bedrockPost(t, v, "m", false, `{"nope":true}`, nil)
	assert.Equal(t, 400, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("X-Amzn-Errortype"), "ValidationException:"))

	req, _ := http.NewRequest(http.MethodPost, v.URL()+"/model/m/retrieve-and-generate", strings.NewReader(bedrockBody))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 404, resp.StatusCode)
}

func TestBedrockRequireBearer(t *testing.T) {
	v := StartBedrock(t, BedrockOptions{RequireBearer: "bedrock-key"})
	assert.Equal(t, 403, bedrockPost(t, v, "m", false, bedrockBody, nil).StatusCode)
	assert.Equal(t, 403, bedrockPost(t, v, "m", false, bedrockBody, http.Header{"Authorization": {"Bearer wrong"}}).StatusCode)
	resp := bedrockPost(t, v, "m", false, bedrockBody, http.Header{"Authorization": {"Bearer bedrock-key"}})
	assert.Equal(t, 200, resp.StatusCode)
}

// TestBedrockVerifySigV4Vector checks the fake's independent SigV4 code
// against AWS's published post-vanilla test vector, then the verifier's
// scope checks.
func TestBedrockVerifySigV4Vector(t *testing.T) {
	r, _ := http.NewRequest(http.MethodPost, "https://example.amazonaws.com/", nil)
	r.RequestURI = "/"
	r.Host = "example.amazonaws.com"
	r.Header.Set("X-Amz-Date", "20150830T123600Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "+
		"SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
	a, err := bedrockParseAuth(r)
	require.NoError(t, err)
	sig, err := bedrockSigV4Signature(r, nil, bedrockTestCreds.SecretAccessKey, a)
	require.NoError(t, err)
	assert.Equal(t, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b", sig)

	require.ErrorContains(t, BedrockVerifySigV4(r, nil, bedrockTestCreds), "us-east-1/service")
	r.Header.Set("X-Amz-Date", "20150831T123600Z")
	require.ErrorContains(t, BedrockVerifySigV4(r, nil, bedrockTestCreds), "X-Amz-Date")
	r.Header.Set("Authorization", "Bearer x")
	require.Error(t, BedrockVerifySigV4(r, nil, bedrockTestCreds))
}

// TestBedrockEndToEnd drives the real aws vendor kind against the fake over
// HTTP: SigV4 verified independently by the fake (path with ":" escaped,
// body hash, signed headers), and a Bearer API key; both streaming and not,
// translated back to OpenAI.
func TestBedrockEndToEnd(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  vendors.Config
		opts BedrockOptions
	}{
		{"sigv4", vendors.Config{ID: "aws", Kind: "aws", Region: "us-east-1", AccessKeyID: bedrockTestCreds.AccessKeyID,
			SecretAccessKey: bedrockTestCreds.SecretAccessKey, SessionToken: "session"}, BedrockOptions{RequireSigV4: &bedrockTestCreds}},
		{"bearer", vendors.Config{ID: "aws", Kind: "aws", APIKey: "bedrock-key"}, BedrockOptions{RequireBearer: "bedrock-key"}},
	} {
		for _, stream := range []bool{false, true} {
			t.Run(c.name+map[bool]string{false: "", true: " stream"}[stream], func(t *testing.T) {
				o := c.opts
				o.Reply = "Hello from the fake."
				o.InputTokens, o.OutputTokens = 9, 4
				fake := StartBedrock(t, o)
				cfg := c.cfg
				cfg.BaseURL = fake.URL()
				v, err := vendors.New(cfg)
				require.NoError(t, err)

				body := `{"model":"x","messages":[{"role":"user","content":"Hi"}],"stream":` + map[bool]string{false: "false", true: "true"}[stream] + `}`
				in, err := http.NewRequest(http.MethodPost, "http://router.example/v1/chat/completions", strings.NewReader(body))
				require.NoError(t, err)
				in.Header.Set("X-Client-Header", "passes unsigned")
				out := in.Clone(context.Background())
				a := vendors.Attempt{Endpoint: vendors.ChatCompletions, Model: bedrockModel, Body: []byte(body), Stream: stream}
				require.NoError(t, prepare(v, out, a))
				out.Header.Set("Via", "1.1 egress-proxy") // a hop adding a header must not break the signature
				resp, err := http.DefaultClient.Do(out)
				require.NoError(t, err)
				defer resp.Body.Close()
				if resp.StatusCode != 200 {
					b, _ := io.ReadAll(resp.Body)
					t.Fatalf("status %d: %s", resp.StatusCode, b)
				}
				got, err := translate(v, resp, a)
				require.NoError(t, err)
				if stream {
					assert.Contains(t, string(got), `"delta":{"content":" the"}`)
					assert.Contains(t, string(got), `"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}`)
					assert.True(t, bytes.HasSuffix(got, []byte("data: [DONE]\n\n")), string(got))
				} else {
					assert.Equal(t, "Hello from the fake.", gjson.GetBytes(got, "choices.0.message.content").String())
					assert.Equal(t, int64(13), gjson.GetBytes(got, "usage.total_tokens").Int())
				}
				rec := fake.Requests()[0]
				assert.Equal(t, bedrockModel, rec.ModelID)
				assert.Equal(t, "/model/anthropic.claude-sonnet-4-20250514-v1%3A0/"+map[bool]string{false: "converse", true: "converse-stream"}[stream], rec.RawPath)
				assert.Equal(t, "passes unsigned", rec.Header.Get("X-Client-Header"))
			})
		}
	}
}

// TestBedrockSigV4Rejections: a signature checked by the fake fails when
// anything it covers changes after signing.
func TestBedrockSigV4Rejections(t *testing.T) {
	fake := StartBedrock(t, BedrockOptions{RequireSigV4: &bedrockTestCreds})
	v, err := vendors.New(vendors.Config{Kind: "aws", BaseURL: fake.URL(), Region: "us-east-1",
		AccessKeyID: bedrockTestCreds.AccessKeyID, SecretAccessKey: bedrockTestCreds.SecretAccessKey})
	require.NoError(t, err)
	body := []byte(`{"messages":[{"role":"user","content":"Hi"}]}`)
	prepare := func() *http.Request {
		in, _ := http.NewRequest(http.MethodPost, "http://router.example/v1/chat/completions", bytes.NewReader(body))
		out := in.Clone(context.Background())
		require.NoError(t, prepare(v, out, vendors.Attempt{Endpoint: vendors.ChatCompletions, Model: bedrockModel, Body: body}))
		return out
	}
	do := func(r *http.Request) int {
		resp, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, 200, do(prepare()))

	r := prepare()
	other := []byte(`{"messages":[{"role":"user","content":"Hi!"}]}`)
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(other)), int64(len(other))
	assert.Equal(t, 403, do(r), "body rewritten after signing")

	r = prepare()
	r.Header.Set("Content-Type", "text/plain")
	assert.Equal(t, 403, do(r), "signed header changed")

	r = prepare()
	r.URL.Path, r.URL.RawPath = "/model/other/converse", ""
	assert.Equal(t, 403, do(r), "path changed")

	r = prepare()
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AKIDEXAMPLE", "AKIDOTHER", 1))
	assert.Equal(t, 403, do(r), "unknown key")
}
