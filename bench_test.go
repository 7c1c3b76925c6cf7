package llmrouter

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// benchRouter is a router with three vendors serving one model, provisioned
// without Caddy's HTTP app: enough for the per-request work of the hot path.
func benchRouter(b testing.TB) *LLMRouter {
	b.Helper()
	price := func(v float64) *float64 { return &v }
	cfgs := []VendorConfig{
		{ID: "openai", APIKey: "sk-bench", Models: []ModelConfig{{Name: "gpt-4o", InputPrice: price(2.5), OutputPrice: price(10)}}},
		{ID: "azure", BaseURL: "https://bench.openai.azure.com", APIKey: "az-bench",
			Models: []ModelConfig{{Name: "gpt-4o", VendorModel: "gpt4o-deploy", InputPrice: price(2.5), OutputPrice: price(10)}}},
		{ID: "local", Kind: "openai_compatible", BaseURL: "http://127.0.0.1:8000/v1",
			Models: []ModelConfig{{Name: "gpt-4o", InputPrice: price(0.5), OutputPrice: price(1)}}},
	}
	table, err := buildRouteTable(cfgs, caddy.NewReplacer(), selector.NewMemoryStore())
	if err != nil {
		b.Fatal(err)
	}
	if err := initMetrics(nil); err != nil { // the collectors, without a registry
		b.Fatal(err)
	}
	sel := selector.New(selector.Config{ExplorationShare: -1})
	now := time.Now()
	for i, rt := range table.routes {
		ttft := time.Duration(100+50*i) * time.Millisecond
		sel.ObserveSuccess(rt.stats, 0, selector.Sample{Stream: true, FirstToken: ttft, Total: 2 * ttft, CompletionTokens: 50}, now)
	}
	// The decision log line is on, as in a default Caddy (INFO), but
	// discarded: its cost (selector.Explain) is part of the hot path.
	return &LLMRouter{VendorHeader: DefaultVendorHeader, TTFTTimeout: caddy.Duration(DefaultTTFTTimeout),
		routing: selector.Perf, selector: sel, table: table,
		logger: zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zapcore.InfoLevel))}
}

// benchBody is a typical small chat request: a system prompt, a short
// conversation and a few sampling parameters, about 1 KiB.
var benchBody = []byte(`{"model":"gpt-4o","messages":[` +
	`{"role":"system","content":"You are a helpful assistant that answers briefly and precisely.\nUse metric units."},` +
	`{"role":"user","content":"` + strings.Repeat("What is the boiling point of water at altitude? ", 12) + `"},` +
	`{"role":"assistant","content":"It drops by about 1 degree Celsius per 300 m of altitude."},` +
	`{"role":"user","content":"And at 3000 m?"}],` +
	`"temperature":0.2,"max_tokens":256,"stream":true%s}`)

// BenchmarkHotPath measures the router's own per-request work: parse and
// validate the body, rank the vendors, and shape the first attempt (clone,
// strip client headers, rewrite URL, auth and body). Forwarding is Caddy's.
func BenchmarkHotPath(b *testing.B) {
	for _, c := range []struct{ name, extra string }{
		{"perf", ""},
		{"routing-field", `,"routing":"price"`},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := benchRouter(b)
			body := []byte(strings.Replace(string(benchBody), "%s", c.extra, 1))
			req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
			req.Header.Set("Authorization", "Bearer client")
			req.Header.Set("Content-Type", "application/json")
			ctx := context.Background()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				st, err := h.inspect(req, opChat, body, time.Now())
				if err != nil {
					b.Fatal(err)
				}
				out := h.attemptRequest(ctx, req)
				rt := st.plan.ranked[0]
				tr, err := rt.vendor.Translator(vendors.Attempt{Endpoint: st.plan.endpoint, Model: rt.vendorModel,
					Body: st.plan.body, Layout: st.plan.layout})
				if err != nil {
					b.Fatal(err)
				}
				if err := tr.Request(out); err != nil {
					b.Fatal(err)
				}
				tr.Release()
			}
		})
	}
}

// eventReader hands out one SSE event per Read, as a vendor's flushed
// stream arrives.
type eventReader struct {
	events [][]byte
	i      int
}

func (r *eventReader) Read(p []byte) (int, error) {
	if r.i == len(r.events) {
		return 0, io.EOF
	}
	n := copy(p, r.events[r.i])
	r.i++
	return n, nil
}

