package vendors

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/tidwall/gjson"
)

// Fuzz targets for everything that reads what a native vendor sends back:
// the stream decoders, the completion translators and TranslateError. None
// may panic, and whatever they hand the router must be what an OpenAI client
// can parse.

// fuzzDecode runs data through a fresh decoder in two feeds, cut at cut
// (clamped), then end, and returns the rendered SSE and the first error.
// The chunkWriter is fixed (id, created) so that runs can be compared.
func fuzzDecode(dec streamDecoder, data []byte, cut int) (string, error) {
	w := &chunkWriter{id: "chatcmpl-fuzz", model: "fuzz-model", created: 1700000000}
	cut = min(max(cut, 0), len(data))
	var out bytes.Buffer
	for _, part := range [][]byte{data[:cut], data[cut:]} {
		if len(part) == 0 {
			continue
		}
		// A scratch copy, clobbered after feed: the decoder must not keep
		// the caller's buffer (the transport reuses its read buffer).
		buf := append([]byte(nil), part...)
		err := dec.feed(buf, w)
		for i := range buf {
			buf[i] = 'X'
		}
		out.Write(w.take())
		if err != nil {
			return out.String(), err
		}
	}
	err := dec.end(w)
	out.Write(w.take())
	return out.String(), err
}

// fuzzCheckSSE checks rendered OpenAI SSE: "data: <one line>" events, each
// a chunk object or an error object, [DONE] only last and never after an
// error event.
func fuzzCheckSSE(t *testing.T, out string) {
	t.Helper()
	if out == "" {
		return
	}
	if !strings.HasSuffix(out, "\n\n") {
		t.Fatalf("output does not end with an event boundary: %q", out)
	}
	events := strings.Split(strings.TrimSuffix(out, "\n\n"), "\n\n")
	sawError := false
	for i, ev := range events {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.ContainsAny(data, "\r\n") {
			t.Fatalf("event %d is not one data line: %q", i, ev)
		}
		if data == "[DONE]" {
			if i != len(events)-1 || sawError {
				t.Fatalf("[DONE] is not the last event, or follows an error event: %q", out)
			}
			continue
		}
		if !json.Valid([]byte(data)) {
			t.Fatalf("event %d is not valid JSON: %q", i, data)
		}
		root := gjson.Parse(data)
		if !root.IsObject() {
			t.Fatalf("event %d is not an object: %q", i, data)
		}
		if e := root.Get("error"); e.Exists() {
			if !e.IsObject() || e.Get("message").Type != gjson.String || e.Get("type").Type != gjson.String {
				t.Fatalf("error event without message and type strings: %q", data)
			}
			sawError = true
			continue
		}
		if sawError {
			t.Fatalf("a chunk after an error event: %q", out)
		}
		if root.Get("object").Str != "chat.completion.chunk" || !root.Get("choices").IsArray() ||
			root.Get("id").Type != gjson.String || root.Get("model").Type != gjson.String {
			t.Fatalf("event %d is not a chat.completion.chunk: %q", i, data)
		}
		for _, c := range root.Get("choices").Array() {
			if !c.Get("delta").IsObject() || c.Get("index").Type != gjson.Number {
				t.Fatalf("a choice without index or delta: %q", data)
			}
			for _, tc := range c.Get("delta.tool_calls").Array() {
				if tc.Get("index").Type != gjson.Number || tc.Get("function.arguments").Type != gjson.String {
					t.Fatalf("a tool call delta without index or arguments: %q", data)
				}
			}
		}
	}
}

// fuzzCallID matches the tool call ids the Gemini decoders make up (random).
var fuzzCallID = regexp.MustCompile(`"call_[0-9a-f]{24}`)

// fuzzDecodeStable is fuzzDecode with made-up tool call ids masked.
func fuzzDecodeStable(dec streamDecoder, data []byte, cut int) (string, error) {
	out, err := fuzzDecode(dec, data, cut)
	return fuzzCallID.ReplaceAllLiteralString(out, `"call_RANDOM`), err
}

