package llmrouter_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/testservices"

	_ "github.com/caddy-llm/llmrouter"
)

// routerPort is where the in-process Caddy of the integration tests listens.
const routerPort = 9080

var routerURL = fmt.Sprintf("http://127.0.0.1:%d", routerPort)

// startRouter loads a Caddy config whose only site runs the given llm_router
// block, in the in-process Caddy that caddytest manages. Tests that call it
// must not run in parallel: they share that Caddy. Old configs are stopped at
// once (grace_period 1ns), so tests do not wait for each other's streams.
func startRouter(t *testing.T, routerBlock string) {
	t.Helper()
	startRouterWith(t, "grace_period 1ns", routerBlock)
}

// startRouterWith is startRouter with extra global options.
func startRouterWith(t *testing.T, globalOptions, routerBlock string) {
	t.Helper()
	tester := testservices.NewCaddyTester(t)
	tester.InitServer(fmt.Sprintf(`{
	skip_install_trust
	admin localhost:2999
	http_port %d
	https_port 9443
	%s
	log {
		level ERROR
	}
}

:%d {
	%s
	# Everything llm_router does not handle falls through to the next
	# handler: a file server over an empty root, so a plain 404.
	root * /nonexistent-llm-router-test-root
	file_server
}
`, routerPort, globalOptions, routerPort, routerBlock), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	// The reload closed the previous server's idle connections, but the
	// client may not have noticed yet: a POST sent on such a connection
	// fails (net/http retries only idempotent requests), so start afresh.
	client.CloseIdleConnections()
	reloads.Loaded()
}

// client is the HTTP client of the tests; no timeout beyond the test's own.
// Its transport retries a request whose connection a config load cut
// (testservices.ReloadRetry).
var client = &http.Client{Timeout: 30 * time.Second, Transport: reloads}

// reloads is client's transport; startRouterWith tells it of each load.
var reloads = &testservices.ReloadRetry{}

// post sends a JSON body to a router path with optional header pairs.
func post(t *testing.T, path, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, routerURL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// chat posts a chat completion for model with extra JSON fields (without
// braces, e.g. `"routing":"price"`) and header pairs.
func chat(t *testing.T, model, extra string, headers ...string) (*http.Response, string) {
	t.Helper()
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"Say hello"}]`, model)
	if extra != "" {
		body += "," + extra
	}
	return post(t, "/v1/chat/completions", body+"}", headers...)
}

// sseEvents reads the data payloads of an SSE stream, calling onEvent as each
// one arrives.
func sseEvents(r io.Reader, onEvent func(data string)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			onEvent(data)
		}
	}
	return sc.Err()
}

// vendorBlock renders one vendor block of the Caddyfile.
func vendorBlock(id, kind, baseURL, key string, lines ...string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "vendor %s %s {\n", id, kind)
	if baseURL != "" {
		fmt.Fprintf(&b, "\t\tbase_url %s\n", baseURL)
	}
	if key != "" {
		fmt.Fprintf(&b, "\t\tapi_key %s\n", key)
	}
	for _, l := range lines {
		fmt.Fprintf(&b, "\t\t%s\n", l)
	}
	b.WriteString("\t}\n")
	return b.String()
}

// routerBlock renders an llm_router block from settings lines and vendor blocks.
func routerBlock(settings []string, vendorBlocks ...string) string {
	var b bytes.Buffer
	b.WriteString("llm_router {\n")
	for _, s := range settings {
		fmt.Fprintf(&b, "\t%s\n", s)
	}
	for _, v := range vendorBlocks {
		b.WriteString("\t" + v)
	}
	b.WriteString("}\n")
	return b.String()
}

// sha256Prefix is the hex of the first 8 bytes of s's SHA-256: how the
// ledger names a client by its token.
func sha256Prefix(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}
