package llmrouter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// benchRouter is a router with three vendors serving one model, provisioned
// without Caddy's HTTP app: enough for the per-request work of the hot path.
func benchRouter(b *testing.B) *LLMRouter {
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
	sel := selector.New(selector.Config{ExplorationShare: -1})
	now := time.Now()
	for i, rt := range table.routes {
		ttft := time.Duration(100+50*i) * time.Millisecond
		sel.ObserveSuccess(rt.stats, 0, selector.Sample{Stream: true, FirstToken: ttft, Total: 2 * ttft, CompletionTokens: 50}, now)
	}
	return &LLMRouter{VendorHeader: DefaultVendorHeader, TTFTTimeout: caddy.Duration(DefaultTTFTTimeout),
		routing: selector.Perf, selector: sel, table: table}
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
				out := req.Clone(ctx)
				stripClientHeaders(out.Header, h.VendorHeader)
				rt := st.ranked[0]
				if err := rt.vendor.Prepare(out, vendors.Attempt{Endpoint: st.endpoint, Model: rt.vendorModel, Body: st.body}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
