package vendors

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// lineBridge is a client API made up for the bridge's tests: requests are
// {"prompt": "..."}, answers {"text": "...", "tokens": n}, and streams one
// line per content delta ("T:...") and a last line, "END:<tokens>" or
// "FAIL:<code>".
type lineBridge struct{ a Attempt }

func (b lineBridge) ChatRequest(a Attempt) ([]byte, error) {
	prompt := gjson.GetBytes(a.Body, "prompt")
	if prompt.Type != gjson.String {
		return nil, fmt.Errorf("prompt must be a string")
	}
	chat, _ := sjson.SetBytes([]byte(`{}`), "model", a.Model)
	chat, _ = sjson.SetBytes(chat, "messages.0", map[string]string{"role": "user", "content": prompt.Str})
	if a.Stream {
		chat, _ = sjson.SetRawBytes(chat, "stream", []byte("true"))
	}
	return chat, nil
}

func (lineBridge) ResponseHeaders(h http.Header) { h.Set("X-Line-Bridge", "1") }

func (lineBridge) Answer(chat []byte, u billing.Usage) ([]byte, error) {
	out, _ := sjson.SetBytes([]byte(`{}`), "text", gjson.GetBytes(chat, "choices.0.message.content").Str)
	return sjson.SetBytes(out, "tokens", u.CompletionTokens)
}

func (lineBridge) NewStream() bridgeStream { return &lineStream{} }

func (lineBridge) ErrorBody(_ http.Header, _ int, e []byte) []byte {
	return append(append([]byte(`{"wrapped":`), e...), '}')
}

type lineStream struct{ ev chatEvents }

func (s *lineStream) Feed(dst, chat []byte) []byte {
	s.ev.feed(chat, func(data []byte) {
		if c := gjson.GetBytes(data, "choices.0.delta.content"); c.Str != "" {
			dst = append(append(append(dst, "T:"...), c.Str...), '\n')
		}
	})
	return dst
}

func (s *lineStream) Finish(dst []byte, end StreamEnd) []byte {
	if end.Failure != nil {
		return append(dst, "FAIL:"+end.Failure.Code+"\n"...)
	}
	return append(dst, fmt.Sprintf("END:%d\n", end.Usage.CompletionTokens)...)
}

// withLineBridge carries the legacy completions endpoint over the line
// bridge for the duration of the test, for the vendors that do not serve it.
func withLineBridge(t *testing.T) {
	saved := bridges[Completions]
	bridges[Completions] = func(_ *Vendor, a Attempt) chatBridge { return lineBridge{a} }
	t.Cleanup(func() { bridges[Completions] = saved })
}

func TestVendor_TranslatorBridges(t *testing.T) {
	withLineBridge(t)
	for kind, native := range map[string]bool{"openai": true, "mistral": false, "anthropic": false} {
		v := newTestVendor(t, kind)
		assert.True(t, v.Supports(Completions), kind)
		assert.Equal(t, native, v.ServesNatively(Completions), kind)
		tr, err := v.Translator(Attempt{Endpoint: Completions, Model: "m", Body: []byte(`{"prompt":"hi"}`)})
		require.NoError(t, err)
		_, bridged := tr.(*bridgeTranslator)
		assert.Equal(t, !native, bridged, kind)
		tr.Release()
	}
}

// The bridged request is the vendor's own chat translation of the bridge's
// chat body: to Anthropic, a Messages request.
func TestBridgeTranslator_Request(t *testing.T) {
	withLineBridge(t)
	v := newTestVendor(t, "anthropic")
	a := Attempt{Endpoint: Completions, Model: "claude-sonnet-4-5", Body: []byte(`{"prompt":"Say hi"}`), Stream: true}
	out, _ := http.NewRequest(http.MethodPost, "http://router/v1/completions", nil)
	require.NoError(t, v.Prepare(out, a))
	assert.Equal(t, "/v1/messages", out.URL.Path)
	body, _ := io.ReadAll(out.Body)
	assert.Equal(t, "Say hi", gjson.GetBytes(body, "messages.0.content.0.text").String(), "%s", body)
	assert.True(t, gjson.GetBytes(body, "stream").Bool())

	// What the bridge cannot say is the vendor refusing the request.
	a.Body = []byte(`{"prompt":1}`)
	err := v.Prepare(out, a)
	assert.EqualError(t, err, `vendor "anthropic-test": prompt must be a string`)
}

