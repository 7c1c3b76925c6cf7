// Command demo runs llm_router with no API keys: six fake vendors on
// loopback, each with its own speed and price, behind Caddy on :8080.
//
//	go run ./examples/demo
//
// Then send requests with curl (the demo prints examples) and watch the
// X-LLM-* response headers show which vendor served each one.
package main

import (
	_ "embed"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-llm/llmrouter"
	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

//go:embed Caddyfile
var caddyfile []byte

// fakes are the demo's vendors, on the addresses its Caddyfile names.
var fakes = []struct {
	addr string
	opts fakevendor.Options
}{
	{"127.0.0.1:9101", fakevendor.Options{Name: "openai", RequireKey: "demo-openai-key",
		TTFT: 20 * time.Millisecond, TTFTPerPromptKB: 150 * time.Millisecond, PerToken: 15 * time.Millisecond}},
	{"127.0.0.1:9102", fakevendor.Options{Name: "azure", RequireKey: "demo-azure-key",
		TTFT: 90 * time.Millisecond, TTFTPerPromptKB: 5 * time.Millisecond, PerToken: 20 * time.Millisecond}},
	{"127.0.0.1:9103", fakevendor.Options{Name: "deepseek", RequireKey: "demo-deepseek-key",
		TTFT: 400 * time.Millisecond, PerToken: 40 * time.Millisecond}},
	{"127.0.0.1:9104", fakevendor.Options{Name: "mistral", RequireKey: "demo-mistral-key",
		Status: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"30"}},
		ErrorBody: `{"object":"error","message":"Service tier capacity exceeded for this model.","type":"service_tier_capacity_exceeded","param":null,"code":"3505"}`}},
	{"127.0.0.1:9105", miniOptions},
}

// miniOptions is the quick gpt-4o-mini vendor, which showHedge makes stall.
var miniOptions = fakevendor.Options{Name: "openai-mini", RequireKey: "demo-mini-key", TTFT: 20 * time.Millisecond,
	PerToken: 10 * time.Millisecond}

// The demo's Claude: Anthropic's Messages API.
const claudeAddr = "127.0.0.1:9106"

var claudeOpts = fakevendor.AnthropicOptions{Name: "claude", RequireKey: "demo-anthropic-key",
	TTFT: 60 * time.Millisecond, PerToken: 25 * time.Millisecond}

func main() {
	// The ledger (SQLite, the default) lives under Caddy's data directory:
	// a fresh one for each demo run, so that the demo leaves nothing behind.
	dataDir, err := os.MkdirTemp("", "llm-router-demo-*")
	if err != nil {
		log.Fatalf("making the demo's data directory: %v", err)
	}
	defer os.RemoveAll(dataDir)
	if err := os.Setenv("XDG_DATA_HOME", dataDir); err != nil {
		log.Fatal(err)
	}

	var mini *fakevendor.Vendor
	for _, f := range fakes {
		v, err := fakevendor.StartOn(f.addr, f.opts)
		if err != nil {
			log.Fatalf("starting fake vendor %s on %s: %v (is the port taken?)", f.opts.Name, f.addr, err)
		}
		defer v.Close()
		if f.opts.Name == miniOptions.Name {
			mini = v
		}
	}
	claude, err := fakevendor.StartAnthropicOn(claudeAddr, claudeOpts)
	if err != nil {
		log.Fatalf("starting fake vendor anthropic on %s: %v (is the port taken?)", claudeAddr, err)
	}
	defer claude.Close()

	cfg, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(caddyfile, map[string]any{"filename": "examples/demo/Caddyfile"})
	if err != nil {
		log.Fatalf("adapting the demo Caddyfile: %v", err)
	}
	for _, w := range warnings {
		log.Printf("Caddyfile: %s", w)
	}
	if err := caddy.Load(cfg, true); err != nil {
		log.Fatalf("starting Caddy: %v", err)
	}
	defer caddy.Stop() //nolint:errcheck

	showPreferences()
	showHedge(mini)
	fmt.Printf(usage, caddy.AppDataDir())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	fmt.Println("\nstopping")
}

const usage = `
llm_router demo on http://127.0.0.1:8080 with six fake vendors (above: one request with routing
preferences, and one hedged); gpt-4o is served by:
  openai    fast on small prompts, slow on large ones   $2.50 / $10 per 1M tokens
  azure     steady                                      $2.50 / $10
  deepseek  slow                                        $0.28 / $0.42
  mistral   always 503 (overloaded)                     $0.10 / $0.30
and one serving claude-sonnet-4-5:
  anthropic Anthropic's Messages API                    $3 / $15

The dashboard (routes, breakers, TTFT per prompt size, failovers, spend, limits):

  http://127.0.0.1:8080/llm-dashboard/

Try (-i shows the X-LLM-* headers):

  # perf (default): the first requests measure each vendor, then the fastest wins
  curl -si http://127.0.0.1:8080/v1/chat/completions -d '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}'

  # price: mistral is cheapest but fails, so the router fails over to deepseek (X-LLM-Attempts: 2)
  curl -si http://127.0.0.1:8080/v1/chat/completions -d '{"model":"gpt-4o","routing":"price","messages":[{"role":"user","content":"hi"}]}'

  # pin a vendor with the vendor header
  curl -si http://127.0.0.1:8080/v1/chat/completions -H 'vendor: azure' -d '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}'

  # stream
  curl -sN http://127.0.0.1:8080/v1/chat/completions -d '{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}'

  # the Responses API (Codex, the Agents SDK, Vercel's AI SDK): openai serves it itself; deepseek and
  # azure (classic) answer through their chat completions, in the same events (X-LLM-Store-Ignored: true)
  curl -si http://127.0.0.1:8080/v1/responses -d '{"model":"gpt-4o","routing":"price","input":"hi"}'
  curl -sN http://127.0.0.1:8080/v1/responses -d '{"model":"gpt-4o","routing":"price","stream":true,"input":"hi"}'
  curl -sN http://127.0.0.1:8080/v1/responses -H 'vendor: openai' -d '{"model":"gpt-4o","stream":true,"input":"hi"}'
  # Anthropic's Messages API (what Claude Code speaks): Claude passes through as sent;
  # gpt-4o is the same request translated to its vendors' chat completions
  curl -si http://127.0.0.1:8080/v1/messages -H 'anthropic-version: 2023-06-01' \
    -d '{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"hi"}]}'
  curl -sN http://127.0.0.1:8080/v1/messages -H 'anthropic-version: 2023-06-01' \
    -d '{"model":"gpt-4o","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"hi"}]}'

  # the free tier allows 3 requests a minute: the 4th gets a 429 with its wait and x-ratelimit-* headers
  for i in 1 2 3 4; do curl -si http://127.0.0.1:8080/v1/chat/completions -H 'X-Llm-Tier: free' \
    -d '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}' | grep -iE '^(HTTP|x-ratelimit|retry-after)'; done

  # the models and who serves them
  curl -s http://127.0.0.1:8080/v1/models

  # what the router has measured: TTFT per prompt size, decode speed, breakers
  curl -s http://localhost:2019/llm_router/stats

  # usage and cost from the ledger (SQLite, in %s), per client and vendor, by hour
  curl -s 'http://localhost:2019/llm_router/usage?group_by=client,vendor&granularity=hour'
  curl -s 'http://localhost:2019/llm_router/usage?group_by=model&format=csv'

Ctrl-C stops the demo.
`
