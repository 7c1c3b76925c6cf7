package vendors

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLayoutOfRejectsInvalidBodies(t *testing.T) {
	for _, body := range []string{``, `[]`, `{"model":}`, `{"a":1} {}`, "{\"a\":\"\x01\"}"} {
		_, err := LayoutOf([]byte(body))
		assert.Error(t, err, "%q", body)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "gpt-4o", `a"b\c`, "tab\there\x01\x1f", "héllo ☃"} {
		raw := appendJSONString(nil, s)
		var back string
		require.NoError(t, json.Unmarshal(raw, &back), "%s", raw)
		assert.Equal(t, s, back)
	}
}

// Tool-call arguments are a JSON text inside a string, which the native
// translations parse. Nested a few million levels deep, they used to
// overflow gjson's recursive validator and crash the process; now they are
// refused or passed on as text, and Prepare returns either way.
func TestDeepToolArgumentsDoNotCrash(t *testing.T) {
	deep := strings.Repeat("[", 7<<20) + strings.Repeat("]", 7<<20)
	args, err := json.Marshal(deep)
	require.NoError(t, err)
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"},` +
		`{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":` +
		string(args) + `}}]},{"role":"tool","tool_call_id":"call_1","content":"ok"}]}`)
	for _, cfg := range []Config{
		{Kind: "anthropic", APIKey: "k"},
		{Kind: "google", APIKey: "k"},
		{Kind: "aws", APIKey: "k", Region: "us-east-1"},
	} {
		v, err := New(cfg)
		require.NoError(t, err)
		out := httptest.NewRequest(http.MethodPost, "/", nil)
		t.Log(cfg.Kind, v.Prepare(out, Attempt{Endpoint: ChatCompletions, Model: "m", Body: body}))
	}
}
