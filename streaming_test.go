package llmrouter_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// A streamed completion reaches the client event by event: the client reads
// the first event long before the vendor sends the last one.
func TestStreamingPassesThroughIncrementally(t *testing.T) {
	const perToken = 150 * time.Millisecond
	streamer := fakevendor.Start(t, fakevendor.Options{Name: "streamer", PerToken: perToken,
		Reply: "one two three four five six"})
	startRouter(t, routerBlock(nil, vendorBlock("streamer", "openai_compatible", streamer.URL(), "", "model stream-model")))

	req, err := http.NewRequest(http.MethodPost, routerURL+"/v1/chat/completions", strings.NewReader(
		`{"model":"stream-model","stream":true,"messages":[{"role":"user","content":"count"}]}`))
	require.NoError(t, err)
	start := time.Now()
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "streamer", resp.Header.Get("X-LLM-Vendor"))

	var arrivals []time.Duration
	var text strings.Builder
	var sawDone bool
	require.NoError(t, sseEvents(resp.Body, func(data string) {
		arrivals = append(arrivals, time.Since(start))
		if data == "[DONE]" {
			sawDone = true
			return
		}
		require.True(t, gjson.Valid(data), data)
		assert.Equal(t, "chat.completion.chunk", gjson.Get(data, "object").String())
		text.WriteString(gjson.Get(data, "choices.0.delta.content").String())
	}))
	assert.True(t, sawDone)
	assert.Equal(t, "one two three four five six", text.String())

	// role chunk + 6 words + finish chunk + [DONE]
	require.Len(t, arrivals, 9)
	first, last := arrivals[1], arrivals[len(arrivals)-1] // first content event, [DONE]
	// The vendor needs about 6 x perToken for the whole stream; the first word
	// must arrive after about one perToken, not with the rest.
	assert.Less(t, first, 3*perToken, "first event arrived at %s", first)
	assert.Greater(t, last-first, 4*perToken, "events arrived together: %v", arrivals)
}

// A streaming request fails over like any other before the vendor answers.
func TestStreamingFailsOverBeforeResponse(t *testing.T) {
	down := fakevendor.Start(t, fakevendor.Options{Name: "down", Status: http.StatusServiceUnavailable})
	up := fakevendor.Start(t, fakevendor.Options{Name: "up"})
	startRouter(t, routerBlock(nil,
		vendorBlock("down", "openai_compatible", down.URL(), "", "model stream-failover input 0.1"),
		vendorBlock("up", "openai_compatible", up.URL(), "", "model stream-failover input 1"),
	))
	resp, body := chat(t, "stream-failover", `"stream":true,"routing":"price"`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "up", resp.Header.Get("X-LLM-Vendor"))
	assert.Contains(t, body, "data: [DONE]")
	assert.True(t, gjson.GetBytes(down.Requests()[0].Body, "stream").Bool())
}