func (r *eventReader) Close() error { return nil }

// benchStream is an OpenAI stream: role chunk, n content chunks, finish
// chunk, usage chunk, [DONE].
func benchStream(n int) [][]byte {
	chunk := func(delta, finish string) []byte {
		return []byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o",` +
			`"system_fingerprint":"fp_bench","choices":[{"index":0,"delta":` + delta + `,"logprobs":null,"finish_reason":` + finish + `}],"usage":null}` + "\n\n")
	}
	events := [][]byte{chunk(`{"role":"assistant","content":""}`, "null")}
	for i := range n {
		events = append(events, chunk(fmt.Sprintf(`{"content":" token%d"}`, i), "null"))
	}
	events = append(events, chunk(`{}`, `"stop"`),
		[]byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":`+strconv.Itoa(n)+`,"total_tokens":`+strconv.Itoa(20+n)+`}}`+"\n\n"),
		[]byte("data: [DONE]\n\n"))
	return events
}

// BenchmarkCommittedStream measures the commit-point wrapper on a whole
// stream: hold until the first token, then pass event by event while
// metering, as reverse_proxy's copy loop reads it. Compare with "direct", the
// same stream read without the router; allocs/op must not grow with the
// number of events (no allocation per event).
func BenchmarkCommittedStream(b *testing.B) {
	h := benchRouter(b)
	rt := h.table.routes[0]
	tr := &attemptTransport{router: h}
	for _, n := range []int{20, 200} {
		events := benchStream(n)
		buf := make([]byte, 32<<10)
		b.Run(fmt.Sprintf("direct/events=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				body := &eventReader{events: events}
				for {
					if _, err := body.Read(buf); err != nil {
						break
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
		})
		b.Run(fmt.Sprintf("committed/events=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				st := &requestState{plan: plan{stream: true, promptTokens: 20, strategy: selector.Perf}}
				resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
					Body: &eventReader{events: events}}
				_, cancel := context.WithCancel(ctx)
				mb := &meteredBody{body: resp.Body, tr: benchTranslator(b, rt, st), sel: h.selector, st: st, route: rt,
					start: time.Now(), timer: &attemptTimer{}, cancel: cancel, clientCx: ctx}
				var o attemptOutcome
				out, err := tr.commit(&o, rt, mb, resp)
				if err != nil {
					b.Fatal(err)
				}
				st.record(rt, &o)
				for {
					if _, err := out.Body.Read(buf); err != nil {
						break
					}
				}
				out.Body.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
		})
	}
}

// BenchmarkFirstEvent measures how long the commit point adds before the
// client gets the first content event: the role chunk and the first token
// are read, checked and handed on.
func BenchmarkFirstEvent(b *testing.B) {
	h := benchRouter(b)
	rt := h.table.routes[0]
	tr := &attemptTransport{router: h}
	events := benchStream(1)[:2]
	buf := make([]byte, 32<<10)
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			body := &eventReader{events: events}
			_, _ = body.Read(buf)
			_, _ = body.Read(buf)
		}
	})
	b.Run("committed", func(b *testing.B) {
		b.ReportAllocs()
		ctx := context.Background()
		for b.Loop() {
			st := &requestState{plan: plan{stream: true, promptTokens: 20, strategy: selector.Perf}}
			resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
				Body: &eventReader{events: events}}
			_, cancel := context.WithCancel(ctx)
			mb := &meteredBody{body: resp.Body, tr: benchTranslator(b, rt, st), sel: h.selector, st: st, route: rt,
				start: time.Now(), timer: &attemptTimer{}, cancel: cancel, clientCx: ctx}
			var o attemptOutcome
			out, err := tr.commit(&o, rt, mb, resp)
			if err != nil {
				b.Fatal(err)
			}
			st.record(rt, &o)
			_, _ = out.Body.Read(buf)
			out.Body.Close()
		}
	})
}

// benchTranslator is the translator of st's attempt at rt, as the transport
// makes it.
func benchTranslator(b testing.TB, rt *route, st *requestState) vendors.Translator {
	tr, err := rt.vendor.Translator(vendors.Attempt{Endpoint: st.plan.endpoint, Model: rt.vendorModel, Body: st.plan.body,
		Stream: st.plan.stream, ClientWantsUsage: st.plan.clientWantsUsage, PromptTokens: st.plan.promptTokens})
	if err != nil {
		b.Fatal(err)
	}
	return tr
}
