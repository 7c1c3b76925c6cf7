package vendors

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

func TestResponsesTranslator_Request(t *testing.T) {
	ids := NewResponseIDs([]byte("test-key"))
	for kind, wantPath := range map[string]string{"openai": "/v1/responses", "x": "/v1/responses"} {
		v := newTestVendor(t, kind)
		assert.True(t, v.ServesNatively(Responses), kind)
		prev := ids.Sign(v.ID(), "resp_vendor1")
		a := Attempt{Endpoint: Responses, Model: "gpt-5", ResponseIDs: ids,
			Body: []byte(`{"model":"alias","input":"hi","previous_response_id":"` + prev + `","tools":[{"type":"web_search"}],"store":true}`)}
		out, _ := http.NewRequest(http.MethodPost, "http://router/v1/responses", nil)
		require.NoError(t, v.Prepare(out, a), kind)
		assert.Equal(t, wantPath, out.URL.Path)
		assert.Equal(t, "Bearer "+testKey, out.Header.Get("Authorization"))
		body, _ := io.ReadAll(out.Body)
		assert.JSONEq(t, `{"model":"gpt-5","input":"hi","previous_response_id":"resp_vendor1","tools":[{"type":"web_search"}],"store":true}`, string(body))

		// Another vendor's id, or a forged one, is refused.
		a.Body = []byte(`{"input":"hi","previous_response_id":"` + ids.Sign("other", "resp_1") + `"}`)
		assert.ErrorContains(t, v.Prepare(out, a), "is not a response of vendor")
	}
	// Azure: its v1 API serves Responses; the classic layout goes through the bridge.
	v1, err := New(Config{ID: "az", Kind: "azure", BaseURL: "https://r.openai.azure.com/openai/v1", APIKey: testKey})
	require.NoError(t, err)
	assert.True(t, v1.ServesNatively(Responses))
	classic := newTestVendor(t, "azure")
	assert.False(t, classic.ServesNatively(Responses))
	assert.True(t, classic.Supports(Responses))
	for _, k := range []string{"anthropic", "google", "mistral", "deepseek"} {
		assert.False(t, newTestVendor(t, k).ServesNatively(Responses), k)
		assert.True(t, newTestVendor(t, k).Supports(Responses), k)
	}
}

const nativeResponsesStream = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_v1\",\"object\":\"response\",\"status\":\"in_progress\",\"output\":[]}}\n\n" +
	": keep-alive\n\n" +
	"event: response.in_progress\ndata: {\"type\":\"response.in_progress\",\"sequence_number\":1,\"response\":{\"id\":\"resp_v1\",\"object\":\"response\",\"status\":\"in_progress\",\"output\":[]}}\n\n" +
	"event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":2,\"output_index\":0,\"item\":{\"type\":\"message\",\"id\":\"msg_1\",\"role\":\"assistant\",\"status\":\"in_progress\",\"content\":[]}}\n\n" +
	"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":3,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hello\",\"logprobs\":[]}\n\n" +
	"event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":4,\"response\":{\"id\":\"resp_v1\",\"object\":\"response\",\"status\":\"completed\",\"output\":[{\"type\":\"message\"}],\"usage\":{\"input_tokens\":11,\"input_tokens_details\":{\"cached_tokens\":4},\"output_tokens\":5,\"output_tokens_details\":{\"reasoning_tokens\":2},\"total_tokens\":16}}}\n\n"

