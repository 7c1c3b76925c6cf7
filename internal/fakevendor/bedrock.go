package fakevendor

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// BedrockVendor is a fake Amazon Bedrock runtime on 127.0.0.1: it answers
// POST …/model/{modelId}/converse with a Converse JSON answer and
// POST …/model/{modelId}/converse-stream with real AWS event-stream frames
// (application/vnd.amazon.eventstream, encoded by the AWS SDK's encoder,
// flushed one per frame): messageStart, contentBlockDelta…, contentBlockStop,
// contentBlockStart for tool use, messageStop, metadata. For Claude it also
// answers InvokeModel with Anthropic bodies (anthropic_version
// bedrock-2023-05-31, no model, no stream; claudeValidate's checks):
// POST …/invoke with the Anthropic message JSON, …/invoke-with-response-stream
// with "chunk" frames whose payload {"bytes": …} is the base64 of each
// Anthropic event (message_stop carrying amazon-bedrock-invocationMetrics),
// and CountTokens, POST …/count-tokens with
// {"input":{"invokeModel":{"body":"<base64>"}}}, answered
// {"inputTokens": len(body)/4+1000} for a foundation model id (an inference
// profile is refused, as Bedrock does). Errors are Bedrock's
// shape: {"message":...} with the X-Amzn-ErrorType header. It can require a
// Bedrock API key (Bearer) or verify SigV4 signatures with its own,
// independent implementation of the algorithm, and it records every request
// it receives. It never reaches the internet.
type BedrockVendor struct {
	server[BedrockOptions, BedrockRecorded]
}

// BedrockOptions shape the fake's answers. Zero values mean "answer
// immediately, successfully, with a short text".
type BedrockOptions struct {
	// Reply is the answer's text, streamed split into word chunks; default
	// "Hello from Bedrock." unless ToolCall is set.
	Reply string
	// Reasoning, when set, comes first as a reasoningContent block (streamed
	// in word chunks, then its signature).
	Reasoning string
	// ToolCall, when set, adds a toolUse block after the text (if any) and
	// makes stopReason "tool_use". Streamed, its input arrives in two
	// fragments.
	ToolCall *BedrockToolCall
	// StopReason overrides stopReason (default "end_turn", "tool_use" with
	// ToolCall), e.g. "max_tokens" or "guardrail_intervened".
	StopReason string

	InputTokens     int // usage.inputTokens; 0 = len(body)/4
	OutputTokens    int // usage.outputTokens; 0 = the number of text, reasoning and tool input chunks
	CacheReadTokens int // usage.cacheReadInputTokens (absent when 0)

	// Status, if non-zero and not 200, answers every request (after the
	// auth check) with this status, an X-Amzn-ErrorType of ErrorType
	// (default by status: 429 ThrottlingException, 400 ValidationException,
	// 403 AccessDeniedException, 404 ResourceNotFoundException, 503
	// ServiceUnavailableException, else InternalServerException) and the
	// body {"message": ErrorMessage} (default "fake <status>").
	Status       int
	ErrorType    string
	ErrorMessage string

	TTFT     time.Duration // delay before the answer (streaming: before the first frame)
	PerToken time.Duration // delay between streamed content frames

	// RequireBearer, if set, is a Bedrock API key that requests must carry as
	// "Authorization: Bearer <key>"; RequireSigV4, if set, are credentials
	// whose SigV4 signature requests must carry (service "bedrock"). With
	// both set, either is accepted. A failure is a 403:
	// UnrecognizedClientException for a missing or wrong key,
	// InvalidSignatureException for a bad signature.
	RequireBearer string
	RequireSigV4  *BedrockCredentials

	// StreamException, when set (e.g. "throttlingException",
	// "modelStreamErrorException"), makes a stream send that exception frame
	// after ExceptionAfter text chunks, and end there.
	StreamException string
	ExceptionAfter  int
	// OmitMetadata ends a stream after messageStop, without the metadata
	// (usage) event.
	OmitMetadata bool

	Header http.Header // extra response headers
}

// BedrockToolCall is the tool use a BedrockVendor answers with.
type BedrockToolCall struct {
	ID    string // toolUseId; default "tooluse_" + random
	Name  string
	Input string // JSON object; default {}
}

// BedrockCredentials are the AWS credentials a BedrockVendor checks
// signatures against.
type BedrockCredentials struct {
	AccessKeyID, SecretAccessKey, Region string
}

