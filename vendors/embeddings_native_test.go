package vendors

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestParseEmbeddingsRequest(t *testing.T) {
	r, err := parseEmbeddingsRequest([]byte(`{"model":"m","input":"hi","dimensions":256,"encoding_format":"base64"}`))
	require.NoError(t, err)
	assert.Equal(t, embeddingsRequest{inputs: []string{"hi"}, dimensions: 256, base64: true}, r)
	r, err = parseEmbeddingsRequest([]byte(`{"input":["a","b"],"input_type":"search_query"}`))
	require.NoError(t, err)
	assert.Equal(t, embeddingsRequest{inputs: []string{"a", "b"}, inputType: "search_query"}, r)
	for body, want := range map[string]string{
		`{"input":[1,2,3]}`:              "token arrays are not supported",
		`{"input":[]}`:                   "input must not be empty",
		`{}`:                             "input must be a string or an array of strings",
		`{"input":"x","dimensions":0}`:   "dimensions must be a whole number",
		`{"input":"x","dimensions":1.5}`: "dimensions must be a whole number",
		`{"input":"x","encoding_format":"binary"}`:    `encoding_format "binary" is not one of float, base64`,
		`{"input":"x","dimensions":"256"}`:            "dimensions must be a whole number",
		`{"input":[["nested"]]}`:                      "token arrays are not supported",
		`{"input":{"text":"an object is not input"}}`: "input must be a string",
	} {
		_, err := parseEmbeddingsRequest([]byte(body))
		require.Error(t, err, body)
		assert.Contains(t, err.Error(), want, body)
	}
}

func TestEmbeddingsBodies(t *testing.T) {
	one := embeddingsRequest{inputs: []string{"hello"}, dimensions: 512}
	two := embeddingsRequest{inputs: []string{"a", "b"}}
	body, err := embeddingsBody(familyTitan, one)
	require.NoError(t, err)
	assert.JSONEq(t, `{"inputText":"hello","dimensions":512}`, string(body))
	_, err = embeddingsBody(familyTitan, two)
	assert.ErrorContains(t, err, "one input per request")
	body, err = embeddingsBody(familyCohere, two)
	require.NoError(t, err)
	assert.JSONEq(t, `{"texts":["a","b"],"input_type":"search_document"}`, string(body))
	body, err = embeddingsBody(familyCohere, embeddingsRequest{inputs: []string{"q"}, inputType: "search_query", dimensions: 256})
	require.NoError(t, err)
	assert.JSONEq(t, `{"texts":["q"],"input_type":"search_query","output_dimension":256}`, string(body))
	body, err = embeddingsBody(familyVertex, embeddingsRequest{inputs: []string{"a", "b"}, dimensions: 64})
	require.NoError(t, err)
	assert.JSONEq(t, `{"instances":[{"content":"a"},{"content":"b"}],"parameters":{"outputDimensionality":64}}`, string(body))
}

