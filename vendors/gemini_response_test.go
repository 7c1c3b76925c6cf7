package vendors

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

var (
	geminiCreatedRe = regexp.MustCompile(`"created":\d+`)
	geminiCallIDRe  = regexp.MustCompile(`call_[0-9a-f]{24}`)
	geminiChatIDRe  = regexp.MustCompile(`chatcmpl-[0-9a-z]+`)
)

// geminiNormalize replaces what changes from run to run (timestamps,
// synthesized ids) with fixed text.
func geminiNormalize(s string) string {
	s = geminiCreatedRe.ReplaceAllString(s, `"created":0`)
	s = geminiCallIDRe.ReplaceAllString(s, "call_RANDOM")
	return geminiChatIDRe.ReplaceAllString(s, "chatcmpl-GENERATED")
}

func TestGeminiCompletionGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/google/responses/*.gemini.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".gemini.json")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			require.NoError(t, err)
			got, err := geminiChatCompletion("gemini-x", in)
			require.NoError(t, err)
			require.True(t, gjson.ValidBytes(got), "%s", got)
			geminiGoldenJSON(t, "testdata/google/responses/"+name+".openai.json", []byte(geminiNormalize(string(got))))
		})
	}
}

func TestGeminiCompletion(t *testing.T) {
	in, err := os.ReadFile("testdata/google/responses/function_call.gemini.json")
	require.NoError(t, err)
	c, err := geminiCompletion("gemini-3-pro-preview", in)
	require.NoError(t, err)
	require.Len(t, c.ToolCalls, 3)
	// The signature rides on the id and comes back out of it.
	base, sig := geminiSplitCallID(c.ToolCalls[0].ID)
	assert.Regexp(t, `^call_[0-9a-f]{24}$`, base)
	assert.Equal(t, "CpcBAdHtim9/Paris+sig=", sig)
	assert.Equal(t, `{"city":"Paris","days":2}`, c.ToolCalls[0].Arguments)
	assert.Regexp(t, `^call_[0-9a-f]{24}$`, c.ToolCalls[1].ID)
	assert.NotEqual(t, base, c.ToolCalls[1].ID)
	assert.Equal(t, "fc-own-id", c.ToolCalls[2].ID)
	assert.Equal(t, "{}", c.ToolCalls[2].Arguments)
	assert.Equal(t, "tool_calls", c.FinishReason)
	assert.Equal(t, billing.Usage{PromptTokens: 55, CompletionTokens: 30}, c.Usage)

	// Replaying the answer as history restores the signature.
	history := `{"messages":[{"role":"user","content":"w?"},{"role":"assistant","tool_calls":[` +
		`{"id":` + string(gjson.AppendJSONString(nil, c.ToolCalls[0].ID)) + `,"type":"function","function":{"name":"get_weather","arguments":"{}"}}]}]}`
	body, err := geminiBodyOf(t, history)
	require.NoError(t, err)
	assert.Equal(t, "CpcBAdHtim9/Paris+sig=", gjson.Get(body, "contents.1.parts.0.thoughtSignature").String())

	for _, bad := range []string{`{"candidates":`, `[1]`, `"x"`} {
		_, err := geminiCompletion("m", []byte(bad))
		assert.Error(t, err, bad)
	}
}

func TestGeminiFinishReason(t *testing.T) {
	cases := []struct {
		in    string
		tools bool
		want  string
	}{
		{"", false, ""}, {"FINISH_REASON_UNSPECIFIED", false, ""},
		{"STOP", false, "stop"}, {"STOP", true, "tool_calls"},
		{"MAX_TOKENS", false, "length"}, {"MAX_TOKENS", true, "length"},
		{"SAFETY", false, "content_filter"}, {"RECITATION", false, "content_filter"},
		{"BLOCKLIST", false, "content_filter"}, {"PROHIBITED_CONTENT", false, "content_filter"},
		{"SPII", false, "content_filter"}, {"IMAGE_SAFETY", false, "content_filter"},
		{"MALFORMED_FUNCTION_CALL", false, "stop"}, {"OTHER", false, "stop"}, {"LANGUAGE", false, "stop"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, geminiFinishReason(c.in, c.tools), "%s tools=%v", c.in, c.tools)
	}
}
