package vendors

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/meter"
)

// Vendor.Translator is the one place that picks a translation: one type per
// pair of client API and vendor API.
func TestVendor_Translator(t *testing.T) {
	cases := []struct {
		kind     string
		endpoint Endpoint
		model    string
		want     string
	}{
		{"openai", ChatCompletions, "gpt-4o", "*vendors.compatTranslator"},
		{"openai", Completions, "gpt-3.5-turbo-instruct", "*vendors.compatTranslator"},
		{"openai", Embeddings, "text-embedding-3-small", "*vendors.compatTranslator"},
		{"azure", ChatCompletions, "deploy", "*vendors.compatTranslator"},
		{"mistral", ChatCompletions, "mistral-large", "*vendors.compatTranslator"},
		{"openai_compatible", Embeddings, "e", "*vendors.compatTranslator"},
		{"anthropic", ChatCompletions, "claude-sonnet-4-5", "*vendors.anthropicTranslator"},
		{"aws", ChatCompletions, "anthropic.claude-sonnet-4-20250514-v1:0", "*vendors.bedrockTranslator"},
		{"google", ChatCompletions, "gemini-2.5-flash", "*vendors.geminiTranslator"},
		{"google", Embeddings, "gemini-embedding-001", "*vendors.compatTranslator"},
		{"vertex", ChatCompletions, "gemini-2.5-pro", "*vendors.vertexTranslator"},
		{"vertex", ChatCompletions, "claude-sonnet-4@20250514", "*vendors.vertexTranslator"},
		{"anthropic", Messages, "claude-sonnet-4-5", "*vendors.messagesTranslator"},
		{"anthropic", CountTokens, "claude-sonnet-4-5", "*vendors.messagesTranslator"},
		{"aws", Messages, "anthropic.claude-sonnet-4-20250514-v1:0", "*vendors.messagesTranslator"},
		{"vertex", Messages, "claude-sonnet-4@20250514", "*vendors.messagesTranslator"},
		{"openai", Messages, "gpt-4o", "*vendors.bridgeTranslator"},
		{"google", Messages, "gemini-2.5-flash", "*vendors.bridgeTranslator"},
		{"openai", Responses, "gpt-5", "*vendors.responsesTranslator"},
		{"x", Responses, "grok-4", "*vendors.responsesTranslator"},
		{"azure", Responses, "deploy", "*vendors.bridgeTranslator"}, // classic layout: no Responses API
		{"mistral", Responses, "mistral-large", "*vendors.bridgeTranslator"},
		{"anthropic", Responses, "claude-sonnet-4-5", "*vendors.bridgeTranslator"},
		{"aws", Responses, "anthropic.claude-sonnet-4-20250514-v1:0", "*vendors.bridgeTranslator"},
		{"google", Responses, "gemini-2.5-flash", "*vendors.bridgeTranslator"},
	}
	for _, c := range cases {
		t.Run(c.kind+"/"+c.endpoint.String()+"/"+c.model, func(t *testing.T) {
			v := newTestVendor(t, c.kind)
			tr, err := v.Translator(Attempt{Endpoint: c.endpoint, Model: c.model, Body: []byte(`{}`)})
			require.NoError(t, err)
			defer tr.Release()
			assert.Equal(t, c.want, fmt.Sprintf("%T", tr))
		})
	}

	v := newTestVendor(t, "deepseek")
	_, err := v.Translator(Attempt{Endpoint: Embeddings, Model: "m"})
	assert.EqualError(t, err, `vendor "deepseek-test": kind deepseek does not serve embeddings`)
	_, err = v.Translator(Attempt{Endpoint: ChatCompletions})
	assert.EqualError(t, err, `vendor "deepseek-test": no model to send`)
	_, err = newTestVendor(t, "anthropic").Translator(Attempt{Endpoint: Embeddings, Model: "m"})
	assert.Error(t, err)
}

// streamCase is a vendor's stream for one attempt and what the client must
// get of it.
type streamCase struct {
	v           *Vendor
	a           Attempt
	contentType string // the vendor's; "" for text/event-stream
	stream      []byte
	// firstContent is the text of the stream's first content; nothing may
	// commit before the vendor's bytes that carry it.
	firstContent string
	wantText     string        // the content deltas, joined
	wantUsage    billing.Usage // as the vendor reported it
}

// streamResult is a stream read through a translator the way the transport
// reads it.
type streamResult struct {
	out            string
	committedAfter int // bytes fed when Committed first held; -1 never
	done           bool
	err            *meter.VendorError
	usage          billing.Usage
}

// runStream feeds c's stream to a fresh translator step bytes at a time.
func runStream(t *testing.T, c streamCase, step int) streamResult {
	t.Helper()
	tr, err := c.v.Translator(c.a)
	require.NoError(t, err)
	defer tr.Release()
	ct := c.contentType
	if ct == "" {
		ct = "text/event-stream"
	}
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {ct}}}
	tr.ResponseHeaders(resp)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"), "the client gets SSE")

	r := streamResult{committedAfter: -1}
	var out strings.Builder
	for fed := 0; fed < len(c.stream); {
		n := min(step, len(c.stream)-fed)
		require.NoError(t, tr.Feed(c.stream[fed:fed+n], fed+n == len(c.stream)))
		fed += n
		out.Write(tr.Output())
		if r.committedAfter < 0 && tr.Committed() {
			r.committedAfter = fed
		}
	}
	tr.End()
	out.Write(tr.Output())
	r.out, r.done, r.err, r.usage = out.String(), tr.Done(), tr.Err(), tr.Usage()
	return r
}

