package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

const demoURL = "http://127.0.0.1:8080/v1/chat/completions"

// send posts a chat completion to the demo and returns its response with
// the body read.
func send(body string) (*http.Response, string) {
	resp, err := http.Post(demoURL, "application/json", strings.NewReader(body))
	if err != nil {
		log.Fatalf("demo request: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// printHeaders prints a response's status and its X-LLM-* headers.
func printHeaders(resp *http.Response, took time.Duration) {
	fmt.Printf("  -> %s in %s\n", resp.Status, took.Round(time.Millisecond))
	for _, name := range []string{"X-Llm-Vendor", "X-Llm-Routing", "X-Llm-Attempts", "X-Llm-Excluded", "X-Llm-Hedged"} {
		if v := resp.Header.Get(name); v != "" {
			fmt.Printf("     %s: %s\n", name, v)
		}
	}
}

// showPreferences sends one request with a routing object and prints what
// it filtered out.
func showPreferences() {
	body := `{"model":"gpt-4o","routing":{"only":["tag:eu"],"ignore":["mistral"]},"messages":[{"role":"user","content":"hi"}]}`
	fmt.Printf("\nA request with routing preferences (only EU vendors, never mistral):\n  %s\n", body)
	start := time.Now()
	resp, _ := send(body)
	printHeaders(resp, time.Since(start))
}

// showHedge lets the router learn openai-mini's first tokens, makes it
// stall for one streamed request, and prints the hedge in its headers.
func showHedge(mini *fakevendor.Vendor) {
	const body = `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	for range 6 { // both vendors get measured; openai-mini is the quicker one
		send(body)
	}
	slow := miniOptions
	slow.TTFT = 5 * time.Second
	mini.SetOptions(slow)
	defer mini.SetOptions(miniOptions)
	fmt.Printf("\nA streamed request whose usual vendor (openai-mini) stalls for 5s this once:\n  %s\n", body)
	start := time.Now()
	resp, _ := send(body)
	printHeaders(resp, time.Since(start))
	fmt.Println("  (the stalled attempt was cancelled; its prompt is absorbed, never billed)")
}
