package llmrouter

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/tidwall/gjson"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// fuzzMaxBody is the fuzz router's max_request_body: small, so that the
// fuzzer reaches the 413 path.
const fuzzMaxBody = 4 << 10

// fuzzRouter is a router provisioned without Caddy's HTTP app, with
// OpenAI-compatible and native vendors, shared and exclusive models, a
// chat-only kind next to embedding-capable ones and a mixed-case vendor id:
// enough for every branch of request inspection.
func fuzzRouter(tb testing.TB) *LLMRouter {
	tb.Helper()
	price := func(v float64) *float64 { return &v }
	cfgs := []VendorConfig{
		{ID: "openai", APIKey: "sk-fuzz-openai-0123456789", Models: []ModelConfig{
			{Name: "gpt-4o", InputPrice: price(2.5), OutputPrice: price(10)},
			{Name: "text-embedding-3-small"},
			{Name: "gpt-3.5-turbo-instruct"},
		}},
		{ID: "azure-eu", Kind: "azure", BaseURL: "https://fuzz.openai.azure.com", APIKey: "az-fuzz-0123456789",
			Models: []ModelConfig{{Name: "gpt-4o", VendorModel: "gpt4o-deploy", InputPrice: price(2.5), OutputPrice: price(10)}}},
		{ID: "Local-LLM", Kind: "openai_compatible", BaseURL: "http://127.0.0.1:8000/v1",
			Models: []ModelConfig{{Name: "gpt-4o", VendorModel: "llama"}, {Name: "text-embedding-3-small"}}},
		{ID: "anthropic", APIKey: "sk-ant-fuzz-0123456789",
			Models: []ModelConfig{{Name: "claude-sonnet-4", VendorModel: "claude-sonnet-4-20250514"}, {Name: "gpt-4o"}}},
		{ID: "aws", APIKey: "bedrock-fuzz-0123456789", Region: "us-east-1",
			Models: []ModelConfig{{Name: "claude-sonnet-4", VendorModel: "us.anthropic.claude-sonnet-4-20250514-v1:0"}}},
		{ID: "google", APIKey: "AIza-fuzz-0123456789",
			Models: []ModelConfig{{Name: "gemini-2.5-flash"}}},
		{ID: "mistral", APIKey: "mistral-fuzz-0123456789",
			Models: []ModelConfig{{Name: "mistral-large", VendorModel: "mistral-large-latest"}, {Name: "gpt-4o"}}},
	}
	table, err := buildRouteTable(cfgs, caddy.NewReplacer(), selector.NewMemoryStore())
	if err != nil {
		tb.Fatal(err)
	}
	if err := initMetrics(nil); err != nil {
		tb.Fatal(err)
	}
	// INFO is enabled, so inspect also runs selector.Explain.
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	return &LLMRouter{VendorHeader: DefaultVendorHeader, MaxRequestBody: fuzzMaxBody,
		RequestBodyTimeout: caddy.Duration(DefaultRequestBodyTimeout),
		TTFTTimeout:        caddy.Duration(DefaultTTFTTimeout), routing: selector.Perf,
		selector: selector.New(selector.Config{}), table: table, logger: logger}
}

// fuzzBody is a request body as a server hands it out: in reads of at most
// step bytes, ending in EOF, or in failure after failAt bytes.
type fuzzBody struct {
	data   []byte
	step   int
	failAt int // -1: never
	fail   error
}

func (b *fuzzBody) Read(p []byte) (int, error) {
	if b.failAt == 0 {
		return 0, b.fail
	}
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(b.data), b.step)
	if b.failAt > 0 {
		n = min(n, b.failAt)
		b.failAt -= n
	}
	n = copy(p, b.data[:n])
	b.data = b.data[n:]
	return n, nil
}

func (b *fuzzBody) Close() error { return nil }

