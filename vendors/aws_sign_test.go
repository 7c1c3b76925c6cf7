package vendors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/logging"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The credentials and time of AWS's SigV4 test suite
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/signature-v4-test-suite.html).
var (
	awsSuiteCreds = aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	awsSuiteTime  = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
)

// TestBedrockSignAWSTestSuite reproduces the suite's get-vanilla and
// post-vanilla signatures exactly, with headers on the request that
// bedrockSign must leave out of the signature (a proxy hop may change them).
func TestBedrockSignAWSTestSuite(t *testing.T) {
	const prefix = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature="
	for _, c := range []struct{ method, sig string }{
		{http.MethodGet, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{http.MethodPost, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
	} {
		t.Run(c.method, func(t *testing.T) {
			req := httptest.NewRequest(c.method, "https://example.amazonaws.com/", nil)
			req.Host = ""
			req.Header.Set("User-Agent", "Go-http-client/1.1")
			req.Header.Set("X-Client-Header", "passed through")
			req.Header.Set("Via", "1.1 proxy")
			req.Header.Set("Accept-Encoding", "gzip")
			req.ContentLength = 0
			require.NoError(t, bedrockSign(context.Background(), v4.NewSigner(), awsSuiteCreds, req, nil,
				"service", "us-east-1", awsSuiteTime))
			assert.Equal(t, prefix+c.sig, req.Header.Get("Authorization"))
			assert.Equal(t, "20150830T123600Z", req.Header.Get("X-Amz-Date"))
			assert.Empty(t, req.Header.Values("X-Amz-Security-Token"))
			assert.Equal(t, "passed through", req.Header.Get("X-Client-Header"), "other headers stay, unsigned")
		})
	}
}

// awsCanonical signs req with a logging signer and returns the canonical
// request the SDK built.
func awsCanonical(t *testing.T, creds aws.Credentials, req *http.Request, body []byte) string {
	t.Helper()
	var mu sync.Mutex
	var logged string
	signer := v4.NewSigner(func(o *v4.SignerOptions) {
		o.LogSigning = true
		o.Logger = logging.LoggerFunc(func(_ logging.Classification, format string, v ...any) {
			mu.Lock()
			logged = fmt.Sprintf(format, v...)
			mu.Unlock()
		})
	})
	require.NoError(t, bedrockSign(context.Background(), signer, creds, req, body, "bedrock", "us-east-1", awsSuiteTime))
	mu.Lock()
	defer mu.Unlock()
	start := strings.Index(logged, "---[ CANONICAL STRING  ]-----------------------------\n")
	end := strings.Index(logged, "\n---[ STRING TO SIGN ]")
	require.True(t, start >= 0 && end > start, logged)
	return logged[start+len("---[ CANONICAL STRING  ]-----------------------------\n") : end]
}

// TestBedrockSignCanonicalRequest pins what a Converse request's signature
// covers: the model id's ":" escaped in the path and escaped again in the
// canonical URI, only content-type, host, x-amz-date and
// x-amz-security-token, and the SHA-256 of the exact body.
func TestBedrockSignCanonicalRequest(t *testing.T) {
	v := newAWSTestVendor(t, Config{Kind: "aws", Region: "us-east-1", AccessKeyID: "AKIDEXAMPLE",
		SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "session-token"})
	out := awsClientRequest(t, `{"messages":[{"role":"user","content":"Hi"}]}`)
	require.NoError(t, v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: "anthropic.claude-sonnet-4-20250514-v1:0",
		Body: []byte(`{"messages":[{"role":"user","content":"Hi"}]}`)}))
	body := awsReadBody(t, out)
	sum := sha256.Sum256(body)

	assert.Equal(t, "/model/anthropic.claude-sonnet-4-20250514-v1%3A0/converse", out.URL.EscapedPath())
	// Sign a copy again with a logging signer at the same time: the result
	// must be what Prepare produced.
	again := out.Clone(context.Background())
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "session-token"}
	canonical := awsCanonical(t, creds, again, body)
	assert.Equal(t, strings.Join([]string{
		"POST",
		"/model/anthropic.claude-sonnet-4-20250514-v1%253A0/converse",
		"",
		"content-type:application/json",
		"host:bedrock-runtime.us-east-1.amazonaws.com",
		"x-amz-date:20150830T123600Z",
		"x-amz-security-token:session-token",
		"",
		"content-type;host;x-amz-date;x-amz-security-token",
		hex.EncodeToString(sum[:]),
	}, "\n"), canonical)
	assert.Equal(t, out.Header.Get("Authorization"), again.Header.Get("Authorization"))
	assert.Equal(t, "session-token", out.Header.Get("X-Amz-Security-Token"))
	assert.Contains(t, out.Header.Get("Authorization"),
		"Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=")

	// An independent computation of the same signature from the canonical
	// request (SigV4 as specified: derive the key, HMAC the string to sign).
	assert.Equal(t, "Signature="+awsReferenceSignature(creds.SecretAccessKey, "20150830T123600Z", "us-east-1", "bedrock", canonical),
		out.Header.Get("Authorization")[strings.Index(out.Header.Get("Authorization"), "Signature="):])
}

