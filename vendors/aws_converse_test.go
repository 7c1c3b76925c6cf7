package vendors

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// TestBedrockConverseBodyGolden translates testdata/aws/request_*.openai.json
// through a real Prepare (the path with its escaped model id included) and
// compares the body with request_*.converse.json.
func TestBedrockConverseBodyGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "aws", "request_*.openai.json"))
	require.NoError(t, err)
	require.NotEmpty(t, inputs)
	v := newAWSTestVendor(t, Config{Kind: "aws", APIKey: "k", Region: "eu-west-3", DefaultMaxTokens: 1024})
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".openai.json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			require.NoError(t, err)
			stream := gjson.GetBytes(body, "stream").Bool()
			out := awsClientRequest(t, string(body))
			require.NoError(t, v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: "eu.anthropic.claude-sonnet-4-20250514-v1:0",
				Body: body, Stream: stream}))
			op := "converse"
			if stream {
				op = "converse-stream"
			}
			assert.Equal(t, "https://bedrock-runtime.eu-west-3.amazonaws.com/model/eu.anthropic.claude-sonnet-4-20250514-v1%3A0/"+op,
				out.URL.String())
			got := awsReadBody(t, out)
			assert.NotContains(t, string(got), `\u003c`, "no HTML escaping")
			awsAssertGolden(t, name+".converse.json", string(got))
		})
	}
}

func TestBedrockConverseBodyDefaults(t *testing.T) {
	r, err := parseChatRequest([]byte(`{"messages":[{"role":"user","content":"x"}]}`))
	require.NoError(t, err)
	got, err := bedrockConverseBody(r, "", 777)
	require.NoError(t, err)
	assert.Equal(t, `{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":777}}`, string(got))

	// Temperatures within range pass unchanged, zero included.
	r, err = parseChatRequest([]byte(`{"messages":[],"temperature":0,"top_p":1}`))
	require.NoError(t, err)
	got, err = bedrockConverseBody(r, "", 1)
	require.NoError(t, err)
	assert.Equal(t, `{"messages":[],"inferenceConfig":{"maxTokens":1,"temperature":0,"topP":1}}`, string(got))
}

func TestBedrockToolUseID(t *testing.T) {
	for in, want := range map[string]string{
		"call_abc123":                    "call_abc123",
		"toolu_01A09q90qw90lq917835lq9":  "toolu_01A09q90qw90lq917835lq9",
		"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
		"functions.get_time:1":           "functions_get_time_1",
		strings.Repeat("a", 70):          strings.Repeat("a", 64),
		"":                               "",
	} {
		assert.Equal(t, want, bedrockToolUseID(in), in)
	}
}

func TestBedrockEscapeModelID(t *testing.T) {
	for in, want := range map[string]string{
		"amazon.nova-pro-v1":                        "amazon.nova-pro-v1",
		"anthropic.claude-sonnet-4-20250514-v1:0":   "anthropic.claude-sonnet-4-20250514-v1%3A0",
		"us.meta.llama3-3-70b-instruct-v1:0":        "us.meta.llama3-3-70b-instruct-v1%3A0",
		"arn:aws:bedrock:us-east-1:1:foo/bar~x y%z": "arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Afoo%2Fbar~x%20y%25z",
	} {
		assert.Equal(t, want, bedrockEscapeModelID(in), in)
	}
}

// TestBedrockCompletionGolden translates testdata/aws/response_*.converse.json
// into OpenAI chat.completion objects (id and created normalised).
func TestBedrockCompletionGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "aws", "response_*.converse.json"))
	require.NoError(t, err)
	require.NotEmpty(t, inputs)
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".converse.json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			require.NoError(t, err)
			got, err := bedrockCompletion("us.anthropic.claude-sonnet-4-20250514-v1:0", body)
			require.NoError(t, err)
			require.True(t, gjson.ValidBytes(got), string(got))
			assert.True(t, strings.HasPrefix(gjson.GetBytes(got, "id").String(), "chatcmpl-"))
			got, _ = sjson.SetBytes(got, "id", "chatcmpl-test")
			got, _ = sjson.SetBytes(got, "created", 1700000000)
			awsAssertGolden(t, name+".openai.json", string(got))
		})
	}
}

func TestBedrockCompletionMalformed(t *testing.T) {
	for _, body := range []string{``, `{"output":`, `{"message":"x"}`, `[]`, `{"output":{"message":"text"}}`} {
		_, err := bedrockCompletion("m", []byte(body))
		require.ErrorIs(t, err, errNativeStream, body)
	}
}

// TestAWSPrepareConcurrent: one vendor, many goroutines, signed requests:
// no shared state is written (run with -race).
func TestAWSPrepareConcurrent(t *testing.T) {
	v := newAWSTestVendor(t, Config{Kind: "aws", Region: "us-east-1", AccessKeyID: "A", SecretAccessKey: "S", SessionToken: "T"})
	body := []byte(`{"messages":[{"role":"user","content":"hi"}]}`)
	var want string
	done := make(chan string, 16)
	for range 16 {
		go func() {
			out := awsClientRequest(t, string(body))
			if err := v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: "m:0", Body: body, Stream: true}); err != nil {
				done <- "error: " + err.Error()
				return
			}
			done <- out.Header.Get("Authorization")
		}()
	}
	for range 16 {
		got := <-done
		if want == "" {
			want = got
		}
		assert.Equal(t, want, got)
	}
	assert.True(t, strings.HasPrefix(want, "AWS4-HMAC-SHA256 "), want)
}