// Ways a fuzzed body reaches readRequestBody (bits of FuzzInspect's mode).
const (
	fuzzChunked     = 1 << iota // no Content-Length, as for a chunked upload
	fuzzLyingLength             // Content-Length says one byte more than is sent
	fuzzDeadline                // the read deadline expires after step bytes
	fuzzMaxBytes                // wrapped in http.MaxBytesReader (another handler's limit)
	fuzzBrokenConn              // the connection breaks after step bytes
)

// FuzzInspect drives request inspection (readRequestBody, then inspect) with
// arbitrary bodies, vendor header values, endpoints and body delivery. It
// must never panic, and either accept the request, with a state that can be
// forwarded, or refuse it with a client error whose status is 400, 404, 408
// or 413 and whose rendering is an OpenAI error object. An accepted request
// is also shaped for its first vendor, to check that the vendor sees the
// routed model and no router-only field.
func FuzzInspect(f *testing.F) {
	seeds := []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o","routing":"price","stream":true,"stream_options":{"include_usage":true},"max_tokens":16,"messages":[]}`,
		`{"model":"gpt-4o","routing":"perf-avg","routing":"price","max_completion_tokens":-3}`,
		`{"model":"gpt-4o","routing":"fast"}`,
		`{"model":"gpt-4o","routing":null}`,
		`{"model":"gpt-4o","rout\u0069ng":"price"}`,
		`{"mod\u0065l":"gpt-4o","model":"claude-sonnet-4"}`,
		`{"model":"gpt-4o","model":"o1-pro"}`,
		`{"model":"claude-sonnet-4","max_tokens":100,"messages":[{"role":"system","content":"x"},{"role":"user","content":[{"type":"text","text":"hi"}]}]}`,
		`{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}`,
		`{"model":"text-embedding-3-small","input":"hello"}`,
		`{"model":"gpt-3.5-turbo-instruct","prompt":"once upon"}`,
		`{"model":"no-such-model"}`,
		`{"model":""}`,
		`{"model":42}`,
		`{}`,
		`[]`,
		` {"model":"gpt-4o"}`,
		`{"model":"gpt-4o"`,
		"\xef\xbb\xbf{\"model\":\"gpt-4o\"}",
		`{"model":"gpt-4o","messages":[{"role":"user","content":"` + strings.Repeat("long prompt ", 400) + `"}]}`,
		``,
	}
	headers := []string{"", "auto", "AUTO", " openai ", "local-llm", "anthropic", "nobody", "google\x00"}
	for i, s := range seeds {
		f.Add([]byte(s), headers[i%len(headers)], uint8(i%3), uint8(i%32), uint16(i*37%4096))
	}
	for i, s := range []string{
		`{"model":"gpt-4o","input":"hi","routing":"price","max_output_tokens":9,"stream":true}`,
		`{"model":"gpt-4o","input":[{"role":"user","content":"hi"}],"tools":[{"type":"web_search"}],"previous_response_id":"resp_x"}`,
		`{"model":"gpt-4o","instructions":"be brief","input":"x","previous_response_id":7}`,
	} {
		f.Add([]byte(s), headers[i], uint8(3), uint8(0), uint16(4096))
	}
	f.Add([]byte(seeds[0]), "azure-eu", uint8(0), uint8(fuzzChunked|fuzzDeadline), uint16(5))
	f.Add([]byte(seeds[1]), "mistral", uint8(0), uint8(fuzzMaxBytes), uint16(1))
	f.Add([]byte(seeds[10]), "Local-LLM", uint8(2), uint8(fuzzLyingLength), uint16(7))

	h := fuzzRouter(f)
	f.Fuzz(func(t *testing.T, body []byte, vendorHeader string, opN, mode uint8, step uint16) {
		op := []operation{opChat, opCompletions, opEmbeddings, opResponses}[int(opN)%4]
		src := &fuzzBody{data: body, step: int(step)%4096 + 1, failAt: -1}
		var r io.ReadCloser = src
		size := int64(len(body))
		switch {
		case mode&fuzzDeadline != 0:
			src.failAt, src.fail = src.step, os.ErrDeadlineExceeded
		case mode&fuzzBrokenConn != 0:
			src.failAt, src.fail = src.step, io.ErrUnexpectedEOF
		case mode&fuzzLyingLength != 0:
			size++
			src.failAt, src.fail = len(body), io.ErrUnexpectedEOF
		}
		if mode&fuzzChunked != 0 {
			size = -1
		}
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
		if mode&fuzzMaxBytes != 0 {
			r = http.MaxBytesReader(httptest.NewRecorder(), r, fuzzMaxBody/2)
		}
		req.Body, req.ContentLength = r, size
		req.Header[http.CanonicalHeaderKey(DefaultVendorHeader)] = []string{vendorHeader}

		read, err := h.readRequestBody(httptest.NewRecorder(), req)
		defer read.release()
		var st *requestState
		if err == nil {
			if !bytes.Equal(read.buf, body) {
				t.Fatalf("readRequestBody returned %q, want %q", read.buf, body)
			}
			st, err = h.inspect(req, op, read.buf, time.Now())
		}
		if err != nil {
			fuzzCheckRefusal(t, err)
			return
		}
		fuzzCheckState(t, h, req, op, body, st)
	})
}

