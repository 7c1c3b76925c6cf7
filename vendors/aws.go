package vendors

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/meter"
)

// awsKind is Amazon Bedrock's runtime API, spoken natively: Converse and
// ConverseStream (POST /model/{modelId}/converse[-stream]), the one API that
// serves every Bedrock chat model (Claude, Nova, Llama, Mistral, DeepSeek...).
//
// Base URL: https://bedrock-runtime.{region}.amazonaws.com from Config.Region,
// or base_url (a VPC endpoint, a gateway), in which case region is only needed
// for SigV4 and is read from the host when it names one.
//
// Auth, in this order:
//
//   - api_key: a Bedrock API key, sent as "Authorization: Bearer <key>";
//   - access_key_id + secret_access_key (+ session_token): SigV4;
//   - else the AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
//     AWS_SESSION_TOKEN environment variables, read once at New: SigV4.
//
// With none of them New fails on "api_key". The kind is keyOptional so that
// New lets a key-less config reach newBedrockBackend, which enforces the rule.
func init() {
	register(&kind{
		name: "aws",
		// Never used: newBedrockBackend always builds the regional URL when
		// base_url is empty. New needs some default to parse first.
		defaultBaseURL: "https://bedrock-runtime.region.amazonaws.com",
		keyOptional:    true,
		settings:       settingRegion | settingAccessKeys | settingMaxTokens,
		backend:        newBedrockBackend,
	})
}

// awsSigningService is SigV4's service name for bedrock-runtime (not
// "bedrock-runtime"; the AWS SDKs sign with "bedrock").
const awsSigningService = "bedrock"

// bedrockBackend is an aws vendor.
type bedrockBackend struct {
	maxTokens int // max_tokens when the client sends none
	// region signs SigV4 requests; "" with an API key and a base_url.
	region string
	// creds is nil when the vendor uses a Bedrock API key (Vendor.key).
	creds  aws.CredentialsProvider
	signer *v4.Signer
	now    func() time.Time // the signing clock; tests fix it
}

// awsRegionPattern keeps a configured region from reshaping the host name.
var awsRegionPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)+$`)

// newBedrockBackend checks the aws settings and resolves the credentials.
func newBedrockBackend(v *Vendor, c Config) (backend, *ConfigError) {
	st := &bedrockBackend{maxTokens: maxTokensOr(c.DefaultMaxTokens), now: time.Now}

	// Credentials first: a config with nothing to authenticate with is the
	// more fundamental mistake.
	if v.key == "" {
		creds, cerr := awsCredentials(c)
		if cerr != nil {
			return nil, cerr
		}
		st.creds = creds
		st.signer = v4.NewSigner()
	}

	region := strings.TrimSpace(c.Region)
	if region != "" && !awsRegionPattern.MatchString(region) {
		return nil, &ConfigError{"region", fmt.Sprintf("%q is not an AWS region name such as us-east-1", region)}
	}
	if strings.TrimSpace(c.BaseURL) == "" {
		if region == "" {
			return nil, &ConfigError{"region", `is required for kind "aws" (it selects https://bedrock-runtime.{region}.amazonaws.com) unless base_url is given`}
		}
		v.setBase(&url.URL{Scheme: "https", Host: "bedrock-runtime." + region + ".amazonaws.com"})
	} else if region == "" && st.creds != nil {
		if region = awsRegionFromHost(v.base.Hostname()); region == "" {
			return nil, &ConfigError{"region", "is required to sign requests (SigV4) when base_url does not name the region"}
		}
	}
	st.region = region
	return st, nil
}

// serves: chat completions (Converse), embeddings (InvokeModel of Titan
// and Cohere models) and Claude's count_tokens (CountTokens,
// messages_native.go); Messages only through the chat bridge, Claude's
// Messages taking the passthrough (Vendor.Translator) before it.
func (b *bedrockBackend) serves(e Endpoint) bool {
	return e == ChatCompletions || e == Embeddings || e == CountTokens
}

func (b *bedrockBackend) classify(status int, body []byte) (Verdict, bool) {
	return bedrockClassify(status, "", body)
}

// classifyWithHeader reads the error type from X-Amzn-ErrorType, where
// Bedrock's REST API puts it, when the body does not say it.
func (b *bedrockBackend) classifyWithHeader(status int, h http.Header, body []byte) (Verdict, bool) {
	return bedrockClassify(status, bedrockTrimErrorType(h.Get("X-Amzn-Errortype")), body)
}