func runBridgeStream(t *testing.T, v *Vendor, a Attempt, stream string, step int) (string, *bridgeTranslator) {
	t.Helper()
	tr, err := v.Translator(a)
	require.NoError(t, err)
	bt := tr.(*bridgeTranslator)
	out, _ := http.NewRequest(http.MethodPost, "http://router/", nil)
	require.NoError(t, tr.Request(out))
	resp := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}, "Content-Length": {"9"}}}
	tr.ResponseHeaders(resp)
	assert.Equal(t, "1", resp.Header.Get("X-Line-Bridge"))
	assert.Empty(t, resp.Header.Get("Content-Length"))
	var got strings.Builder
	for fed := 0; fed < len(stream); fed += step {
		n := min(step, len(stream)-fed)
		require.NoError(t, tr.Feed([]byte(stream[fed:fed+n]), fed+n == len(stream)))
		got.Write(tr.Output())
	}
	tr.End()
	got.Write(tr.Output())
	return got.String(), bt
}

// A stream: the inner translator's chat chunks, converted; its commit point,
// completion and usage are the inner translator's, and the bridge's end
// comes with the chat stream's.
func TestBridgeTranslator_Stream(t *testing.T) {
	withLineBridge(t)
	v := newTestVendor(t, "anthropic")
	a := Attempt{Endpoint: Completions, Model: "claude-sonnet-4-5", Body: []byte(`{"prompt":"hi"}`), Stream: true}
	for _, step := range []int{len(anthropicTextStream), 7, 1} {
		got, tr := runBridgeStream(t, v, a, anthropicTextStream, step)
		assert.Equal(t, "T:Hello\nT:! \"Ça va\" ✓\n\nEND:15\n", got, "step %d", step)
		assert.True(t, tr.Committed())
		assert.True(t, tr.Done())
		assert.Nil(t, tr.Err())
		assert.Equal(t, billing.Usage{PromptTokens: 25, CompletionTokens: 15}, tr.Usage())
		tr.Release()
	}

	// Broken after the first delta: the router interrupts it, in the
	// client's terms, once.
	cut := anthropicTextStream[:strings.Index(anthropicTextStream, "event: content_block_stop")]
	got, tr := runBridgeStream(t, v, a, cut, 5)
	defer tr.Release()
	assert.False(t, tr.Done())
	tr.Interrupt("gone", "stream_interrupted")
	tr.Interrupt("gone again", "stream_interrupted")
	got += string(tr.Output())
	assert.Equal(t, "T:Hello\nT:! \"Ça va\" ✓\n\nFAIL:stream_interrupted\n", got)

	// An error inside the stream ends it as failed.
	withErr := strings.Replace(anthropicTextStream, "event: content_block_stop",
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"busy\"}}\n\nevent: content_block_stop", 1)
	got, tr2 := runBridgeStream(t, v, a, withErr, 11)
	defer tr2.Release()
	assert.True(t, strings.HasSuffix(got, "FAIL:overloaded_error\n"), got)
	assert.Equal(t, "busy", tr2.Err().Message)
}

func TestBridgeTranslator_Answer(t *testing.T) {
	withLineBridge(t)
	v := newTestVendor(t, "mistral")
	tr, err := v.Translator(Attempt{Endpoint: Completions, Model: "m", Body: []byte(`{"prompt":"hi"}`)})
	require.NoError(t, err)
	defer tr.Release()
	out, _ := http.NewRequest(http.MethodPost, "http://router/", nil)
	require.NoError(t, tr.Request(out))
	body, res, err := tr.Answer([]byte(`{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`))
	require.NoError(t, err)
	assert.JSONEq(t, `{"text":"Hello","tokens":2}`, string(body))
	assert.Equal(t, 2, res.Usage.CompletionTokens)

	// An empty answer is not converted: the router will not commit it.
	empty := `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":0,"total_tokens":3}}`
	body, res, err = tr.Answer([]byte(empty))
	require.NoError(t, err)
	assert.False(t, res.HasContent)
	assert.JSONEq(t, empty, string(body))

	// Errors: the chat translator's rendering, then the bridge's.
	h := http.Header{}
	assert.Equal(t, `{"wrapped":{"message":"bad"}}`, string(tr.ErrorBody(h, 400, []byte(`{"message":"bad"}`))))
}

func TestChatEvents(t *testing.T) {
	stream := "data: a\n\n: comment\n\nevent: x\ndata: b\ndata: c\n\ndata: d\r\n\r\ndata: e"
	for step := 1; step <= len(stream); step++ {
		var c chatEvents
		var got []string
		for i := 0; i < len(stream); i += step {
			c.feed([]byte(stream[i:min(i+step, len(stream))]), func(d []byte) { got = append(got, string(d)) })
		}
		assert.Equal(t, []string{"a", "b\nc", "d"}, got, "step %d", step)
	}
}