// fuzzCheckRefusal checks a refused request: a *clientError with a client
// status, rendered as {"error":{"message","type","param","code"}}.
func fuzzCheckRefusal(t *testing.T, err error) {
	t.Helper()
	var ce *clientError
	if !errors.As(err, &ce) {
		t.Fatalf("refusal is not a *clientError: %T %v", err, err)
	}
	switch ce.status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusRequestTimeout, http.StatusRequestEntityTooLarge:
	default:
		t.Fatalf("refusal with status %d: %v", ce.status, ce)
	}
	rec := httptest.NewRecorder()
	if err := openaiSurface.writeError(rec, ce.status, ce.errType, ce.code, ce.param, ce.message); err != nil {
		t.Fatal(err)
	}
	if rec.Code != ce.status {
		t.Fatalf("written status %d, want %d", rec.Code, ce.status)
	}
	var out map[string]map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out) != 1 {
		t.Fatalf("error body is not {\"error\":{...}}: %v %s", err, rec.Body)
	}
	e, ok := out["error"]
	if !ok || len(e) != 4 {
		t.Fatalf("error object has not exactly message, type, param and code: %s", rec.Body)
	}
	for _, k := range []string{"message", "type"} {
		if s, ok := e[k].(string); !ok || s == "" {
			t.Fatalf("error.%s is not a non-empty string: %s", k, rec.Body)
		}
	}
	for _, k := range []string{"param", "code"} {
		v, ok := e[k]
		if !ok {
			t.Fatalf("error.%s is missing: %s", k, rec.Body)
		}
		if _, isString := v.(string); v != nil && !isString {
			t.Fatalf("error.%s is neither a string nor null: %s", k, rec.Body)
		}
	}
	if ce.status == http.StatusRequestTimeout && ce.code != codeBodyTimeout {
		t.Fatalf("a 408 with code %q", ce.code)
	}
}