// awsCredentials returns the SigV4 credentials of a vendor without an API
// key: the configured ones, else those of the environment.
func awsCredentials(c Config) (aws.CredentialsProvider, *ConfigError) {
	id := strings.TrimSpace(c.AccessKeyID)
	secret := strings.TrimSpace(c.SecretAccessKey)
	token := strings.TrimSpace(c.SessionToken)
	for _, f := range []struct{ field, value string }{
		{"access_key_id", id}, {"secret_access_key", secret}, {"session_token", token},
	} {
		if strings.IndexFunc(f.value, isCTL) >= 0 {
			return nil, &ConfigError{f.field, "contains control characters"} // never echo a secret
		}
	}
	switch {
	case id != "" && secret != "":
		return credentials.NewStaticCredentialsProvider(id, secret, token), nil
	case id != "":
		return nil, &ConfigError{"secret_access_key", "is required with access_key_id"}
	case secret != "" || token != "":
		return nil, &ConfigError{"access_key_id", "is required with secret_access_key and session_token"}
	}

	id = strings.TrimSpace(os.Getenv("AWS_ACCESS_KEY_ID"))
	secret = strings.TrimSpace(os.Getenv("AWS_SECRET_ACCESS_KEY"))
	token = strings.TrimSpace(os.Getenv("AWS_SESSION_TOKEN"))
	if id != "" && secret != "" {
		if strings.IndexFunc(id+secret+token, isCTL) >= 0 {
			return nil, &ConfigError{"access_key_id", "the AWS_* credential environment variables contain control characters"}
		}
		return credentials.NewStaticCredentialsProvider(id, secret, token), nil
	}
	return nil, &ConfigError{"api_key", `kind "aws" needs a Bedrock API key (api_key) or AWS credentials ` +
		`(access_key_id and secret_access_key, or the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment variables)`}
}

// awsRegionFromHost finds the region in a Bedrock runtime host name:
// bedrock-runtime[-fips].{region}.amazonaws.com, or a VPC endpoint's
// vpce-....bedrock-runtime.{region}.vpce.amazonaws.com. "" if there is none.
func awsRegionFromHost(host string) string {
	labels := strings.Split(strings.ToLower(host), ".")
	for i := 0; i+1 < len(labels); i++ {
		if labels[i] == "bedrock-runtime" || labels[i] == "bedrock-runtime-fips" {
			if r := labels[i+1]; awsRegionPattern.MatchString(r) {
				return r
			}
		}
	}
	return ""
}

// awsHost is u's host without a default port, which SigV4 signs without it:
// Go would send "host:443" as is, and the host would not match.
func awsHost(u url.URL) string {
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		h := u.Hostname()
		if strings.Contains(h, ":") {
			return "[" + h + "]"
		}
		return h
	}
	return u.Host
}

// bedrockEscapeModelID escapes a model id, inference profile id or ARN for
// its path segment the way the AWS SDKs do (smithy's label escaping):
// everything but the RFC 3986 unreserved characters, so "v1:0" becomes
// "v1%3A0" and an ARN's "/" becomes "%2F".
func bedrockEscapeModelID(id string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(id)+16), id[:i]...)
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	if b == nil {
		return id
	}
	return string(b)
}

// ---------------------------------------------------------------------------
// Errors

// bedrockErrorType returns the AWS error code of an error body, from
// "__type" or "code" (the restJson1 places besides the X-Amzn-ErrorType
// header, which Classify never sees), without its namespace
// ("com.amazon.coral.service#ThrottlingException") or URI suffix
// ("ThrottlingException:http://internal.amazon.com/...").
func bedrockErrorType(root gjson.Result) string {
	t := root.Get("__type").String()
	if t == "" {
		if c := root.Get("code"); c.Type == gjson.String {
			t = c.Str
		}
	}
	return bedrockTrimErrorType(t)
}

// bedrockTrimErrorType reduces an AWS error type to its bare name.
func bedrockTrimErrorType(t string) string {
	if i := strings.LastIndexByte(t, '#'); i >= 0 {
		t = t[i+1:]
	}
	if i := strings.IndexByte(t, ':'); i >= 0 {
		t = t[:i]
	}
	return strings.TrimSpace(t)
}