// checkStream checks the translator contract on c: the commit point comes
// with the first content, not before; the stream completes; the usage is the
// vendor's; the client gets exactly one usage chunk if it asked for one and
// none otherwise; and how the stream is cut changes nothing.
func checkStream(t *testing.T, c streamCase) {
	t.Helper()
	for _, wantsUsage := range []bool{false, true} {
		c.a.ClientWantsUsage, c.a.Stream = wantsUsage, true
		whole := runStream(t, c, len(c.stream))
		assert.True(t, whole.done, "the stream completed")
		assert.Nil(t, whole.err)
		assert.Equal(t, c.wantUsage, whole.usage)
		assert.True(t, strings.HasSuffix(whole.out, "data: [DONE]\n\n"), whole.out)

		var text strings.Builder
		usageChunks := 0
		for _, ev := range strings.Split(strings.TrimSuffix(whole.out, "\n\n"), "\n\n") {
			data, ok := strings.CutPrefix(ev, "data: ")
			require.True(t, ok, ev)
			if data == "[DONE]" {
				continue
			}
			require.True(t, gjson.Valid(data), data)
			chunk := gjson.Parse(data)
			assert.Equal(t, "chat.completion.chunk", chunk.Get("object").String())
			if len(chunk.Get("choices").Array()) == 0 && chunk.Get("usage").IsObject() {
				usageChunks++
			}
			text.WriteString(chunk.Get("choices.0.delta.content").String())
		}
		assert.Equal(t, c.wantText, text.String())
		assert.Equal(t, map[bool]int{false: 0, true: 1}[wantsUsage], usageChunks, "usage chunks (client asked: %v)", wantsUsage)

		// Nothing commits before the first content: fed one byte at a time,
		// the commit comes after the stream's first content event.
		bytewise := runStream(t, c, 1)
		assert.Equal(t, normalizeIDs(whole.out), normalizeIDs(bytewise.out), "cut into single bytes")
		first := strings.Index(string(c.stream), c.firstContent)
		require.GreaterOrEqual(t, first, 0, "the first content is in the stream")
		assert.GreaterOrEqual(t, bytewise.committedAfter, first+len(c.firstContent), "committed before the first content")
	}
}

// normalizeIDs masks what translations make up per stream (ids, times).
func normalizeIDs(s string) string {
	for _, field := range []string{`"id":"`, `"created":`} {
		var b strings.Builder
		for {
			i := strings.Index(s, field)
			if i < 0 {
				b.WriteString(s)
				break
			}
			b.WriteString(s[:i+len(field)])
			s = s[i+len(field):]
			end := strings.IndexAny(s, `",}`)
			if end < 0 {
				end = len(s)
			}
			b.WriteString("X")
			s = s[end:]
		}
		s = b.String()
	}
	return s
}

// answerCase is a vendor's whole answer for one attempt.
type answerCase struct {
	v         *Vendor
	a         Attempt
	answer    []byte
	wantText  string
	wantUsage billing.Usage
}

// checkAnswer checks the translator contract on a whole answer: it becomes
// an OpenAI chat.completion whose reading has the vendor's usage.
func checkAnswer(t *testing.T, c answerCase) {
	t.Helper()
	tr, err := c.v.Translator(c.a)
	require.NoError(t, err)
	defer tr.Release()
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Encoding": {"gzip"}}, ContentLength: 9}
	tr.ResponseHeaders(resp)
	out, res, err := tr.Answer(c.answer)
	require.NoError(t, err)
	require.True(t, gjson.ValidBytes(out), "%s", out)
	assert.Equal(t, "chat.completion", gjson.GetBytes(out, "object").String())
	assert.Equal(t, c.wantText, gjson.GetBytes(out, "choices.0.message.content").String())
	assert.Equal(t, c.wantUsage, res.Usage)
	assert.True(t, res.HasContent)
	assert.Nil(t, res.Err)
}

// checkNativeErrorBody checks that a native vendor's error reaches the
// client in OpenAI's shape, as JSON, without the vendor's key.
func checkNativeErrorBody(t *testing.T, v *Vendor, status int, body, wantMessage, wantType string) {
	t.Helper()
	tr, err := v.Translator(Attempt{Endpoint: ChatCompletions, Model: "m"})
	require.NoError(t, err)
	defer tr.Release()
	h := http.Header{"Content-Type": {"text/plain"}}
	out := tr.ErrorBody(h, status, []byte(body))
	assert.Equal(t, "application/json", h.Get("Content-Type"))
	assert.JSONEq(t, fmt.Sprintf(`{"error":{"message":%q,"type":%q,"param":null,"code":null}}`, wantMessage, wantType), string(out))
	assert.NotContains(t, string(out), testKey)
}