// The stream passes as the vendor sent it, with the router's response ids;
// the commit point is the first delta; the usage is response.completed's.
func TestResponsesTranslator_Stream(t *testing.T) {
	ids := NewResponseIDs([]byte("test-key"))
	v := newTestVendor(t, "openai")
	signed := ids.Sign(v.ID(), "resp_v1")
	a := Attempt{Endpoint: Responses, Model: "gpt-5", Stream: true, ResponseIDs: ids, Body: []byte(`{"input":"hi"}`)}
	for _, step := range []int{len(nativeResponsesStream), 9, 1} {
		tr, err := v.Translator(a)
		require.NoError(t, err)
		var sb strings.Builder
		committedAt := -1
		for fed := 0; fed < len(nativeResponsesStream); fed += step {
			n := min(step, len(nativeResponsesStream)-fed)
			require.NoError(t, tr.Feed([]byte(nativeResponsesStream[fed:fed+n]), fed+n == len(nativeResponsesStream)))
			sb.WriteString(string(tr.Output()))
			if committedAt < 0 && tr.Committed() {
				committedAt = fed + n
			}
		}
		tr.End()
		sb.WriteString(string(tr.Output()))
		out := sb.String()
		assert.GreaterOrEqual(t, committedAt, strings.Index(nativeResponsesStream, "Hello"), "step %d", step)
		assert.True(t, tr.Done())
		assert.Nil(t, tr.Err())
		assert.Equal(t, billing.Usage{PromptTokens: 11, CachedTokens: 4, CompletionTokens: 5, ReasoningTokens: 2}, tr.Usage())
		assert.NotContains(t, out, `"id":"resp_v1"`)
		assert.Equal(t, 3, strings.Count(out, `"id":"`+signed+`"`))
		assert.Contains(t, out, ": keep-alive\n\n")
		assert.Contains(t, out, "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":3,")
	}

	// Broken after the delta: response.failed with the next number and the
	// router's id.
	cut := nativeResponsesStream[:strings.Index(nativeResponsesStream, "event: response.completed")]
	tr, _ := v.Translator(a)
	require.NoError(t, tr.Feed([]byte(cut), true))
	tr.End()
	_ = tr.Output()
	assert.False(t, tr.Done())
	tr.Interrupt("vendor stopped", "stream_interrupted")
	failed := string(tr.Output())
	require.True(t, strings.HasPrefix(failed, "event: response.failed\ndata: "), failed)
	d := gjson.Parse(strings.TrimSuffix(strings.TrimPrefix(failed, "event: response.failed\ndata: "), "\n\n"))
	assert.Equal(t, int64(4), d.Get("sequence_number").Int())
	assert.Equal(t, signed, d.Get("response.id").String())
	assert.Equal(t, "failed", d.Get("response.status").String())
	assert.Equal(t, "server_error", d.Get("response.error.code").String())

	// Errors in the stream are the vendor's.
	for _, ev := range []string{
		"event: error\ndata: {\"type\":\"error\",\"sequence_number\":2,\"code\":\"rate_limit_exceeded\",\"message\":\"slow down\",\"param\":null}\n\n",
		"event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":2,\"response\":{\"id\":\"resp_v1\",\"status\":\"failed\",\"error\":{\"code\":\"rate_limit_exceeded\",\"message\":\"slow down\"}}}\n\n",
	} {
		tr, _ := v.Translator(a)
		require.NoError(t, tr.Feed([]byte(ev), true))
		require.NotNil(t, tr.Err(), ev)
		assert.Equal(t, "slow down", tr.Err().Message)
		assert.Equal(t, "rate_limit_exceeded", tr.Err().Code)
		assert.False(t, tr.Committed())
	}
}

func TestResponsesTranslator_Answer(t *testing.T) {
	ids := NewResponseIDs([]byte("test-key"))
	v := newTestVendor(t, "openai")
	tr, _ := v.Translator(Attempt{Endpoint: Responses, Model: "gpt-5", ResponseIDs: ids, Body: []byte(`{}`), PromptTokens: 3})
	out, res, err := tr.Answer([]byte(`{"id":"resp_v1","object":"response","status":"completed","output":[{"type":"message"}],"usage":{"input_tokens":8,"output_tokens":2}}`))
	require.NoError(t, err)
	assert.Equal(t, ids.Sign(v.ID(), "resp_v1"), gjson.GetBytes(out, "id").String())
	assert.True(t, res.HasContent)
	assert.Equal(t, billing.Usage{PromptTokens: 8, CompletionTokens: 2}, res.Usage)

	_, res, _ = tr.Answer([]byte(`{"id":"r","object":"response","status":"failed","error":{"code":"server_error","message":"boom"},"output":[]}`))
	require.NotNil(t, res.Err)
	assert.Equal(t, "boom", res.Err.Message)
	_, res, _ = tr.Answer([]byte(`{"id":`))
	assert.Equal(t, "invalid_response", res.Err.Type)

	// Stored responses: the vendor's own path and key.
	out2, _ := http.NewRequest(http.MethodGet, "http://router/v1/responses/x", nil)
	require.NoError(t, v.ResponseRequest(out2, "resp_v1", "/input_items", "limit=2"))
	assert.Equal(t, "https://api.openai.com/v1/responses/resp_v1/input_items?limit=2", out2.URL.String())
	assert.Equal(t, "Bearer "+testKey, out2.Header.Get("Authorization"))
	assert.Error(t, newTestVendor(t, "mistral").ResponseRequest(out2, "r", "", ""))
	body := v.SignResponseIDs(ids, []byte(`{"id":"resp_v1","object":"response"}`))
	assert.Equal(t, ids.Sign(v.ID(), "resp_v1"), gjson.GetBytes(body, "id").String())
	assert.Equal(t, `{"id":"x","object":"response.deleted"}`, string(v.SignResponseIDs(ids, []byte(`{"id":"x","object":"response.deleted"}`))))
}