// bedrockClassify recognises Bedrock's errors. The error type normally
// travels only in the X-Amzn-ErrorType header (headerType, "" when unknown);
// the body's ("__type", "code") comes first when present, and without
// either the status and Bedrock's own message decide:
//
//   - ThrottlingException (429): rate_limited, except the daily token or
//     request quotas ("Too many tokens per day"): quota, they last hours;
//   - ServiceQuotaExceededException (400): quota (recognised by type only);
//   - AccessDenied, UnrecognizedClient, ExpiredToken and the signature
//     errors: auth;
//   - ResourceNotFoundException (404): not_found;
//   - a ValidationException (400) saying the model needs an inference
//     profile ("on-demand throughput isn't supported") or that the model id
//     is invalid: not_found, failover: the model is not callable this way
//     on this vendor, another vendor may serve it;
//   - ModelNotReadyException (429) and ServiceUnavailableException (503):
//     overloaded;
//   - InternalServer, ModelError (424) and ModelStreamError: server_error;
//     ModelTimeoutException (408): timeout;
//   - any other ValidationException: the client's request (bad_request).
//
// Bodies without a top-level message or type (OpenAI-shaped ones) keep the
// generic verdict. Only Bedrock's message is read, never the whole body.
func bedrockClassify(status int, headerType string, body []byte) (Verdict, bool) {
	var typ, msg string
	if root := errorRoot(body); root.IsObject() {
		typ, msg = bedrockErrorType(root), bedrockMessageOf(root)
	}
	if typ == "" {
		typ = headerType
	}
	if typ == "" && msg == "" {
		return Verdict{}, false
	}
	lower := strings.ToLower(msg)
	switch typ {
	case "ThrottlingException":
		if bedrockDailyQuota(lower) {
			return Verdict{true, ReasonQuota}, true
		}
		return Verdict{true, ReasonRateLimited}, true
	case "ServiceQuotaExceededException":
		return Verdict{true, ReasonQuota}, true
	case "AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException",
		"InvalidSignatureException", "IncompleteSignature", "IncompleteSignatureException",
		"MissingAuthenticationToken", "MissingAuthenticationTokenException",
		"InvalidClientTokenId", "SignatureDoesNotMatch":
		return Verdict{true, ReasonAuth}, true
	case "ResourceNotFoundException":
		return Verdict{true, ReasonNotFound}, true
	case "ModelNotReadyException", "ServiceUnavailableException":
		return Verdict{true, ReasonOverloaded}, true
	case "InternalServerException", "ModelErrorException", "ModelStreamErrorException":
		return Verdict{true, ReasonServerError}, true
	case "ModelTimeoutException":
		return Verdict{true, ReasonTimeout}, true
	case "ValidationException":
		if bedrockModelUnusable(lower) {
			return Verdict{true, ReasonNotFound}, true
		}
		return Verdict{false, ReasonBadRequest}, true
	}
	switch {
	case status == http.StatusBadRequest && bedrockModelUnusable(lower):
		return Verdict{true, ReasonNotFound}, true
	case status == http.StatusTooManyRequests && bedrockDailyQuota(lower):
		return Verdict{true, ReasonQuota}, true
	case status == http.StatusTooManyRequests && strings.Contains(lower, "not ready"):
		return Verdict{true, ReasonOverloaded}, true // ModelNotReadyException
	case status == http.StatusFailedDependency:
		return Verdict{true, ReasonServerError}, true // ModelErrorException
	}
	return Verdict{}, false
}

// bedrockModelUnusable recognises a ValidationException about the model id
// rather than the request: it needs an inference profile (newer models have
// no on-demand throughput in-region) or it does not exist.
func bedrockModelUnusable(lowerMsg string) bool {
	return strings.Contains(lowerMsg, "on-demand throughput") ||
		strings.Contains(lowerMsg, "inference profile") ||
		strings.Contains(lowerMsg, "model identifier is invalid")
}

// bedrockDailyQuota recognises the daily quotas behind some throttles
// ("Too many tokens per day, please wait before trying again.").
func bedrockDailyQuota(lowerMsg string) bool {
	return strings.Contains(lowerMsg, "per day")
}

// bedrockMessageOf returns an AWS error body's own top-level message
// ("message", or "Message" as AWS's auth layer writes it), which Bedrock's
// rules read; an OpenAI-shaped body's error.message is not Bedrock's.
func bedrockMessageOf(root gjson.Result) string {
	if m := root.Get("message"); m.Type == gjson.String {
		return strings.TrimSpace(m.Str)
	}
	if m := root.Get("Message"); m.Type == gjson.String {
		return strings.TrimSpace(m.Str)
	}
	return ""
}

// bedrockErrorMessage is the errorMessage hook: Bedrock's message, and an
// OpenAI error type derived from the AWS error type when the body has one.
func bedrockErrorMessage(body []byte) (errType, message string) {
	e, _ := meter.ReadError(body)
	return bedrockOpenAIErrorType(bedrockErrorType(errorRoot(body))), e.Message
}

// bedrockOpenAIErrorType maps an AWS error or exception type (either case:
// stream exceptions are camelCase) to the closest OpenAI error type; "" if
// unknown.
func bedrockOpenAIErrorType(awsType string) string {
	switch strings.ToLower(awsType) {
	case "":
		return ""
	case "throttlingexception", "servicequotaexceededexception":
		return "rate_limit_error"
	case "validationexception":
		return "invalid_request_error"
	case "accessdeniedexception", "unrecognizedclientexception", "expiredtokenexception":
		return "authentication_error"
	case "resourcenotfoundexception":
		return "not_found_error"
	case "modelnotreadyexception", "serviceunavailableexception":
		return "overloaded_error"
	case "modeltimeoutexception":
		return "timeout_error"
	}
	return "server_error"
}

// Interface guards
var _ backend = (*bedrockBackend)(nil)
