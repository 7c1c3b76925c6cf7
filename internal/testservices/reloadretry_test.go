package testservices_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/testservices"
)

// TestReloadRetry checks the harnesses' answer to the reload race (see
// ReloadRetry): a request whose connection is reset just after a config
// load is sent again, whole; one reset later is the test's to see.
func TestReloadRetry(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if requests.Add(1)%2 == 1 { // every other request: reset, unanswered
			conn, _, err := http.NewResponseController(w).Hijack()
			require.NoError(t, err)
			require.NoError(t, conn.(*net.TCPConn).SetLinger(0))
			conn.Close()
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	rt := &testservices.ReloadRetry{Next: transport}
	c := &http.Client{Timeout: 10 * time.Second, Transport: rt}

	rt.Loaded()
	resp, err := c.Post(srv.URL, "application/json", strings.NewReader(`{"model":"m"}`))
	require.NoError(t, err, "reset just after a load: sent again")
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, `{"model":"m"}`, string(got), "the body went out whole the second time")
	assert.Equal(t, int32(2), requests.Load())

	rt.LoadedAt(time.Now().Add(-time.Minute))
	_, err = c.Post(srv.URL, "application/json", strings.NewReader(`{"model":"m"}`))
	require.Error(t, err, "a reset long after a load is not retried")
	assert.True(t, testservices.ConnectionLost(err), "%v", err)
	assert.Equal(t, int32(3), requests.Load())
}