// BedrockRecorded is a copy of one request received by a BedrockVendor:
// Recorded plus the escaped path as it came on the wire and what the fake
// read from it.
type BedrockRecorded struct {
	Recorded
	RawPath   string // the request-target's path, escaped as sent (e.g. /model/x-v1%3A0/converse)
	ModelID   string // the unescaped model id, "" if the path is not a Bedrock operation
	Operation string // converse, converse-stream, invoke, invoke-with-response-stream or count-tokens
	Stream    bool   // converse-stream or invoke-with-response-stream
}

// StartBedrock starts a fake Bedrock runtime; t.Cleanup closes it when t is
// non-nil.
func StartBedrock(t testing.TB, o BedrockOptions) *BedrockVendor {
	if t != nil {
		t.Helper()
	}
	v := &BedrockVendor{}
	v.init(o, bedrockCloneOptions, func(r BedrockRecorded) BedrockRecorded {
		r.Recorded = r.Recorded.clone()
		return r
	})
	v.lookups = lookups{api: lookupBedrock, keyOK: func(r *http.Request) bool {
		v.mu.RLock()
		bearer, sig := v.opts.RequireBearer, v.opts.RequireSigV4
		v.mu.RUnlock()
		auth := r.Header.Get("Authorization")
		switch {
		case bearer == "" && sig == nil:
			return true
		case bearer != "" && auth == "Bearer "+bearer:
			return true
		}
		// The signature itself is the runtime fake's to check; a lookup
		// needs only the right access key.
		return sig != nil && strings.Contains(auth, "Credential="+sig.AccessKeyID+"/")
	}}
	v.serve(v.serveHTTP)
	if t != nil {
		t.Cleanup(v.Close)
	}
	return v
}

func bedrockCloneOptions(o BedrockOptions) BedrockOptions {
	o.Header = o.Header.Clone()
	if o.ToolCall != nil {
		tc := *o.ToolCall
		o.ToolCall = &tc
	}
	if o.RequireSigV4 != nil {
		c := *o.RequireSigV4
		o.RequireSigV4 = &c
	}
	return o
}

// bedrockOperation splits an escaped request path, …/model/{id}/{operation},
// into the unescaped model id and the operation.
func bedrockOperation(rawPath string) (modelID, op string, ok bool) {
	i := strings.LastIndex(rawPath, "/model/")
	if i < 0 {
		return "", "", false
	}
	seg, op, found := strings.Cut(rawPath[i+len("/model/"):], "/")
	if !found || seg == "" {
		return "", "", false
	}
	switch op {
	case "converse", "converse-stream", "invoke", "invoke-with-response-stream", "count-tokens":
	default:
		return "", "", false
	}
	id, err := url.PathUnescape(seg)
	if err != nil {
		return "", "", false
	}
	return id, op, true
}

func (v *BedrockVendor) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rawPath, _, _ := strings.Cut(r.RequestURI, "?")
	modelID, op, isOp := bedrockOperation(rawPath)
	stream := op == "converse-stream" || op == "invoke-with-response-stream"

	body, _ := io.ReadAll(r.Body)
	o := v.record(BedrockRecorded{
		Recorded: recorded(r, body),
		RawPath:  rawPath, ModelID: modelID, Operation: op, Stream: stream,
	})

	ctx, cancel := v.requestContext(r.Context())
	defer cancel()

	for k, vals := range o.Header {
		for _, val := range vals {
			w.Header().Add(k, val)
		}
	}
	w.Header().Set("X-Amzn-Requestid", newID(""))

	if !isOp || r.Method != http.MethodPost {
		bedrockError(w, http.StatusNotFound, "UnknownOperationException", "")
		return
	}
	if o.RequireBearer != "" || o.RequireSigV4 != nil {
		auth := r.Header.Get("Authorization")
		switch {
		case o.RequireBearer != "" && auth == "Bearer "+o.RequireBearer:
		case o.RequireSigV4 != nil && strings.HasPrefix(auth, "AWS4-HMAC-SHA256 "):
			if err := BedrockVerifySigV4(r, body, *o.RequireSigV4); err != nil {
				bedrockError(w, http.StatusForbidden, "InvalidSignatureException",
					"The request signature we calculated does not match the signature you provided. ("+err.Error()+")")
				return
			}
		default:
			bedrockError(w, http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.")
			return
		}
	}
	if o.Status != 0 && o.Status != http.StatusOK {
		if !sleep(ctx, o.TTFT) {
			abort()
		}
		bedrockError(w, o.Status, o.ErrorType, o.ErrorMessage)
		return
	}
	switch op {
	case "invoke", "invoke-with-response-stream":
		v.invoke(ctx, w, body, modelID, stream, o)
		return
	case "count-tokens":
		bedrockCountTokens(w, body, modelID)
		return
	}
	var req struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Messages == nil {
		bedrockError(w, http.StatusBadRequest, "ValidationException", "Malformed input request, please reformat your input and try again.")
		return
	}

	a := newBedrockAnswer(o, len(body))
	if !sleep(ctx, o.TTFT) {
		abort()
	}
	if !stream {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(a.json())
		return
	}
	if !a.stream(ctx, w, o) {
		abort()
	}
}

