package vendors

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// claudeTestSignature has the form of a signature Claude made: standard
// base64 of an opaque message.
const claudeTestSignature = "EqQBCkgIARABPD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFi"

func TestIsClaudeSignature(t *testing.T) {
	assert.True(t, isClaudeSignature(claudeTestSignature))
	for _, s := range []string{"", "fake-signature", "EqQBsig", "c2hvcnQ=", claudeTestSignature[1:],
		"skip_thought_signature_validator", claudeTestSignature[:40] + "-_" + claudeTestSignature[42:]} {
		assert.False(t, isClaudeSignature(s), s)
	}
}

// A conversation partly answered by another vendor reaches Claude without
// the thinking Claude did not sign and with tool ids Claude accepts;
// Claude's own thinking stays, byte for byte.
func TestMessagesReplaySafe(t *testing.T) {
	body := `{"model":"m","max_tokens":9,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[` +
		`{"role":"user","content":"Weather?"},` +
		`{"role":"assistant","content":[{"type":"thinking","thinking":"from gpt","signature":""},{"type":"text","text":"Checking."},` +
		`{"type":"tool_use","id":"call_1__thought__Q2lR+/=","name":"w","input":{}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1__thought__Q2lR+/=","content":"sunny"}]},` +
		`{"role":"assistant","content":[{"type":"redacted_thinking","data":"not claude"}]},` +
		`{"role":"user","content":"And tomorrow?"},` +
		`{"role":"assistant","content":[{"type":"thinking","thinking":"mine","signature":"` + claudeTestSignature + `"},` +
		`{"type":"redacted_thinking","data":"` + claudeTestSignature + `"},{"type":"text","text":"Rain."}]},` +
		`{"role":"user","content":"Thanks"}]}`
	got, err := messagesReplaySafe([]byte(body))
	require.NoError(t, err)
	msgs := gjson.GetBytes(got, "messages").Array()
	require.Len(t, msgs, 6, "the turn of nothing but foreign thinking is gone: %s", got)
	assert.JSONEq(t, `[{"type":"text","text":"Checking."},{"type":"tool_use","id":"call_1__thought__Q2lR___","name":"w","input":{}}]`, msgs[1].Get("content").Raw)
	assert.Equal(t, "call_1__thought__Q2lR___", msgs[2].Get("content.0.tool_use_id").String())
	assert.Equal(t, "And tomorrow?", msgs[3].Get("content").String())
	assert.Equal(t, claudeTestSignature, msgs[4].Get("content.0.signature").String())
	assert.Equal(t, claudeTestSignature, msgs[4].Get("content.1.data").String())
	assert.Equal(t, "Rain.", msgs[4].Get("content.2.text").String())
	assert.EqualValues(t, 1024, gjson.GetBytes(got, "thinking.budget_tokens").Int(), "the rest is untouched")

	// Nothing to change: the very same bytes.
	for _, same := range []string{
		`{"model":"m","messages":[{"role":"user","content":"Hi"}]}`,
		`{"model":"m","messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"` + claudeTestSignature + `"},{"type":"tool_use","id":"toolu_01A","name":"w","input":{}}]}]}`,
		`{"model":"m","messages":"not an array","thinking":{}}`,
	} {
		got, err := messagesReplaySafe([]byte(same))
		require.NoError(t, err)
		assert.Equal(t, same, string(got))
	}
}

// The passthrough applies it at every Claude vendor.
func TestMessagesTranslator_RequestDropsForeignThinking(t *testing.T) {
	const body = `{"model":"claude","max_tokens":64,"messages":[{"role":"user","content":"Hi"},` +
		`{"role":"assistant","content":[{"type":"thinking","thinking":"bridged","signature":""},{"type":"text","text":"Hello"}]},` +
		`{"role":"user","content":"Again"}]}`
	v := newTestVendor(t, "anthropic")
	for _, e := range []Endpoint{Messages, CountTokens} {
		out := messagesClientRequest(t, body)
		require.NoError(t, v.Prepare(out, Attempt{Endpoint: e, Model: "claude-sonnet-4-5", Body: []byte(body)}))
		got := awsReadBody(t, out)
		assert.JSONEq(t, `[{"type":"text","text":"Hello"}]`, gjson.GetBytes(got, "messages.1.content").Raw, "%s", e)
	}
}
