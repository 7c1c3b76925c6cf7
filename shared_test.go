package llmrouter_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
	"github.com/caddy-llm/llmrouter/internal/testservices"
)

// With Redis reachable, the shared state is up; with Redis down, requests
// are served all the same from local state, and the metric says it is
// down.
func TestShared_RedisUpAndDown(t *testing.T) {
	fake := fakevendor.Start(t, fakevendor.Options{Name: "ok"})
	vendor := vendorBlock("ok", "openai_compatible", fake.URL(), "", "model shared-model")

	redisAddr := testservices.RedisAddr(t)
	startRouter(t, routerBlock([]string{fmt.Sprintf("shared redis %s {\nkey_prefix llmr-roottest-up:\n}", redisAddr)}, vendor))
	resp, body := chat(t, "shared-model", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Eventually(t, func() bool {
		return strings.Contains(strings.Join(scrapeMetrics(t), "\n"), "caddy_llm_router_shared_state_up 1")
	}, 5e9, 5e7, "shared state up with Redis reachable")

	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	ln.Close()
	startRouter(t, routerBlock([]string{fmt.Sprintf("shared redis %s {\ntimeout 100ms\ndial_timeout 100ms\n}", closed)}, vendor))
	for range 5 {
		resp, body := chat(t, "shared-model", "")
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
	}
	assert.Eventually(t, func() bool {
		return strings.Contains(strings.Join(scrapeMetrics(t), "\n"), "caddy_llm_router_shared_state_up 0")
	}, 5e9, 5e7, "shared state down with Redis unreachable")
}
