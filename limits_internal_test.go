package llmrouter

import (
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/caddy-llm/llmrouter/internal/limits"
	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// Reset delays read like OpenAI's (and Go's) durations.
func TestFormatReset(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                    "0ms",
		20 * time.Millisecond:                "20ms",
		999 * time.Millisecond:               "999ms",
		time.Second:                          "1s",
		1500 * time.Millisecond:              "1.5s",
		6 * time.Minute:                      "6m0s",
		time.Minute + 52754*time.Millisecond: "1m52.754s",
		2*time.Hour + 3*time.Second + 40*time.Millisecond: "2h0m3.04s",
	} {
		assert.Equal(t, want, formatReset(d), d.String())
		if d >= time.Second {
			assert.Equal(t, d.String(), formatReset(d), "as Go writes it")
		}
	}
}

// Without max_tokens, the completion reserved is four times the measured
// mean, within [256, DefaultLimitMaxTokens], once ten answers are known.
func TestHighCompletion(t *testing.T) {
	now := time.Now()
	rt := &route{stats: selector.NewRoute()}
	assert.Equal(t, DefaultLimitMaxTokens, highCompletion(rt, 0, now), "nothing measured")
	for range 10 {
		rt.stats.ObserveSuccess(0, selector.Sample{FirstToken: 10 * time.Millisecond, Total: 20 * time.Millisecond, CompletionTokens: 100}, now, time.Minute)
	}
	assert.Equal(t, 400, highCompletion(rt, 0, now))
	short := &route{stats: selector.NewRoute()}
	for range 10 {
		short.stats.ObserveSuccess(0, selector.Sample{FirstToken: 10 * time.Millisecond, Total: 20 * time.Millisecond, CompletionTokens: 3}, now, time.Minute)
	}
	assert.Equal(t, 256, highCompletion(short, 0, now))
}

// The router's completion cap goes under each client API's name for it:
// chat completions' max_completion_tokens (OpenAI's reasoning models refuse
// max_tokens), the Responses API's max_output_tokens, max_tokens elsewhere;
// appended last, so that the layout's offsets stay true.
func TestWithMaxTokens(t *testing.T) {
	for _, tc := range []struct {
		e    vendors.Endpoint
		body string
		want string
	}{
		{vendors.ChatCompletions, `{"model":"m","messages":[]}`, `{"model":"m","messages":[],"max_completion_tokens":4096}`},
		{vendors.Responses, `{"model":"m","input":"hi"} `, `{"model":"m","input":"hi","max_output_tokens":4096} `},
		{vendors.Messages, `{"model":"m","messages":[]}`, `{"model":"m","messages":[],"max_tokens":4096}`},
		{vendors.Completions, `{"model":"m","prompt":"a"}`, `{"model":"m","prompt":"a","max_tokens":4096}`},
		{vendors.ChatCompletions, `{}`, `{"max_completion_tokens":4096}`},
	} {
		members := 2
		if tc.body == `{}` {
			members = 0
		}
		got, layout := withMaxTokens([]byte(tc.body), vendors.Layout{Members: members}, tc.e, 4096)
		assert.Equal(t, tc.want, string(got), tc.e)
		assert.Equal(t, members+1, layout.Members)
	}
}

// BenchmarkLimitHeaders is what the limit headers cost a response beyond the
// headers it has anyway (a router's answer: the vendor's, Caddy's and the
// route's), in the steps every response header takes: set into the map,
// cloned when the status is written, written out. It shows the floor under
// issue 13's CPU target: net/http's cost of eight more headers, whoever
// formats them.
func BenchmarkLimitHeaders(b *testing.B) {
	base := func() http.Header {
		return http.Header{"Content-Type": {"application/json"}, "Content-Length": {"231"},
			"Date": {"Sat, 05 Dec 2026 03:40:00 GMT"}, "Via": {"1.1 Caddy"}, "X-Request-Id": {"req_8f3a"},
			headerRouting: {"perf"}, headerAttempts: {"1"}, headerVendor: {"v1"}, headerModel: {"gpt-4o"}}
	}
	g := limits.Grant{Admitted: true,
		Requests: limits.Headroom{Set: true, Limit: 60, Remaining: 59, Reset: time.Second},
		Tokens:   limits.Headroom{Set: true, Limit: 200_000, Remaining: 199_000, Reset: 300 * time.Millisecond},
		Budget:   limits.BudgetHeadroom{Set: true, RemainingMicroUSD: 24_998_700, Reset: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}}
	for _, withLimits := range []bool{false, true} {
		name := "without"
		if withLimits {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h := base()
				if withLimits {
					setLimitHeaders(h, &g)
				}
				_ = h.Clone().Write(io.Discard)
			}
		})
	}
}

// The budget headers' fast formatting writes what the obvious one would.
func TestBudgetHeaderFormats(t *testing.T) {
	for _, micro := range []int64{0, 1, 999_999, 1_000_000, 1_000_001, 24_998_700, 123_456_789_012, 1 << 52} {
		want := strconv.FormatFloat(float64(micro)/1e6, 'f', 6, 64)
		assert.Equal(t, want, string(appendMicroUSD(nil, micro)), "%d µUSD", micro)
	}
	for _, at := range []time.Time{
		time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), // cached
		time.Date(2026, 12, 7, 0, 0, 0, 0, time.FixedZone("CET", 3600)),
		time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC), // the same instant, cached
	} {
		assert.Equal(t, at.UTC().Format(time.RFC3339), string(appendBudgetReset([]byte("x"), at))[1:])
	}
}
