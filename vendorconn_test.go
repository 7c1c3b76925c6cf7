package llmrouter

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A body larger than the write buffer reaches the connection as an
// io.LimitedReader (net/http's framing); vendorConn copies it through a
// pooled buffer, where *net.TCPConn allocated 32 KiB for every copy.
func TestVendorConnCopiesWithoutAllocating(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	go func() { _, _ = io.Copy(io.Discard, server) }()
	c := vendorConn{client}
	defer c.Close()

	body := bytes.Repeat([]byte("x"), 33<<10)
	var src bytes.Reader
	var limited io.LimitedReader
	copyOnce := func() {
		src.Reset(body)
		limited = io.LimitedReader{R: &src, N: int64(len(body))}
		n, err := c.ReadFrom(&limited)
		require.NoError(t, err)
		require.EqualValues(t, len(body), n)
	}
	copyOnce() // fills the pool
	if raceEnabled {
		return // the race detector's sync.Pool drops values on purpose
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const copies = 20
	for range copies {
		copyOnce()
	}
	runtime.ReadMemStats(&after)
	assert.Less(t, (after.TotalAlloc-before.TotalAlloc)/copies, uint64(4<<10),
		"bytes allocated per copy of a 33 KiB body")
}

// The vendor transport's connections are vendorConns, and a failed dial is
// the same error (Caddy's DialError, which reverse_proxy retries on).
func TestPooledCopyDialer(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got.Store(string(body))
	}))
	defer srv.Close()
	var d net.Dialer
	var dialed atomic.Value
	tr := &http.Transport{DialContext: pooledCopyDialer(func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	})}
	defer tr.CloseIdleConnections()
	tr.DialContext = func(dial func(context.Context, string, string) (net.Conn, error)) func(context.Context, string, string) (net.Conn, error) {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			dialed.Store(c)
			return c, err
		}
	}(tr.DialContext)

	prompt := strings.Repeat("0123456789abcdef", 40<<10/16)
	req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(prompt))
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, prompt, got.Load(), "a body larger than the write buffer arrives whole")
	assert.IsType(t, vendorConn{}, dialed.Load())

	refused := errors.New("connection refused")
	dial := pooledCopyDialer(func(context.Context, string, string) (net.Conn, error) {
		return nil, reverseproxy.NewDialError(refused)
	})
	_, err = dial(context.Background(), "tcp", "127.0.0.1:1")
	assert.Equal(t, reverseproxy.NewDialError(refused), err)
}