// fuzzStream checks one decoder kind on data: the properties of
// fuzzCheckSSE, and the same output and outcome however data is cut.
func fuzzStream(t *testing.T, newDec func() streamDecoder, data []byte, cut uint16) {
	t.Helper()
	whole, errWhole := fuzzDecodeStable(newDec(), data, len(data))
	fuzzCheckSSE(t, whole)
	split, errSplit := fuzzDecodeStable(newDec(), data, int(cut))
	if split != whole || (errWhole == nil) != (errSplit == nil) {
		t.Fatalf("the cut at %d changes the outcome:\nwhole %q (%v)\nsplit %q (%v)", cut, whole, errWhole, split, errSplit)
	}
	// The same through the translators' answer (decoder, then meter), as
	// the transport reads it; the client asked for usage, so the meter
	// passes every event on.
	n := &nativeAnswer{a: Attempt{ClientWantsUsage: true}, dec: newDec(),
		w: chunkWriter{id: "chatcmpl-fuzz", model: "fuzz-model", created: 1700000000}}
	defer n.Release()
	ts := &translatedStream{src: io.NopCloser(&fuzzTwoReads{data: data, cut: int(cut)}), tr: n}
	got, err := io.ReadAll(ts)
	got = fuzzCallID.ReplaceAllLiteral(got, []byte(`"call_RANDOM`))
	if (err == nil) != (errWhole == nil) || (err == nil && string(got) != whole) {
		t.Fatalf("the translated stream differs from feed/end:\n%q (%v)\n%q (%v)", got, err, whole, errWhole)
	}
}

// fuzzTwoReads hands out data in two reads, cut at cut.
type fuzzTwoReads struct {
	data []byte
	cut  int
}

func (r *fuzzTwoReads) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := len(r.data)
	if r.cut > 0 && r.cut < n {
		n = r.cut
	}
	r.cut = 0
	n = copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// fuzzSeedFiles returns the contents of the files matching pattern.
func fuzzSeedFiles(tb testing.TB, pattern string) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// fuzzAnthropicStream is a Messages stream with every event kind.
const fuzzAnthropicStream = "event: message_start\n" +
	`data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"usage":{"input_tokens":25,"cache_read_input_tokens":4,"output_tokens":1}}}` + "\n\n" +
	"event: ping\ndata: {\"type\": \"ping\"}\n\n" +
	`data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}` + "\n\n" +
	`data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}` + "\n\n" +
	`data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"abc"}}` + "\n\n" +
	`data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}` + "\n\n" +
	`data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hello \"you\"\n"}}` + "\n\n" +
	`data: {"type":"content_block_stop","index":1}` + "\n\n" +
	`data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}` + "\n\n" +
	`data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\":"}}` + "\n\n" +
	`data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"\"Paris\"}"}}` + "\n\n" +
	"event: message_delta\r\n" +
	`data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":15}}` + "\r\n\r\n" +
	"event: message_stop\rdata: {\"type\":\"message_stop\"}\r\r"

func FuzzAnthropicStream(f *testing.F) {
	f.Add([]byte(fuzzAnthropicStream), uint16(100))
	f.Add([]byte(fuzzAnthropicStream[:len(fuzzAnthropicStream)/2]), uint16(7))
	f.Add([]byte("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"), uint16(3))
	f.Add([]byte("data: {\"type\":\"content_block_delta\",\"index\":9,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"x\"}}\n\n"), uint16(0))
	f.Add([]byte("data: {\"type\":\"content_block_start\",\"index\":65536}\n\ndata: not json\n\n"), uint16(20))
	f.Add([]byte(": comment\ndata:{\"type\":\"message_stop\"}"), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		fuzzStream(t, func() streamDecoder { return newAnthropicStream("claude") }, data, cut)
		// Bedrock's InvokeModelWithResponseStream path: one event's JSON.
		d := anthropicEventDecoder()
		w := &chunkWriter{id: "chatcmpl-fuzz", model: "fuzz-model", created: 1700000000}
		var out bytes.Buffer
		if d.event(data, w) == nil && d.end(w) == nil {
			out.Write(w.take())
			fuzzCheckSSE(t, out.String())
		}
	})
}

