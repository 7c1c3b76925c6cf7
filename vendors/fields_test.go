package vendors

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
	"github.com/caddy-llm/llmrouter/selector"
)

// routerLayout is the layout the router hands the translations: the
// validator's, with NoToolCalls from the prompt estimate's walk of the
// messages (bodyfields.go).
func routerLayout(t testing.TB, body []byte) Layout {
	t.Helper()
	var l Layout
	var est selector.PromptEstimator
	open, err := jsonwalk.Object(body, func(m jsonwalk.Member) {
		l.Observe(m)
		est.Member(m.Name(), m.Value)
	})
	require.NoError(t, err)
	l.Known, l.Open, l.NoToolCalls = true, open, !est.ToolCalls()
	return l
}

// Every sanitizer gives the same body whether or not it has the router's
// layout to skip its searches with: for each kind, over bodies with and
// without the fields each one renames, drops or keeps, with tool call ids
// to rewrite or not, spelled plainly or with escapes, and duplicated.
func TestSanitizersWithLayoutMatchSearches(t *testing.T) {
	long := "call_" + strings.Repeat("x", 60)
	call := `{"role":"assistant","tool_calls":[{"id":"` + long + `","type":"function","function":{"name":"f","arguments":"{}"}}]}`
	bodies := []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"user","content":"mentions \"tool_call_id\" and \"tool_calls\" in text"}],"temperature":0.2}`,
		`{"model":"m","seed":7,"max_completion_tokens":30,"user":"u","store":true,"metadata":{"a":"b"},"service_tier":"flex",` +
			`"presence_penalty":0.1,"frequency_penalty":0.2,"stop":["x"],"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","top_k":5,"messages":[{"role":"user","content":"hi"}],"safe_prompt":true}`,
		`{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","max_tokens":9,"n":1,"tools":[],"tool_choice":"auto","messages":[` +
			`{"role":"assistant","tool_calls":[{"id":"` + long + `","type":"function","function":{"name":"f","arguments":"{}"}}]},` +
			`{"role":"tool","tool_call_id":"` + long + `","content":"x"}]}`,
		`{"model":"m","messages":[` + call + `,{"role":"tool","tool_call_id":"` + long + `","content":"x"}]}`,
		`{"model":"m","messages":[` + call + `,{"role":"tool","tool_call\u005fid":"` + long + `","content":"x"}]}`,
		`{"model":"m","messages":[{"role":"assistant","tool_call\u0073":[{"id":"` + long + `","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`,
		`{"model":"m","user":"a","user":"b","messages":[],"messages":[` + call + `,{"role":"tool","tool_call_id":"` + long + `","content":"x"}]}`,
		`{"model":"m","st\u006fre":true,"us\u0065r":"u","m\u0065ssages":[` + call + `,{"role":"tool","tool_call_id":"` + long + `","content":"x"}]}`,
		`{"model":"m","random_seed":1,"prediction":{},"parallel_tool_calls":true,"prompt_mode":"reasoning","response_format":{"type":"text"},"top_p":1,"messages":[]}`,
	}
	kinds := []string{"openai", "azure", "openai_compatible", "mistral", "deepseek", "x", "volcengine", "google"}
	for _, body := range bodies {
		for _, kind := range kinds {
			for _, stream := range []bool{false, true} {
				for _, capAdded := range []bool{false, true} {
					a := Attempt{Endpoint: ChatCompletions, Model: "grok-4", Body: []byte(body), Stream: stream, TokenCapAdded: capAdded}
					searched := preparedAttempt(t, kind, a)
					a.Layout = routerLayout(t, a.Body)
					skipped := preparedAttempt(t, kind, a)
					assert.JSONEq(t, string(searched), string(skipped), "%s (stream %v, cap %v): %s", kind, stream, capAdded, body)
				}
			}
		}
	}
}