// bedrockError writes Bedrock's error shape.
func bedrockError(w http.ResponseWriter, status int, typ, msg string) {
	if typ == "" {
		switch status {
		case http.StatusTooManyRequests:
			typ = "ThrottlingException"
		case http.StatusBadRequest:
			typ = "ValidationException"
		case http.StatusForbidden:
			typ = "AccessDeniedException"
		case http.StatusNotFound:
			typ = "ResourceNotFoundException"
		case http.StatusServiceUnavailable:
			typ = "ServiceUnavailableException"
		default:
			typ = "InternalServerException"
		}
	}
	if msg == "" {
		msg = fmt.Sprintf("fake %d", status)
	}
	b, _ := json.Marshal(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", typ+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// bedrockAnswer is one successful answer, as chunks.
type bedrockAnswer struct {
	reasoning, text []string
	tool            *BedrockToolCall
	stop            string
	in, out, cached int
}

func newBedrockAnswer(o BedrockOptions, bodyLen int) bedrockAnswer {
	a := bedrockAnswer{tool: o.ToolCall, stop: o.StopReason, in: o.InputTokens, out: o.OutputTokens,
		cached: o.CacheReadTokens}
	reply := o.Reply
	if reply == "" && o.ToolCall == nil {
		reply = "Hello from Bedrock."
	}
	a.text = splitWords(reply)
	a.reasoning = splitWords(o.Reasoning)
	if a.tool != nil {
		if a.tool.ID == "" {
			a.tool.ID = newID("tooluse_")
		}
		if a.tool.Input == "" {
			a.tool.Input = "{}"
		}
	}
	if a.stop == "" {
		a.stop = "end_turn"
		if a.tool != nil {
			a.stop = "tool_use"
		}
	}
	if a.in == 0 {
		a.in = bodyLen / 4
	}
	if a.out == 0 {
		a.out = len(a.text) + len(a.reasoning)
		if a.tool != nil {
			a.out += 2
		}
	}
	return a
}

func (a bedrockAnswer) usage() map[string]int {
	u := map[string]int{"inputTokens": a.in, "outputTokens": a.out, "totalTokens": a.in + a.out + a.cached}
	if a.cached > 0 {
		u["cacheReadInputTokens"] = a.cached
	}
	return u
}

// json renders the Converse answer.
func (a bedrockAnswer) json() []byte {
	var content []any
	if len(a.reasoning) > 0 {
		content = append(content, map[string]any{"reasoningContent": map[string]any{
			"reasoningText": map[string]string{"text": strings.Join(a.reasoning, ""), "signature": "fake-signature"}}})
	}
	if len(a.text) > 0 {
		content = append(content, map[string]string{"text": strings.Join(a.text, "")})
	}
	if a.tool != nil {
		content = append(content, map[string]any{"toolUse": map[string]any{
			"toolUseId": a.tool.ID, "name": a.tool.Name, "input": json.RawMessage(a.tool.Input)}})
	}
	b, _ := json.Marshal(map[string]any{
		"output":     map[string]any{"message": map[string]any{"role": "assistant", "content": content}},
		"stopReason": a.stop,
		"usage":      a.usage(),
		"metrics":    map[string]int{"latencyMs": 42},
	})
	return b
}

// stream writes the ConverseStream answer, one flushed frame per event. It
// reports false if the client went away or the vendor closed.
func (a bedrockAnswer) stream(ctx context.Context, w http.ResponseWriter, o BedrockOptions) bool {
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := eventstream.NewEncoder()
	var buf bytes.Buffer
	send := func(msgType, typ string, payload any) bool {
		if ctx.Err() != nil {
			return false
		}
		buf.Reset()
		if err := BedrockEncodeFrame(enc, &buf, msgType, typ, payload); err != nil {
			return false
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	event := func(typ string, payload map[string]any) bool {
		payload["p"] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[:len(typ)] // Bedrock's padding
		return send("event", typ, payload)
	}
	pace := func(first bool) bool { return first || sleep(ctx, o.PerToken) }

	if !event("messageStart", map[string]any{"role": "assistant"}) {
		return false
	}
	block, sent := 0, 0
	if len(a.reasoning) > 0 {
		for _, r := range a.reasoning {
			if !pace(sent == 0) || !event("contentBlockDelta", map[string]any{"contentBlockIndex": block,
				"delta": map[string]any{"reasoningContent": map[string]string{"text": r}}}) {
				return false
			}
			sent++
		}
		if !event("contentBlockDelta", map[string]any{"contentBlockIndex": block,
			"delta": map[string]any{"reasoningContent": map[string]string{"signature": "fake-signature"}}}) ||
			!event("contentBlockStop", map[string]any{"contentBlockIndex": block}) {
			return false
		}
		block++
	}
	if len(a.text) > 0 {
		for i, t := range a.text {
			if o.StreamException != "" && i == o.ExceptionAfter {
				break
			}
			if !pace(sent == 0) || !event("contentBlockDelta", map[string]any{"contentBlockIndex": block,
				"delta": map[string]string{"text": t}}) {
				return false
			}
			sent++
		}
	}
	if o.StreamException != "" {
		return pace(sent == 0) && send("exception", o.StreamException,
			map[string]string{"message": "fake " + o.StreamException})
	}
	if len(a.text) > 0 {
		if !event("contentBlockStop", map[string]any{"contentBlockIndex": block}) {
			return false
		}
		block++
	}
	if a.tool != nil {
		half := len(a.tool.Input) / 2
		if !event("contentBlockStart", map[string]any{"contentBlockIndex": block, "start": map[string]any{
			"toolUse": map[string]string{"toolUseId": a.tool.ID, "name": a.tool.Name}}}) {
			return false
		}
		for _, frag := range []string{a.tool.Input[:half], a.tool.Input[half:]} {
			if !pace(sent == 0) || !event("contentBlockDelta", map[string]any{"contentBlockIndex": block,
				"delta": map[string]any{"toolUse": map[string]string{"input": frag}}}) {
				return false
			}
			sent++
		}
		if !event("contentBlockStop", map[string]any{"contentBlockIndex": block}) {
			return false
		}
	}
	if !event("messageStop", map[string]any{"stopReason": a.stop}) {
		return false
	}
	if o.OmitMetadata {
		return true
	}
	return event("metadata", map[string]any{"usage": a.usage(), "metrics": map[string]int{"latencyMs": 42}})
}

// BedrockEncodeFrame writes one event-stream frame as Bedrock sends it:
// msgType "event" (typ is the :event-type) or "exception" (typ is the
// :exception-type), a :content-type of application/json, and payload
// marshalled to JSON (a string or []byte payload is written as is).
func BedrockEncodeFrame(enc *eventstream.Encoder, w io.Writer, msgType, typ string, payload any) error {
	var p []byte
	switch x := payload.(type) {
	case string:
		p = []byte(x)
	case []byte:
		p = x
	default:
		var err error
		if p, err = json.Marshal(payload); err != nil {
			return err
		}
	}
	var h eventstream.Headers
	switch msgType {
	case "exception":
		h.Set(":exception-type", eventstream.StringValue(typ))
	default:
		h.Set(":event-type", eventstream.StringValue(typ))
	}
	h.Set(":content-type", eventstream.StringValue("application/json"))
	h.Set(":message-type", eventstream.StringValue(msgType))
	return enc.Encode(w, eventstream.Message{Headers: h, Payload: p})
}

// BedrockVerifySigV4 checks r's SigV4 Authorization header against c, for
// service "bedrock", with body as the payload, the way AWS does: the
// canonical request is rebuilt from what arrived (the request-target's
// escaped path, escaped once more as for every service but S3; the query;
// the headers the signature names, Host included), so anything changed
// after signing, body, path or a signed header, fails. It is written from
// the SigV4 specification, independently of the AWS SDK's signer. Time skew
// is not checked.
func BedrockVerifySigV4(r *http.Request, body []byte, c BedrockCredentials) error {
	a, err := bedrockParseAuth(r)
	if err != nil {
		return err
	}
	if a.accessKeyID != c.AccessKeyID {
		return errors.New("unknown access key id")
	}
	if a.region != c.Region || a.service != "bedrock" {
		return fmt.Errorf("scope is %s/%s, want %s/bedrock", a.region, a.service, c.Region)
	}
	if r.Header.Get("X-Amz-Security-Token") != "" && !slices.Contains(a.signed, "x-amz-security-token") {
		return errors.New("x-amz-security-token is not signed")
	}
	want, err := bedrockSigV4Signature(r, body, c.SecretAccessKey, a)
	if err != nil {
		return err
	}
	if !hmac.Equal([]byte(want), []byte(a.signature)) {
		return errors.New("signature mismatch")
	}
	return nil
}

// bedrockAuth is a parsed SigV4 Authorization header.
type bedrockAuth struct {
	accessKeyID, date, region, service string
	signed                             []string // SignedHeaders
	signature                          string
}

func bedrockParseAuth(r *http.Request) (bedrockAuth, error) {
	rest, ok := strings.CutPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ")
	if !ok {
		return bedrockAuth{}, errors.New("not a SigV4 Authorization header")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = val
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return bedrockAuth{}, errors.New("malformed Credential")
	}
	a := bedrockAuth{accessKeyID: scope[0], date: scope[1], region: scope[2], service: scope[3],
		signed: strings.Split(fields["SignedHeaders"], ";"), signature: fields["Signature"]}
	if !sort.StringsAreSorted(a.signed) || !slices.Contains(a.signed, "host") || !slices.Contains(a.signed, "x-amz-date") {
		return bedrockAuth{}, errors.New("SignedHeaders must be sorted and include host and x-amz-date")
	}
	if amzDate := r.Header.Get("X-Amz-Date"); len(amzDate) != 16 || amzDate[:8] != a.date {
		return bedrockAuth{}, errors.New("X-Amz-Date does not match the credential scope")
	}
	return a, nil
}

// bedrockSigV4Signature computes the signature r should carry for a's
// scope and signed headers.
func bedrockSigV4Signature(r *http.Request, body []byte, secret string, a bedrockAuth) (string, error) {
	rawPath, rawQuery, _ := strings.Cut(r.RequestURI, "?")
	var canon strings.Builder
	canon.WriteString(r.Method + "\n")
	canon.WriteString(bedrockSigV4Escape(rawPath, false) + "\n")
	canon.WriteString(bedrockSigV4Query(rawQuery) + "\n")
	for _, name := range a.signed {
		var values []string
		if name == "host" {
			values = []string{r.Host}
		} else {
			values = slices.Clone(r.Header.Values(name))
		}
		if len(values) == 0 {
			return "", fmt.Errorf("signed header %q is missing", name)
		}
		for i, val := range values {
			values[i] = strings.Join(strings.Fields(val), " ")
		}
		canon.WriteString(name + ":" + strings.Join(values, ",") + "\n")
	}
	sum := sha256.Sum256(body)
	canon.WriteString("\n" + strings.Join(a.signed, ";") + "\n" + hex.EncodeToString(sum[:]))

	creq := sha256.Sum256([]byte(canon.String()))
	scope := a.date + "/" + a.region + "/" + a.service + "/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + r.Header.Get("X-Amz-Date") + "\n" + scope + "\n" + hex.EncodeToString(creq[:])
	key := []byte("AWS4" + secret)
	for _, s := range []string{a.date, a.region, a.service, "aws4_request"} {
		key = bedrockHMAC(key, s)
	}
	return hex.EncodeToString(bedrockHMAC(key, toSign)), nil
}

func bedrockHMAC(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// bedrockSigV4Escape percent-encodes every byte but the unreserved characters
// (and "/" unless slash is true), with upper-case hex, as SigV4 requires.
func bedrockSigV4Escape(s string, slash bool) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && !slash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	return b.String()
}

// bedrockSigV4Query is the canonical query string: decoded pairs re-encoded, sorted.
func bedrockSigV4Query(raw string) string {
	if raw == "" {
		return ""
	}
	vals, _ := url.ParseQuery(raw)
	var pairs []string
	for k, vs := range vals {
		for _, val := range vs {
			pairs = append(pairs, bedrockSigV4Escape(k, true)+"="+bedrockSigV4Escape(val, true))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}