// fuzzFrames encodes events as AWS event-stream frames, with the headers
// Bedrock sends. Each event is "message-type\x01event-type\x01payload".
func fuzzFrames(events ...string) []byte {
	enc := eventstream.NewEncoder()
	var buf bytes.Buffer
	for _, e := range events {
		parts := strings.SplitN(e, "\x01", 3)
		for len(parts) < 3 {
			parts = append(parts, "")
		}
		msgType, typ, payload := parts[0], parts[1], parts[2]
		var h eventstream.Headers
		switch msgType {
		case "exception":
			h.Set(":exception-type", eventstream.StringValue(typ))
		case "error":
			h.Set(":error-code", eventstream.StringValue(typ))
			h.Set(":error-message", eventstream.StringValue(payload))
		default:
			h.Set(":event-type", eventstream.StringValue(typ))
		}
		h.Set(":content-type", eventstream.StringValue("application/json"))
		h.Set(":message-type", eventstream.StringValue(msgType))
		if err := enc.Encode(&buf, eventstream.Message{Headers: h, Payload: []byte(payload)}); err != nil {
			panic(err)
		}
	}
	return buf.Bytes()
}

// fuzzBedrockEvents are ConverseStream events for fuzzFrames.
var fuzzBedrockEvents = []string{
	"event\x01messageStart\x01{\"role\":\"assistant\"}",
	"event\x01contentBlockDelta\x01{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"text\":\"hmm\"}}}",
	"event\x01contentBlockDelta\x01{\"contentBlockIndex\":1,\"delta\":{\"text\":\"Hello\"},\"p\":\"abc\"}",
	"event\x01contentBlockStart\x01{\"contentBlockIndex\":2,\"start\":{\"toolUse\":{\"name\":\"f\",\"toolUseId\":\"tooluse_1\"}}}",
	"event\x01contentBlockDelta\x01{\"contentBlockIndex\":2,\"delta\":{\"toolUse\":{\"input\":\"{\\\"a\\\":1}\"}}}",
	"event\x01contentBlockStop\x01{\"contentBlockIndex\":2}",
	"event\x01messageStop\x01{\"stopReason\":\"tool_use\"}",
	"event\x01metadata\x01{\"usage\":{\"inputTokens\":3,\"outputTokens\":4,\"cacheReadInputTokens\":1}}",
}

