package llmrouter

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// What is never hedged.
func TestHedgeable(t *testing.T) {
	two := []*route{{}, {}}
	ok := plan{stream: true, endpoint: vendors.ChatCompletions, strategy: selector.Perf, ranked: two}
	assert.True(t, hedgeable(&ok))
	whole := ok
	whole.stream = false
	assert.True(t, hedgeable(&whole), "a non-streamed request is hedged too, streamed from the vendor")
	for name, change := range map[string]func(p *plan){
		"pinned or no fallback": func(p *plan) { p.sreq.Pinned = true },
		"price routing":         func(p *plan) { p.strategy = selector.Price },
		"an exploration":        func(p *plan) { p.explored = true },
		"one candidate":         func(p *plan) { p.ranked = two[:1] },
		"one attempt allowed":   func(p *plan) { p.maxTries = 1 },
		"not chat":              func(p *plan) { p.endpoint = vendors.Completions },
	} {
		p := ok
		change(&p)
		assert.False(t, hedgeable(&p), name)
	}
}

// The legs of a non-streamed hedged request ask for a stream with its usage;
// every "stream" and "stream_options" member the client sent goes, so that
// no duplicate gives the vendor another value, and the rest stays as it was.
func TestNewStreamedRequest(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"model":"m","messages":[]}`, `{"stream":true,"stream_options":{"include_usage":true},"model":"m","messages":[]}`},
		{` { "model" : "m" , "stream":false, "str\u0065am":false,"stream_options":{"x":1}} `,
			` {"stream":true,"stream_options":{"include_usage":true},"model" : "m"}`},
		{`{}`, `{"stream":true,"stream_options":{"include_usage":true}}`},
	} {
		sr, err := newStreamedRequest([]byte(c.in))
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, string(sr.body))
		assert.True(t, sr.layout.Known)
		assert.Equal(t, 1, sr.layout.StreamOptionsCount)
		assert.Equal(t, `{"include_usage":true}`, string(sr.body[sr.layout.StreamOptions.Start:sr.layout.StreamOptions.End]))
	}
	_, err := newStreamedRequest([]byte(`{"model":`))
	assert.Error(t, err)
}
