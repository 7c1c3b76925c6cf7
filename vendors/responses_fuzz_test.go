package vendors

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
	"github.com/caddy-llm/llmrouter/internal/meter"
)

// FuzzResponsesRequest: the bridge's request decoder takes any body without
// panicking, and what it accepts is a valid chat completions body.
func FuzzResponsesRequest(f *testing.F) {
	f.Add(`{"model":"m","input":"hi","stream":true}`)
	f.Add(`{"instructions":"I","input":[{"role":"developer","content":[{"type":"input_text","text":"x"}]},{"type":"function_call","call_id":"c","namespace":"n","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"o"}]}],"tools":[{"type":"namespace","name":"n","tools":[{"type":"function","name":"f"}]},{"type":"web_search"}],"tool_choice":{"type":"function","name":"f"},"text":{"format":{"type":"json_schema","schema":{}}},"reasoning":{"effort":"high"},"max_output_tokens":5,"temperature":1,"top_p":1,"parallel_tool_calls":true}`)
	f.Add(`{"input":[{"role":"user","content":[{"type":"input_image","image_url":"data:x"},{"type":"input_file","file_data":"d","filename":"f"}]}],"tool_choice":{"type":"allowed_tools","mode":"required"}}`)
	f.Add(`{"input":[{"role":"assistant","content":[{"type":"refusal","refusal":"no"}]},{"type":"function_call","call_id":"a"}]}`)
	v, _ := New(Config{ID: "fuzz", Kind: "mistral", APIKey: "k"})
	f.Fuzz(func(t *testing.T, body string) {
		a := Attempt{Endpoint: Responses, Model: "m", Body: []byte(body), Stream: strings.Contains(body, "stream")}
		b := newResponsesBridge(v, a).(*responsesBridge)
		chat, err := b.ChatRequest(a)
		if err != nil {
			return
		}
		if !jsonwalk.Valid(chat) {
			t.Fatalf("invalid chat body %s from %s", chat, body)
		}
		out, err := b.Answer([]byte(`{"choices":[{"message":{"content":"x"}}]}`), billing.Usage{})
		if err != nil || !jsonwalk.Valid(out) {
			t.Fatalf("invalid response %s (%v) for %s", out, err, body)
		}
	})
}

// fuzzCheckResponsesEvents checks a Responses stream's events: each a
// named event of valid JSON with the next sequence number.
func fuzzCheckResponsesEvents(t *testing.T, out string, native bool) {
	t.Helper()
	seq := int64(0)
	for _, ev := range strings.Split(strings.TrimSuffix(out, "\n\n"), "\n\n") {
		if ev == "" || strings.HasPrefix(ev, ":") {
			continue
		}
		name, data, ok := strings.Cut(ev, "\ndata: ")
		if !ok || !strings.HasPrefix(name, "event: ") || !gjson.Valid(data) {
			if native {
				continue // the vendor's own bytes, passed on as they came
			}
			t.Fatalf("malformed event %q in %q", ev, out)
		}
		if native {
			continue
		}
		if got := gjson.Get(data, "sequence_number").Int(); got != seq {
			t.Fatalf("sequence_number %d, want %d, in %q", got, seq, out)
		}
		seq++
	}
}

// FuzzResponsesStream: any chat stream, cut anywhere, becomes well-formed
// Responses events that end with one terminal event.
func FuzzResponsesStream(f *testing.F) {
	f.Add(chatStreamOf(
		`{"index":0,"delta":{"reasoning_content":"r"}}`,
		`{"index":0,"delta":{"content":"Hi"}}`,
		`{"index":0,"delta":{"refusal":"no"}}`,
		`{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{"}}]}}`,
		`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"}"}}]}}`,
		`{"index":0,"delta":{"tool_calls":[{"index":1,"id":"d","function":{"name":"g"}}]},"finish_reason":"length"}`), uint16(9), false)
	f.Add("data: {\"error\":{\"message\":\"x\"}}\n\n", uint16(1), true)
	f.Add("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\ndata: [DONE]", uint16(3), true)
	v, _ := New(Config{ID: "fuzz", Kind: "mistral", APIKey: "k"})
	f.Fuzz(func(t *testing.T, chat string, cut uint16, fail bool) {
		a := Attempt{Endpoint: Responses, Model: "m", Body: []byte(`{"input":"x","stream":true}`), Stream: true}
		b := newResponsesBridge(v, a).(*responsesBridge)
		if _, err := b.ChatRequest(a); err != nil {
			t.Fatal(err)
		}
		s := b.NewStream()
		at := min(int(cut), len(chat))
		out := s.Feed(nil, []byte(chat[:at]))
		out = s.Feed(out, []byte(chat[at:]))
		end := StreamEnd{Usage: billing.Usage{CompletionTokens: 1}}
		if fail {
			end.Failure = &meter.VendorError{Message: "m"}
		}
		out = s.Finish(out, end)
		fuzzCheckResponsesEvents(t, string(out), false)
	})
}

// FuzzResponsesNativeStream: the native translator reads any stream, cut
// anywhere, without panicking, and an interruption is a valid event.
func FuzzResponsesNativeStream(f *testing.F) {
	f.Add(nativeResponsesStream, uint16(40))
	f.Add("event: error\ndata: {\"type\":\"error\",\"message\":\"m\"}\n\n", uint16(5))
	f.Add("data: {\"type\":\"response.created\",\"response\":{\"id\":7}}\n\ndata: {\"response\":[]}\n\n", uint16(2))
	v, _ := New(Config{ID: "fuzz", Kind: "openai", APIKey: "k"})
	ids := NewResponseIDs([]byte("fuzz-key"))
	f.Fuzz(func(t *testing.T, stream string, cut uint16) {
		tr, err := v.Translator(Attempt{Endpoint: Responses, Model: "m", Stream: true, ResponseIDs: ids, Body: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		at := min(int(cut), len(stream))
		var out []byte
		_ = tr.Feed([]byte(stream[:at]), false)
		out = append(out, tr.Output()...)
		_ = tr.Feed([]byte(stream[at:]), true)
		out = append(out, tr.Output()...)
		tr.End()
		out = append(out, tr.Output()...)
		fuzzCheckResponsesEvents(t, string(out), true)
		tr.Interrupt("broken", "stream_interrupted")
		last := string(tr.Output())
		_, data, _ := strings.Cut(last, "\ndata: ")
		if !gjson.Valid(strings.TrimSpace(data)) {
			t.Fatalf("invalid response.failed %q", last)
		}
		_ = tr.Usage()
	})
}
