package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	_ "github.com/caddy-llm/llmrouter"
	"github.com/caddy-llm/llmrouter/internal/testservices"
)

// routerPort is where the in-process Caddy of these tests listens. It differs
// from the root module's integration tests (9080), so that both suites can run
// on one machine one after the other without waiting for a port.
const routerPort = 9180

var routerURL = fmt.Sprintf("http://127.0.0.1:%d", routerPort)

// startRouter loads a Caddy config whose only site runs the given llm_router
// block in the in-process Caddy that caddytest manages (admin on
// localhost:2999). Tests that call it must not run in parallel: they share
// that Caddy.
func startRouter(t *testing.T, routerBlock string) {
	t.Helper()
	tester := testservices.NewCaddyTester(t)
	tester.InitServer(fmt.Sprintf(`{
	skip_install_trust
	admin localhost:2999
	http_port %d
	https_port 9543
	grace_period 1ns
	log {
		level ERROR
	}
}

:%d {
	%s
	root * /nonexistent-llm-router-e2e-root
	file_server
}
`, routerPort, routerPort, routerBlock), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	// The reload closed the previous server's idle connections, but the
	// clients may not have noticed yet: a POST sent on such a connection
	// fails (net/http retries only idempotent requests, and the SDK's retries
	// are off), so start afresh. The SDK uses http.DefaultClient.
	httpClient.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	reloads.Loaded()
}

// vendor renders one `vendor <id> openai_compatible { … }` block.
func vendor(id string, fake *fakeVendor, models ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "vendor %s openai_compatible {\n\t\tbase_url %s\n\t\tapi_key %s\n", id, fake.URL(), vendorKey(id))
	for _, m := range models {
		fmt.Fprintf(&b, "\t\tmodel %s\n", m)
	}
	b.WriteString("\t}\n")
	return b.String()
}

// vendorKey is the API key the router holds for a vendor.
func vendorKey(id string) string { return "vendor-key-" + id }

// router renders an llm_router block from settings lines and vendor blocks.
func router(settings []string, vendors ...string) string {
	var b strings.Builder
	b.WriteString("llm_router {\n")
	for _, s := range settings {
		fmt.Fprintf(&b, "\t%s\n", s)
	}
	for _, v := range vendors {
		b.WriteString("\t" + v)
	}
	b.WriteString("}\n")
	return b.String()
}

// httpClient is the plain HTTP client of the tests.
var httpClient = &http.Client{Timeout: 30 * time.Second, Transport: reloads}

// reloads is the Go clients' transport, httpClient's and, from TestMain on,
// http.DefaultClient's (the SDKs'): it retries a request whose connection a
// config load cut (testservices.ReloadRetry). Clients in other processes
// (Node, Python) have no such retry.
var reloads = &testservices.ReloadRetry{}

// do sends a request to the router and returns the response with its body.
func do(t *testing.T, method, path, body string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, routerURL+path, r)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := httpClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}