// FuzzBedrockStream feeds ConverseStream bodies to the decoder. framed
// inputs are lists of events (separated by NUL, see fuzzFrames) encoded
// with valid CRCs, so that the fuzzer reaches the event handling; others
// are raw bytes, for the framing itself.
func FuzzBedrockStream(f *testing.F) {
	f.Add([]byte(strings.Join(fuzzBedrockEvents, "\x00")), uint16(50), true)
	f.Add([]byte(strings.Join(append(fuzzBedrockEvents[:3:3], "exception\x01throttlingException\x01{\"message\":\"slow down\"}",
		fuzzBedrockEvents[3]), "\x00")), uint16(10), true)
	f.Add([]byte("event\x01metadata\x01{\"usage\":{}}\x00event\x01messageStop\x01{}\x00error\x01InternalFailure\x01boom"), uint16(1), true)
	f.Add(fuzzFrames(fuzzBedrockEvents...), uint16(13), false)
	f.Add(fuzzFrames(fuzzBedrockEvents[:4]...)[:200], uint16(100), false)
	f.Add([]byte("\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), uint16(4), false)
	f.Fuzz(func(t *testing.T, data []byte, cut uint16, framed bool) {
		if framed {
			if len(data) > 1<<16 {
				return
			}
			data = fuzzFrames(strings.Split(string(data), "\x00")...)
		}
		fuzzStream(t, func() streamDecoder { return newBedrockStream() }, data, cut)
	})
}

// fuzzGeminiStream is a streamGenerateContent?alt=sse body.
const fuzzGeminiStream = `data: {"candidates":[{"content":{"parts":[{"text":"Let me","thought":true},{"text":"Hi"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":5},"responseId":"resp_1"}` + "\r\n\r\n" +
	`data: {"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":[1,2]}},"thoughtSignature":"c2ln"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":7,"thoughtsTokenCount":2,"cachedContentTokenCount":1}}` + "\r\n\r\n"

func FuzzGeminiStream(f *testing.F) {
	f.Add([]byte(fuzzGeminiStream), uint16(40))
	f.Add([]byte(`data: [{"error":{"code":429,"message":"Resource exhausted","status":"RESOURCE_EXHAUSTED"}}]`+"\n\n"), uint16(5))
	f.Add([]byte(`data: {"promptFeedback":{"blockReason":"SAFETY"}}`+"\r"+`data: {"candidates":[{"index":1}]}`), uint16(9))
	f.Add([]byte("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}\ndata: \n\n: c\n\ndata: 1\n\n"), uint16(30))
	for _, s := range fuzzSeedFiles(f, "testdata/google/streams/*.sse") {
		f.Add(s, uint16(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		fuzzStream(t, func() streamDecoder { return newGeminiStream("gemini") }, data, cut)
	})
}

// fuzzNativeKinds are the native translators' completion translations, as
// their Answer calls them.
var fuzzNativeKinds = []struct {
	name       string
	completion func(model string, body []byte) ([]byte, error)
	model      string
}{
	{"anthropic", anthropicCompletion, "claude-sonnet-4-20250514"},
	{"aws", bedrockCompletion, "us.anthropic.claude-sonnet-4-20250514-v1:0"},
	{"google", geminiChatCompletion, "gemini-2.5-flash"},
	{"vertex gemini", geminiChatCompletion, "gemini-2.5-pro"},
	{"vertex claude", anthropicCompletion, "claude-sonnet-4@20250514"},
}

// FuzzNativeCompletions translates arbitrary non-streaming answers with
// every native kind. Success must be a chat.completion an OpenAI client
// parses: one assistant message, tool call arguments that are JSON text,
// a finish reason and a usage object.
func FuzzNativeCompletions(f *testing.F) {
	seeds := []string{
		`{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"thinking","thinking":"hm"},{"type":"text","text":"Hi"},{"type":"tool_use","id":"toolu_1","name":"f","input":{"a": [1, 2]}}],"stop_reason":"tool_use","usage":{"input_tokens":3,"cache_creation_input_tokens":2,"output_tokens":4}}`,
		`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
		`{"output":{"message":{"role":"assistant","content":[{"text":"Hi"},{"reasoningContent":{"reasoningText":{"text":"hm"}}},{"toolUse":{"toolUseId":"t1","name":"f","input":null}}]}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":2}}`,
		`{"candidates":[{"content":{"parts":[{"text":"Hi"},{"functionCall":{"id":"c1","name":"f","args":{"q":"x"}}}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":2},"responseId":"r1"}`,
		`{"promptFeedback":{"blockReason":"SAFETY"}}`,
		`{"type":"message","content":[{"type":"tool_use","input":1e999}]}`,
		`[]`,
		`"x"`,
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i))
	}
	for _, pattern := range []string{"testdata/aws/response_*.converse.json", "testdata/google/responses/*.gemini.json"} {
		for i, s := range fuzzSeedFiles(f, pattern) {
			f.Add(s, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, kindN uint8) {
		k := fuzzNativeKinds[int(kindN)%len(fuzzNativeKinds)]
		out, err := k.completion(k.model, body)
		if err != nil {
			return
		}
		fuzzCheckCompletion(t, k.name, out)
	})
}

// fuzzCheckCompletion checks a translated chat.completion.
func fuzzCheckCompletion(t *testing.T, kind string, out []byte) {
	t.Helper()
	var c struct {
		ID      *string `json:"id"`
		Object  string  `json:"object"`
		Created *int64  `json:"created"`
		Model   *string `json:"model"`
		Choices []struct {
			Index   int `json:"index"`
			Message *struct {
				Role      string  `json:"role"`
				Content   *string `json:"content"`
				ToolCalls []struct {
					ID       string `json:"id"`
					Type     string `json:"type"`
					Function struct {
						Name      string `json:"name"`
						Arguments string `json:"arguments"`
					} `json:"function"`
				} `json:"tool_calls"`
			} `json:"message"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *struct {
			PromptTokens     *int `json:"prompt_tokens"`
			CompletionTokens *int `json:"completion_tokens"`
			TotalTokens      *int `json:"total_tokens"`
		} `json:"usage"`
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s: the translation is not a JSON chat.completion: %v\n%s", kind, err, out)
	}
	if dec.More() {
		t.Fatalf("%s: trailing data after the completion: %s", kind, out)
	}
	switch {
	case c.ID == nil || c.Object != "chat.completion" || c.Created == nil || c.Model == nil:
		t.Fatalf("%s: id, object, created or model missing: %s", kind, out)
	case len(c.Choices) != 1 || c.Choices[0].Message == nil || c.Choices[0].Message.Role != "assistant":
		t.Fatalf("%s: not one assistant message: %s", kind, out)
	case c.Choices[0].FinishReason == nil || *c.Choices[0].FinishReason == "":
		t.Fatalf("%s: no finish_reason: %s", kind, out)
	case c.Usage == nil || c.Usage.PromptTokens == nil || c.Usage.CompletionTokens == nil || c.Usage.TotalTokens == nil:
		t.Fatalf("%s: usage incomplete: %s", kind, out)
	}
	msg := c.Choices[0].Message
	if msg.Content == nil && len(msg.ToolCalls) == 0 {
		t.Fatalf("%s: null content without tool calls: %s", kind, out)
	}
	for _, tc := range msg.ToolCalls {
		if tc.Type != "function" || !json.Valid([]byte(tc.Function.Arguments)) {
			t.Fatalf("%s: tool call arguments are not JSON text: %q\n%s", kind, tc.Function.Arguments, out)
		}
	}
}

// fuzzKey is every fuzz vendor's API key; error messages must not show it.
const fuzzKey = "sk-fuzz-key-0123456789"

// fuzzNativeVendors returns a vendor of each native kind.
func fuzzNativeVendors(tb testing.TB) []*Vendor {
	tb.Helper()
	vertex := vertexTestConfig(tb)
	var out []*Vendor
	for _, c := range []Config{
		{ID: "anthropic", Kind: "anthropic", APIKey: fuzzKey},
		{ID: "aws", Kind: "aws", APIKey: fuzzKey, Region: "us-east-1"},
		{ID: "google", Kind: "google", APIKey: fuzzKey},
		vertex,
	} {
		v, err := New(c)
		if err != nil {
			tb.Fatal(err)
		}
		if !v.Native() {
			tb.Fatalf("%s is not native", c.ID)
		}
		out = append(out, v)
	}
	return out
}

// FuzzTranslateError turns arbitrary error bodies of every native kind, at
// any error status, into OpenAI's error shape. The result must be a JSON
// object {"error":{"message","type","param":null,"code":null}} with a
// message that does not show the vendor's key.
func FuzzTranslateError(f *testing.F) {
	seeds := []string{
		`{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too large"}}`,
		`{"message":"The security token included in the request is invalid: ` + fuzzKey + `"}`,
		`{"__type":"com.amazon.coral.validate#ValidationException","message":"Malformed input"}`,
		`[{"error":{"code":400,"message":"API key not valid. key=` + fuzzKey + `","status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}}]`,
		`{"error":{"message":{"nested":true},"type":7}}`,
		`{"detail":[{"loc":["body","messages",0],"msg":"field required"}]}`,
		`{"error":"plain ` + strings.Repeat("é", 300) + `"}`,
		`<html>502 Bad Gateway</html>`,
		``,
	}
	for i, s := range seeds {
		f.Add(uint16(i*37), []byte(s), uint8(i))
	}
	vs := fuzzNativeVendors(f)
	f.Fuzz(func(t *testing.T, statusN uint16, body []byte, kindN uint8) {
		v := vs[int(kindN)%len(vs)]
		status := 400 + int(statusN)%200
		out := v.TranslateError(status, body)
		var e struct {
			Error *struct {
				Message *string `json:"message"`
				Type    *string `json:"type"`
			} `json:"error"`
		}
		if err := json.Unmarshal(out, &e); err != nil || e.Error == nil {
			t.Fatalf("%s %d: not a JSON error object: %v\n%s", v.Kind(), status, err, out)
		}
		switch {
		case e.Error.Message == nil:
			t.Fatalf("%s %d: no message: %s", v.Kind(), status, out)
		case *e.Error.Message == "":
			t.Fatalf("%s %d: empty message: %s", v.Kind(), status, out)
		case e.Error.Type == nil || *e.Error.Type == "":
			t.Fatalf("%s %d: no type: %s", v.Kind(), status, out)
		}
		if !bytes.Contains(out, []byte(`"param":null`)) || !bytes.Contains(out, []byte(`"code":null`)) {
			t.Fatalf("%s %d: param or code is not null: %s", v.Kind(), status, out)
		}
		if v.Kind() != "vertex" && strings.Contains(*e.Error.Message, fuzzKey) { // vertex has no API key
			t.Fatalf("%s %d: the message shows the key: %s", v.Kind(), status, out)
		}
		if len(*e.Error.Message) > maxMessageBytes {
			t.Fatalf("%s %d: message of %d bytes", v.Kind(), status, len(*e.Error.Message))
		}
	})
}