// The sanitizers trust the layout: a field it says is absent is not looked
// for, and ids are not looked for when it says no message has tool calls.
// (The router's layout comes from the pass that validated the very body.)
func TestSanitizersTrustTheLayout(t *testing.T) {
	body := []byte(`{"model":"m","messages":[{"role":"tool","tool_call_id":"` + strings.Repeat("i", 50) + `"}]}`)
	l := routerLayout(t, body)
	assert.False(t, l.NoToolCalls, "the estimate saw the tool call id")
	assert.True(t, mayHave(Attempt{Layout: l}, "messages"))
	assert.False(t, mayHave(Attempt{Layout: l}, "store"), "a noted name that is absent")
	assert.True(t, mayHave(Attempt{Layout: l}, "top_k"), "a name the set does not note may be there")
	assert.True(t, mayHave(Attempt{}, "store"), "without a layout, anything may be there")

	withStore := []byte(`{"store":true,"model":"m","messages":[]}`)
	got, err := dropOpenAIOnly(withStore, Attempt{Layout: routerLayout(t, []byte(`{"model":"m","messages":[]}`))})
	require.NoError(t, err)
	assert.True(t, gjson.GetBytes(got, "store").Exists(), "not searched for: the layout said it was absent")

	l.NoToolCalls = true
	got, err = sanitizeOpenAI(body, Attempt{Layout: l})
	require.NoError(t, err)
	assert.Equal(t, body, got, "ids not searched for")
}

// Every name a sanitizer renames, drops or keeps is one the layout notes,
// so that none is searched for in vain.
func TestSanitizedNamesAreNoted(t *testing.T) {
	names := append([]string{"seed", "random_seed", "max_completion_tokens", "max_tokens",
		"presence_penalty", "frequency_penalty", "stop", "model", "stream_options"}, openAIOnlyFields...)
	for name := range mistralFields {
		names = append(names, name)
	}
	for _, name := range names {
		assert.NotZero(t, fieldOf(name), name)
	}
	assert.Panics(t, func() { fieldsNamed("top_k") })
}

// Appended notes a member added at the end, as the router's token cap is.
func TestLayoutAppended(t *testing.T) {
	body := []byte(`{"model":"m","messages":[]}`)
	l := routerLayout(t, body)
	assert.False(t, mayHave(Attempt{Layout: l}, "max_completion_tokens"))
	l.Appended("max_completion_tokens")
	assert.Equal(t, 3, l.Members)
	assert.True(t, mayHave(Attempt{Layout: l}, "max_completion_tokens"))
	assert.True(t, hasOnly(Attempt{Layout: l}, fieldsNamed("model", "messages", "max_completion_tokens")))
	l.Appended("max_output_tokens") // not a noted name
	assert.False(t, hasOnly(Attempt{Layout: l}, fieldsNamed("model", "messages", "max_completion_tokens")))
}

// BenchmarkSanitize32KiB is each sanitizer on a 32 KiB chat body without
// any of the fields it looks for, as a search ("searched": a body the
// router did not validate) and with the router's layout.
func BenchmarkSanitize32KiB(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"model":"gpt-4o","stream":false,"max_tokens":64,"messages":[`)
	for i := 0; sb.Len() < 32<<10; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		text, _ := json.Marshal(strings.Repeat("In the review the team walked through last quarter's incidents. ", 28))
		sb.WriteString(`{"role":"user","content":` + string(text) + `}`)
	}
	sb.WriteString(`]}`)
	body := []byte(sb.String())
	l := routerLayout(b, body)
	for _, s := range []struct {
		name     string
		sanitize func([]byte, Attempt) ([]byte, error)
	}{{"openai", sanitizeOpenAI}, {"non-openai", sanitizeNonOpenAI}, {"deepseek", sanitizeDeepSeek}, {"mistral", sanitizeMistral}} {
		for _, c := range []struct {
			name   string
			layout Layout
		}{{"searched", Layout{}}, {"layout", l}} {
			b.Run(s.name+"/"+c.name, func(b *testing.B) {
				a := Attempt{Body: body, Layout: c.layout}
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.sanitize(body, a); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
