package vendors

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// geminiUpdate rewrites the golden files under testdata/google from the
// current output: go test ./vendors -run Gemini -gemini.update
var geminiUpdate = flag.Bool("gemini.update", false, "rewrite testdata/google golden files")

// geminiGolden compares got with the golden file (JSON-equal), or rewrites it.
func geminiGoldenJSON(t *testing.T, path string, got []byte) {
	t.Helper()
	if *geminiUpdate {
		var v any
		require.NoError(t, json.Unmarshal(got, &v))
		pretty, err := json.MarshalIndent(v, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, append(pretty, '\n'), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got), path)
}

// geminiRequestCases are the request golden files: <name>.openai.json in,
// <name>.gemini.json out.
func geminiRequestCases(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/google/requests/*.openai.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".openai.json"))
	}
	return names
}

func TestGeminiRequestGolden(t *testing.T) {
	for _, name := range geminiRequestCases(t) {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile("testdata/google/requests/" + name + ".openai.json")
			require.NoError(t, err)
			got, err := geminiAttemptBody(Attempt{Endpoint: ChatCompletions, Model: "m", Body: in})
			require.NoError(t, err)
			require.True(t, gjson.ValidBytes(got))
			assert.False(t, gjson.GetBytes(got, "model").Exists(), "the model belongs in the URL")
			assert.NotContains(t, string(got), `\u003c`, "no HTML escaping")
			geminiGoldenJSON(t, "testdata/google/requests/"+name+".gemini.json", got)
		})
	}
}

// geminiBodyOf translates an OpenAI body given as a string.
func geminiBodyOf(t *testing.T, body string) (string, error) {
	t.Helper()
	r, err := parseChatRequest([]byte(body))
	require.NoError(t, err)
	out, err := geminiBody(r, geminiExtras{})
	return string(out), err
}

func TestGeminiRequestBody(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"minimal", `{"messages":[{"role":"user","content":"hi"}]}`,
			`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`},
		{"no messages", `{"messages":[]}`, `{"contents":[]}`},
		{"only system", `{"messages":[{"role":"system","content":"be nice"}]}`,
			`{"contents":[],"systemInstruction":{"parts":[{"text":"be nice"}]}}`},
		{"empty assistant dropped, users merged", `{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":""},{"role":"user","content":"b"}]}`,
			`{"contents":[{"role":"user","parts":[{"text":"a"},{"text":"b"}]}]}`},
		{"stop array", `{"messages":[{"role":"user","content":"x"}],"stop":["a","b"]}`,
			`{"contents":[{"role":"user","parts":[{"text":"x"}]}],"generationConfig":{"stopSequences":["a","b"]}}`},
		{"max_tokens", `{"messages":[{"role":"user","content":"x"}],"max_tokens":5,"n":1}`,
			`{"contents":[{"role":"user","parts":[{"text":"x"}]}],"generationConfig":{"maxOutputTokens":5}}`},
		{"temperature zero kept", `{"messages":[{"role":"user","content":"x"}],"temperature":0}`,
			`{"contents":[{"role":"user","parts":[{"text":"x"}]}],"generationConfig":{"temperature":0}}`},
		{"tool_choice auto", `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"auto"}`,
			`{"contents":[{"role":"user","parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"f"}]}],"toolConfig":{"functionCallingConfig":{"mode":"AUTO"}}}`},
		{"tool_choice none", `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none"}`,
			`{"contents":[{"role":"user","parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"f"}]}],"toolConfig":{"functionCallingConfig":{"mode":"NONE"}}}`},
		{"tool_choice without tools dropped", `{"messages":[{"role":"user","content":"x"}],"tool_choice":"required"}`,
			`{"contents":[{"role":"user","parts":[{"text":"x"}]}]}`},
		{"legacy function role", `{"messages":[{"role":"user","content":"x"},{"role":"function","name":"f","content":"{\"ok\":true}"}]}`,
			`{"contents":[{"role":"user","parts":[{"text":"x"},{"functionResponse":{"name":"f","response":{"ok":true}}}]}]}`},
		{"tool name from message when id unknown", `{"messages":[{"role":"tool","tool_call_id":"zzz","name":"f","content":"r"}]}`,
			`{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"content":"r"}}}]}]}`},
		{"response_format text ignored", `{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"text"}}`,
			`{"contents":[{"role":"user","parts":[{"text":"x"}]}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := parseChatRequest([]byte(c.in))
			require.NoError(t, err)
			got, err := geminiBody(r, geminiExtrasOf([]byte(c.in)))
			require.NoError(t, err)
			assert.JSONEq(t, c.want, string(got))
		})
	}
}

func TestGeminiRequestBodyErrors(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"n>1", `{"messages":[{"role":"user","content":"x"}],"n":2}`, "n > 1"},
		{"unknown role", `{"messages":[{"role":"robot","content":"x"}]}`, `messages[0].role "robot"`},
		{"tool without a call", `{"messages":[{"role":"user","content":"x"},{"role":"tool","tool_call_id":"call_1","content":"r"}]}`, `tool_call_id "call_1"`},
		{"non-base64 data URL", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:text/plain,hello"}}]}]}`, "messages[0].content: image_url data URLs must be base64"},
		{"ftp image", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}`, "http(s) URL"},
		{"nameless tool", `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"description":"d"}}]}`, "tools[0].function.name"},
		{"parameters not an object", `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":[1]}}]}`, "tools[0].function.parameters: must be a JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := geminiBodyOf(t, c.in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	_, err := geminiAttemptBody(Attempt{Body: []byte(`{"messages":"nope"}`)})
	require.Error(t, err)
}

func TestGeminiCallIDRoundTrip(t *testing.T) {
	id := geminiCallID("", "c2ln+/=")
	base, sig := geminiSplitCallID(id)
	assert.Regexp(t, `^call_[0-9a-f]{24}$`, base)
	assert.Equal(t, "c2ln+/=", sig)

	assert.Equal(t, "fc-1", geminiCallID("fc-1", ""))
	base, sig = geminiSplitCallID("call_plain")
	assert.Equal(t, "call_plain", base)
	assert.Empty(t, sig)
	assert.NotEqual(t, geminiNewCallID(), geminiNewCallID())
}

func BenchmarkGeminiRequest(b *testing.B) {
	in, err := os.ReadFile("testdata/google/requests/history.openai.json")
	if err != nil {
		b.Fatal(err)
	}
	tools, err := os.ReadFile("testdata/google/requests/tools.openai.json")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		body []byte
	}{{"history", in}, {"tools", tools}} {
		b.Run(c.name, func(b *testing.B) {
			a := Attempt{Endpoint: ChatCompletions, Model: "gemini-2.5-flash", Body: c.body}
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := geminiAttemptBody(a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