// Titan on Bedrock: InvokeModel, signed; the vector and the token count
// come back in OpenAI's shape, as floats or base64.
func TestBedrockTitanEmbeddings(t *testing.T) {
	v := newAWSTestVendor(t, Config{Kind: "aws", Region: "us-east-1", AccessKeyID: "AKIDEXAMPLE",
		SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"})
	a := Attempt{Endpoint: Embeddings, Model: "amazon.titan-embed-text-v2:0",
		Body: []byte(`{"model":"emb","input":"hello","encoding_format":"base64"}`), PromptTokens: 2}
	tr, err := v.Translator(a)
	require.NoError(t, err)
	defer tr.Release()
	out := httptest.NewRequest(http.MethodPost, "http://router.example/v1/embeddings", nil)
	require.NoError(t, tr.Request(out))
	assert.Equal(t, "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke", out.URL.String())
	assert.True(t, strings.HasPrefix(out.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"))
	assert.JSONEq(t, `{"inputText":"hello"}`, string(awsReadBody(t, out)))

	resp := &http.Response{Header: http.Header{"Content-Length": {"99"}}}
	tr.ResponseHeaders(resp)
	got, res, err := tr.Answer([]byte(`{"embedding":[0.5,-0.25,1],"inputTextTokenCount":3}`))
	require.NoError(t, err)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, 3, res.Usage.PromptTokens)
	assert.False(t, res.Usage.Estimated)
	j := gjson.ParseBytes(got)
	assert.Equal(t, "list", j.Get("object").String())
	assert.Equal(t, "amazon.titan-embed-text-v2:0", j.Get("model").String())
	assert.Equal(t, int64(3), j.Get("usage.total_tokens").Int())
	raw, err := base64.StdEncoding.DecodeString(j.Get("data.0.embedding").String())
	require.NoError(t, err)
	require.Len(t, raw, 12)
	for i, want := range []float32{0.5, -0.25, 1} {
		assert.Equal(t, want, math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
	}

	// Not an embedding model of a family Bedrock's router knows: another
	// vendor may take it.
	tr2, err := v.Translator(Attempt{Endpoint: Embeddings, Model: "anthropic.claude-3-haiku", Body: a.Body})
	require.NoError(t, err)
	defer tr2.Release()
	assert.ErrorContains(t, tr2.Request(httptest.NewRequest(http.MethodPost, "http://x/", nil)), "not a Titan or Cohere embedding model")
}

// Cohere on Bedrock: several inputs in one call; the token count is the
// response header's, both shapes of "embeddings" are read.
func TestBedrockCohereEmbeddings(t *testing.T) {
	v := newAWSTestVendor(t, Config{Kind: "aws", APIKey: "bedrock-api-key", Region: "us-east-1"})
	for _, answer := range []string{
		`{"id":"x","response_type":"embeddings_floats","embeddings":[[1,2],[3,4]],"texts":["a","b"]}`,
		`{"id":"x","response_type":"embeddings_by_type","embeddings":{"float":[[1,2],[3,4]]},"texts":["a","b"]}`,
	} {
		tr, err := v.Translator(Attempt{Endpoint: Embeddings, Model: "cohere.embed-multilingual-v3", Body: []byte(`{"input":["a","b"]}`)})
		require.NoError(t, err)
		out := httptest.NewRequest(http.MethodPost, "http://router.example/v1/embeddings", nil)
		require.NoError(t, tr.Request(out))
		assert.Equal(t, "Bearer bedrock-api-key", out.Header.Get("Authorization"))
		tr.ResponseHeaders(&http.Response{Header: http.Header{"X-Amzn-Bedrock-Input-Token-Count": {"7"}}})
		got, res, err := tr.Answer([]byte(answer))
		require.NoError(t, err)
		assert.Equal(t, 7, res.Usage.PromptTokens)
		assert.JSONEq(t, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1,2]},{"object":"embedding","index":1,"embedding":[3,4]}],
			"model":"cohere.embed-multilingual-v3","usage":{"prompt_tokens":7,"total_tokens":7}}`, string(got))
		_, _, err = tr.Answer([]byte(`{"embeddings":[[1,2]]}`))
		assert.ErrorContains(t, err, "returned 1 embeddings for 2 inputs")
		tr.Release()
	}
}

// Vertex AI's text embeddings: predict, one instance per input, the token
// counts summed.
func TestVertexEmbeddings(t *testing.T) {
	ts := startVertexTokenServer(t, nil)
	v := newVertexTestVendor(t, ts, Config{})
	tr, err := v.Translator(Attempt{Endpoint: Embeddings, Model: "text-embedding-005", Body: []byte(`{"input":["a","b"],"dimensions":8}`)})
	require.NoError(t, err)
	defer tr.Release()
	out := httptest.NewRequest(http.MethodPost, "http://router.example/v1/embeddings", nil)
	require.NoError(t, tr.Request(out))
	assert.Equal(t, "https://us-central1-aiplatform.googleapis.com/v1/projects/proj/locations/us-central1/publishers/google/models/text-embedding-005:predict",
		out.URL.String())
	assert.True(t, strings.HasPrefix(out.Header.Get("Authorization"), "Bearer "))
	assert.JSONEq(t, `{"instances":[{"content":"a"},{"content":"b"}],"parameters":{"outputDimensionality":8}}`, string(awsReadBody(t, out)))
	got, res, err := tr.Answer([]byte(`{"predictions":[
		{"embeddings":{"values":[0.1,0.2],"statistics":{"token_count":2,"truncated":false}}},
		{"embeddings":{"values":[0.3,0.4],"statistics":{"token_count":3,"truncated":false}}}]}`))
	require.NoError(t, err)
	assert.Equal(t, 5, res.Usage.PromptTokens)
	assert.Equal(t, "[0.3,0.4]", gjson.GetBytes(got, "data.1.embedding").Raw)
}
