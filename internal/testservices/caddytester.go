package testservices

import (
	"net/http"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// NewCaddyTester is caddytest.NewTester, for a test about to load a config
// with InitServer, after closing the idle connections of
// http.DefaultTransport, which caddytest's requests to the admin endpoint go
// through.
//
// Each config load replaces Caddy's admin server and shuts the old one down
// in the background. A kept-alive connection to an old admin server can be
// closed by that shutdown just as the next load is sent on it; net/http
// retries a GET then, but not the load's POST, which failed once with
// "connection reset by peer" on localhost:2999 (2026-12-06, under `go test
// ./...`, with other packages' tests loading both cores). On connections
// opened afresh, the load reaches the admin server that is current.
func NewCaddyTester(t testing.TB) *caddytest.Tester {
	if c, ok := http.DefaultTransport.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
	return caddytest.NewTester(t)
}