// fuzzCheckState checks an accepted request: a served model, ranked routes
// that can take it (only the pinned vendor's when one is pinned), a body
// without "routing" that is the client's own when it had none, and a first
// attempt whose vendor gets the routed model.
func fuzzCheckState(t *testing.T, h *LLMRouter, req *http.Request, op operation, body []byte, st *requestState) {
	t.Helper()
	all, ok := h.table.byModel[st.plan.model]
	if !ok || len(st.plan.ranked) == 0 || len(st.plan.ranked) > len(all) {
		t.Fatalf("accepted model %q with %d ranked routes (%d configured)", st.plan.model, len(st.plan.ranked), len(all))
	}
	if got := gjson.GetBytes(body, "model"); got.Str != st.plan.model {
		t.Fatalf("state model %q, body model %q", st.plan.model, got.Str)
	}
	pin := strings.TrimSpace(req.Header.Get(h.VendorHeader))
	pinned, isPinned := h.table.vendor(pin)
	seen := make(map[*route]bool)
	for _, rt := range st.plan.ranked {
		if seen[rt] {
			t.Fatalf("route %s ranked twice", rt.vendor.ID())
		}
		seen[rt] = true
		if rt.model != st.plan.model || !rt.vendor.Supports(st.plan.endpoint) {
			t.Fatalf("route %s/%s cannot serve %q on /%s", rt.vendor.ID(), rt.model, st.plan.model, st.plan.endpoint)
		}
		if isPinned && rt.vendor != pinned {
			t.Fatalf("pinned to %q but ranked %s", pin, rt.vendor.ID())
		}
	}
	if !isPinned && pin != "" && !strings.EqualFold(pin, autoVendor) {
		t.Fatalf("unknown vendor header %q accepted", pin)
	}
	if st.plan.endpoint != op.endpoint() {
		t.Fatalf("endpoint %v for operation %v", st.plan.endpoint, op)
	}
	if !gjson.ValidBytes(st.plan.body) || gjson.GetBytes(st.plan.body, "routing").Exists() {
		t.Fatalf("forwarded body is not valid JSON or still has routing: %s", st.plan.body)
	}
	if !gjson.GetBytes(body, "routing").Exists() && !bytes.Equal(st.plan.body, body) {
		t.Fatalf("a body without routing was changed:\n%s\n%s", body, st.plan.body)
	}
	if st.plan.promptTokens < 0 || st.plan.bucket < 0 {
		t.Fatalf("negative prompt estimate %d (bucket %d)", st.plan.promptTokens, st.plan.bucket)
	}
	fuzzCheckDecoded(t, st.plan.body, "forwarded body", "")

	// The first attempt, as the transport (attemptTransport.RoundTrip)
	// shapes it.
	rt := st.plan.ranked[0]
	out := h.attemptRequest(req.Context(), req)
	tr, err := rt.vendor.Translator(vendors.Attempt{Endpoint: st.plan.endpoint, Model: rt.vendorModel, Body: st.plan.body,
		Stream: st.plan.stream, Layout: st.plan.layout})
	if err == nil {
		err = tr.Request(out)
		tr.Release()
	}
	native := fuzzNativeKinds[rt.vendor.Kind()]
	if err != nil {
		if !native {
			t.Fatalf("%s (OpenAI-compatible) refused the request: %v", rt.vendor.ID(), err)
		}
		return // something the native API cannot express: the request fails over
	}
	if out.Header.Get(h.VendorHeader) != "" {
		t.Fatalf("the vendor header reaches %s", rt.vendor.ID())
	}
	sent, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !native {
		fuzzCheckDecoded(t, sent, "body sent to "+rt.vendor.ID(), rt.vendorModel)
	}
}

// fuzzNativeKinds are the kinds of fuzzRouter's vendors that translate
// requests into an API of their own, and may refuse what it cannot express.
var fuzzNativeKinds = map[string]bool{"anthropic": true, "aws": true, "google": true}

// fuzzCheckDecoded checks body as a vendor's JSON decoder sees it (the last
// of duplicate keys wins, escapes are decoded): no "routing", and "model" is
// model when model is not "". A body encoding/json cannot decode is left
// alone: the vendor refuses it, and that 400 goes back to the client.
func fuzzCheckDecoded(t *testing.T, body []byte, what, model string) {
	t.Helper()
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return
	}
	if _, ok := fields["routing"]; ok {
		t.Fatalf("%s still has routing for a JSON decoder: %s", what, body)
	}
	if model == "" {
		return
	}
	var got string
	if json.Unmarshal(fields["model"], &got) != nil || got != model {
		t.Fatalf("%s has model %s for a JSON decoder, want %q: %s", what, fields["model"], model, body)
	}
}

