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

// shapeBodies are request bodies with every arrangement of "model" and
// "stream_options" that shapeOpenAIBody splices or hands to the slow path.
var shapeBodies = []string{
	`{"model":"gpt-4o","messages":[]}`,
	`{"model":"other","messages":[{"role":"user","content":"model"}]}`,
	`{"messages":[],"model":"gpt-4o"}`,
	`{"messages":[]}`,
	`{}`,
	" \n{ \"model\" : \"gpt-4o\" ,\"x\":1 } \n",
	`{"model":"gpt-\u0034o"}`,
	`{"model":null,"x":[1,{"model":"keep"}]}`,
	`{"model":"a","model":"b"}`,
	`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}}`,
	`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":false},"x":1}`,
	`{"stream_options":{},"model":"x"}`,
	`{"stream_options":{"include_usage":true},"stream_options":{}}`,
	`{"stream":true,"stream_options":null}`,
	`{"stream":true,"stream_options":"yes","model":"m"}`,
}

// The splicing fast path writes the same JSON as the whole-body rewrite it
// replaces, for every kind of stream usage handling, with the layout found
// by Prepare or handed in by the router.
func TestShapeOpenAIBodyMatchesSlowPath(t *testing.T) {
	for _, kindName := range []string{"openai", "openai_compatible", "mistral"} {
		v, err := New(Config{Kind: kindName, APIKey: "k", BaseURL: "http://127.0.0.1:1"})
		require.NoError(t, err)
		for _, body := range shapeBodies {
			for _, stream := range []bool{false, true} {
				for _, model := range []string{"gpt-4o", `we"ird`} {
					a := Attempt{Model: model, Body: []byte(body), Stream: stream}
					want, wantErr := v.backend.(*compatBackend).slowBody(a)
					got, err := v.backend.(*compatBackend).shapeBody(a)
					require.Equal(t, wantErr == nil, err == nil, "%s %s stream=%v: %v / %v", kindName, body, stream, err, wantErr)
					if err != nil {
						continue
					}
					assert.True(t, json.Valid(got), "%s: %s", body, got)
					assert.JSONEq(t, string(want), string(got), "%s %s stream=%v model=%s", kindName, body, stream, model)

					layout, err := LayoutOf(a.Body)
					require.NoError(t, err)
					a.Layout = layout
					again, err := v.backend.(*compatBackend).shapeBody(a)
					require.NoError(t, err)
					assert.Equal(t, string(got), string(again))
					assert.Equal(t, body, string(a.Body), "the client's body is never modified")
				}
			}
		}
	}
}

// When the vendor's model name is the client's and the stream needs no
// change, the client's body goes out as it is: no copy.
func TestShapeOpenAIBodyKeepsUnchangedBody(t *testing.T) {
	v, err := New(Config{Kind: "openai_compatible", APIKey: "k", BaseURL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	body := []byte(`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[]}`)
	layout, err := LayoutOf(body)
	require.NoError(t, err)
	got, err := v.backend.(*compatBackend).shapeBody(Attempt{Model: "gpt-4o", Body: body, Stream: true, Layout: layout})
	require.NoError(t, err)
	assert.Same(t, &body[0], &got[0])
}

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
