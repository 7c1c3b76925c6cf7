package vendors

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/meter"
)

// The Messages request decoder never panics, and what it accepts is a chat
// completions request: a JSON object with a messages array.
func FuzzMessagesChatRequest(f *testing.F) {
	f.Add([]byte(messagesTestBody))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"x","content":[{"type":"text","text":"a"}]}]}],"tools":[{"name":"f","input_schema":{}}],"tool_choice":{"type":"tool","name":"f"}}`))
	f.Add([]byte(`{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":[[[[1]]]]}]}]}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"x"}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := messagesChatRequest(body, "m", true, true)
		if err != nil {
			return
		}
		if !gjson.ValidBytes(out) || !gjson.GetBytes(out, "messages").IsArray() {
			t.Fatalf("accepted %q into %q", body, out)
		}
	})
}

// The stream translator (chat chunks in, Messages events out) never panics,
// writes only whole events whose name is their data's type, and does not
// depend on how its input is cut.
func FuzzMessagesEvents(f *testing.F) {
	f.Add([]byte(chatTestStream(`{"role":"assistant","content":""}`, `{"reasoning_content":"Hmm"}`, `{"content":"Hi"}`,
		`{"tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"a","arguments":"{}"}}]}`)), 7, true)
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":3,\"function\":{\"arguments\":\"x\"}}]}}]}\n\ndata: [DONE]\n\n"), 1, false)
	f.Fuzz(func(t *testing.T, chat []byte, cut int, thinking bool) {
		run := func(step int) string {
			m := newMessagesEvents("m", 1, thinking)
			var out []byte
			for i := 0; i < len(chat); i += step {
				out = m.Feed(out, chat[i:min(i+step, len(chat))])
			}
			return string(m.Finish(out, billing.Usage{CompletionTokens: 1}, nil))
		}
		whole := run(max(len(chat), 1))
		if cut = cut%16 + 1; cut < 1 {
			cut = 1
		}
		if cut < len(chat) && normalizeIDs(run(cut)) != normalizeIDs(whole) {
			t.Fatalf("cut at %d changes the output", cut)
		}
		for _, ev := range strings.Split(strings.TrimSuffix(whole, "\n\n"), "\n\n") {
			name, data, ok := strings.Cut(ev, "\ndata: ")
			if !ok || strings.Contains(data, "\n") || !gjson.Valid(data) ||
				strings.TrimPrefix(name, "event: ") != gjson.Get(data, "type").String() {
				t.Fatalf("bad event %q", ev)
			}
		}
	})
}

// The passthrough's stream meter never panics on any Anthropic stream, cut
// anywhere, and a stream it reports done went through message_stop.
func FuzzMessagesStream(f *testing.F) {
	f.Add([]byte(messagesTestStream), 5)
	f.Add([]byte("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n"), 1)
	f.Fuzz(func(t *testing.T, stream []byte, cut int) {
		s := newMessagesStream(3, false)
		step := cut%32 + 1
		if step < 1 {
			step = 1
		}
		var out strings.Builder
		for i := 0; i < len(stream); i += step {
			if s.Feed(stream[i:min(i+step, len(stream))], i+step >= len(stream)) != nil {
				return
			}
			out.Write(s.Output())
		}
		if s.Done() && !strings.Contains(out.String(), "message_stop") {
			t.Fatalf("done without message_stop: %q", out.String())
		}
		var e *meter.VendorError = s.Err()
		if e != nil && e.Type == "" {
			t.Fatalf("an error without a type")
		}
		_ = s.Usage()
	})
}
