package llmrouter_test

import (
	"encoding/base64"
	"encoding/binary"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// startTitan is a fake Bedrock runtime that answers InvokeModel of a Titan
// embedding model as Bedrock does (or with status, when not 200), checking
// that the request is SigV4-signed with the given access key.
func startTitan(t *testing.T, accessKey string, status *atomic.Int32) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		switch {
		case !strings.HasSuffix(r.URL.EscapedPath(), "/model/amazon.titan-embed-text-v2%3A0/invoke"):
			w.WriteHeader(http.StatusNotFound)
			return
		case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="+accessKey+"/"):
			w.Header().Set("X-Amzn-Errortype", "UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.coral.service/")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"message":"The security token included in the request is invalid."}`)
			return
		case status != nil && status.Load() != 0:
			w.Header().Set("X-Amzn-Errortype", "ServiceUnavailableException:http://internal.amazon.com/coral/com.amazon.bedrock/")
			w.WriteHeader(int(status.Load()))
			_, _ = io.WriteString(w, `{"message":"Service unavailable"}`)
			return
		}
		text := gjson.GetBytes(body, "inputText").String()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", "4")
		_, _ = io.WriteString(w, `{"embedding":[0.25,-0.5,`+map[bool]string{true: "1", false: "0"}[text != ""]+`],"inputTextTokenCount":4}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// Embeddings on Bedrock's Titan through the router: OpenAI's request and
// answer, base64 as the SDKs ask by default, the vendor's token count
// metered, and failover to an OpenAI vendor when Bedrock is down.
func TestEmbeddingsOnBedrock(t *testing.T) {
	const accessKey = "AKIDEXAMPLE"
	var status atomic.Int32
	titan, titanCalls := startTitan(t, accessKey, &status)
	openai := fakevendor.Start(t, fakevendor.Options{Name: "openai"})
	startRouter(t, routerBlock([]string{"ledger memory"},
		vendorBlock("bedrock", "aws", titan.URL, "", "region us-east-1", "access_key_id "+accessKey,
			"secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "probe off",
			"model emb as amazon.titan-embed-text-v2:0 input 0.02"),
		vendorBlock("openai", "openai", openai.URL()+"/v1", "sk-o", "probe off", "model emb as text-embedding-3-small input 0.5")))

	resp, body := post(t, "/v1/embeddings", `{"model":"emb","input":"hello","encoding_format":"base64","routing":"price"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "bedrock", resp.Header.Get("X-Llm-Vendor"))
	assert.Equal(t, "list", gjson.Get(body, "object").String())
	assert.Equal(t, int64(4), gjson.Get(body, "usage.prompt_tokens").Int())
	raw, err := base64.StdEncoding.DecodeString(gjson.Get(body, "data.0.embedding").String())
	require.NoError(t, err)
	require.Len(t, raw, 12)
	assert.Equal(t, float32(-0.5), math.Float32frombits(binary.LittleEndian.Uint32(raw[4:])))

	resp, body = post(t, "/v1/embeddings", `{"model":"emb","input":"hello","routing":"price"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "[0.25,-0.5,1]", gjson.Get(body, "data.0.embedding").Raw, "floats by default")

	// Titan takes one input per call: several go to a vendor that takes them.
	resp, body = post(t, "/v1/embeddings", `{"model":"emb","input":["a","b"],"routing":"price"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "openai", resp.Header.Get("X-Llm-Vendor"))
	assert.Equal(t, int32(2), titanCalls.Load(), "never sent to Titan")

	// Bedrock down: the request fails over.
	status.Store(http.StatusServiceUnavailable)
	resp, body = post(t, "/v1/embeddings", `{"model":"emb","input":"hello","routing":"price"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "openai", resp.Header.Get("X-Llm-Vendor"))
	assert.Equal(t, "2", resp.Header.Get("X-Llm-Attempts"))
}