// FuzzCaddyfile parses arbitrary text as the block of an llm_router
// directive. It must never panic, and a block it accepts must survive the
// trip through Caddy's JSON config (what the Caddyfile adapter produces)
// unchanged. Vendors it accepts are then validated as Provision does (no
// panic; errors are fine).
//
// The text is tokenized with caddyfile.Tokenize rather than
// caddyfile.NewTestDispenser, which calls log.Fatalf on a lexer error (an
// unterminated quote) and substitutes environment variables.
func FuzzCaddyfile(f *testing.F) {
	seeds := []string{
		"routing price\nvendor_header X-Vendor\nmax_request_body 1MiB\nttft_timeout 30s\nretries 2\npath_prefix /api\nledger_key {http.request.header.X-Team}",
		"half_life 10m\nexploration 5%\nstale_after 1h\nfailure_threshold 4\ncooldown 2s 1m\nquota_cooldown 2h",
		"exploration 0\nretries 0\npath_prefix \"\"",
		"vendor openai {\n\tapi_key {env.OPENAI_API_KEY}\n\tmodel gpt-4o input 2.50 output 10.00 cached_input 1.25\n}",
		"vendor azure-eu azure {\n\tbase_url https://res.openai.azure.com\n\tapi_key k\n\tapi_version 2024-10-21\n\theader X-A \"b c\"\n\tmodel gpt-4o as deploy input 2.5\n}",
		"vendor bedrock aws {\n\tregion us-east-1\n\taccess_key_id AKIA\n\tsecret_access_key s\n\tsession_token t\n\tmax_tokens 1024\n\tmodel claude as us.anthropic.claude:0\n}",
		"vendor gcp vertex {\n\tproject p\n\tregion global\n\tcredentials_file /nonexistent\n\tmodel gemini-2.5-pro\n}",
		"vendor google {\n\tapi openai\n\tapi_key k\n\tmodel gemini-2.5-flash\n}\nvendor anthropic {\n\tapi_key k\n}",
		"vendor x {\n\tmodel\n}",
		"vendor a b c",
		"cooldown 1s 2s 3s",
		"max_request_body 0",
		"exploration 150%",
		"unknown_option 1",
		"vendor v openai_compatible {\n\tbase_url http://127.0.0.1:1/v1\n\tmodel m input -1 output 1e9\n\t}",
		"}\n}",
		"vendor { {",
		"`raw` \"quoted\\\"\" <<EOF\nheredoc\nEOF",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			// encoding/json replaces invalid UTF-8 with U+FFFD: not a
			// round trip, for every Caddy module alike.
			t.Skip()
		}
		tokens, err := caddyfile.Tokenize([]byte("llm_router {\n"+text+"\n}\n"), "Caddyfile")
		if err != nil {
			return
		}
		var h LLMRouter
		if err := h.UnmarshalCaddyfile(caddyfile.NewDispenser(tokens)); err != nil {
			return
		}
		js, err := json.Marshal(&h)
		if err != nil {
			t.Fatalf("an accepted block does not encode as JSON: %v\n%#v", err, h)
		}
		var back LLMRouter
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatalf("the JSON of an accepted block does not decode: %v\n%s", err, js)
		}
		if !reflect.DeepEqual(h, back) {
			t.Fatalf("JSON round trip changed the config:\n%#v\n%#v\n%s", h, back, js)
		}

		// Provision's validation of the vendors, without what reads files
		// (credentials files, {file.*} placeholders, vertex's default
		// credentials).
		cfgs := make([]VendorConfig, 0, len(h.Vendors))
		for _, vc := range h.Vendors {
			if vc.Kind == "vertex" || vc.Kind == "" && vc.ID == "vertex" {
				continue
			}
			vc.CredentialsFile = ""
			cfgs = append(cfgs, vc)
		}
		_, _ = buildRouteTable(cfgs, caddy.NewEmptyReplacer(), selector.NewMemoryStore())
	})
}