// TestBedrockSignCoversFinalBody: the payload hash is the hash of the body
// actually installed, so another body (a rewrite after signing) gets another
// signature.
func TestBedrockSignCoversFinalBody(t *testing.T) {
	sign := func(body string) string {
		req := httptest.NewRequest(http.MethodPost, "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", strings.NewReader(body))
		req.Host = ""
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = int64(len(body))
		require.NoError(t, bedrockSign(context.Background(), v4.NewSigner(), awsSuiteCreds, req, []byte(body),
			"bedrock", "us-east-1", awsSuiteTime))
		return req.Header.Get("Authorization")
	}
	a, b := sign(`{"messages":[]}`), sign(`{"messages":[] }`)
	assert.NotEqual(t, a, b)
	assert.Equal(t, a, sign(`{"messages":[]}`), "deterministic for a fixed clock")
	assert.Contains(t, a, "SignedHeaders=content-type;host;x-amz-date,", "no content-length: a hop may re-frame the body")

	req := httptest.NewRequest(http.MethodPost, "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", nil)
	req.Host = ""
	req.Header.Set("Content-Type", "application/json")
	canonical := awsCanonical(t, awsSuiteCreds, req, []byte(`{"final":true}`))
	sum := sha256.Sum256([]byte(`{"final":true}`))
	assert.True(t, strings.HasSuffix(canonical, "\n"+hex.EncodeToString(sum[:])), canonical)
}

// TestBedrockSignOperatorAmzHeaders: X-Amz-* headers the operator configured
// are signed (AWS wants them signed); a stale security token is removed when
// the credentials have none.
func TestBedrockSignOperatorAmzHeaders(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", nil)
	req.Host = ""
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Bedrock-Thing", "v")
	req.Header.Set("X-Amz-Security-Token", "stale")
	require.NoError(t, bedrockSign(context.Background(), v4.NewSigner(), awsSuiteCreds, req, nil, "bedrock", "us-east-1", awsSuiteTime))
	assert.Contains(t, req.Header.Get("Authorization"), "SignedHeaders=content-type;host;x-amz-bedrock-thing;x-amz-date,")
	assert.Empty(t, req.Header.Values("X-Amz-Security-Token"))
}

// awsReferenceSignature is SigV4's last steps written out from the
// specification, independently of the SDK.
func awsReferenceSignature(secret, amzDate, region, service, canonical string) string {
	h := sha256.Sum256([]byte(canonical))
	scope := amzDate[:8] + "/" + region + "/" + service + "/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(h[:])
	key := []byte("AWS4" + secret)
	for _, part := range []string{amzDate[:8], region, service, "aws4_request"} {
		key = awsTestHMAC(key, part)
	}
	return hex.EncodeToString(awsTestHMAC(key, toSign))
}

func BenchmarkBedrockSign(b *testing.B) {
	body := []byte(strings.Repeat(`{"messages":[{"role":"user","content":[{"text":"Hello there"}]}]}`, 20))
	signer := v4.NewSigner()
	req := httptest.NewRequest(http.MethodPost, "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-sonnet-4-20250514-v1%3A0/converse", nil)
	req.Host = ""
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bench")
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := bedrockSign(ctx, signer, awsSuiteCreds, req, body, "bedrock", "us-east-1", awsSuiteTime); err != nil {
			b.Fatal(err)
		}
	}
}
