package llmrouter_test

// Tests of how an answer's end reaches the client: when the vendor's body
// ends with its last bytes, those bytes and the end of the response leave
// Caddy in one write (one wake-up of the client), unless settling the
// request may wait on the network. They watch Caddy's writes to the
// client's connection through a listener wrapper registered for the tests.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
	"github.com/caddy-llm/llmrouter/internal/testservices"
)

func init() { caddy.RegisterModule(writeTracer{}) }

// writeTracer is a listener wrapper for the tests: it records what Caddy
// writes to each connection it accepts, write by write.
type writeTracer struct{}

func (writeTracer) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "caddy.listeners.test_write_trace", New: func() caddy.Module { return new(writeTracer) }}
}

func (*writeTracer) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the name; it takes no settings
	return nil
}

func (*writeTracer) WrapListener(ln net.Listener) net.Listener { return tracingListener{ln} }

// writesTo holds each connection's writes by its client's address.
var writesTo = struct {
	sync.Mutex
	client map[string][]string
}{client: map[string][]string{}}

type tracingListener struct{ net.Listener }

func (l tracingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tracingConn{Conn: c, client: c.RemoteAddr().String()}, nil
}

type tracingConn struct {
	net.Conn
	client string
}

func (c *tracingConn) Write(p []byte) (int, error) {
	writesTo.Lock()
	writesTo.client[c.client] = append(writesTo.client[c.client], string(p)) // before the client can read it
	writesTo.Unlock()
	return c.Conn.Write(p)
}

// startTracedRouter is startRouter with Caddy's writes traced.
func startTracedRouter(t *testing.T, routerBlock string) {
	t.Helper()
	startRouterWith(t, "grace_period 1ns\n\tservers {\n\t\tlistener_wrappers {\n\t\t\ttest_write_trace\n\t\t}\n\t}", routerBlock)
}

// tracedStream posts a streamed chat for model on a connection of its own
// and returns the body the client read and Caddy's writes to it.
func tracedStream(t *testing.T, model string, headers ...string) (body string, writes []string) {
	t.Helper()
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", routerPort))
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	payload := fmt.Sprintf(`{"model":%q,"stream":true,"messages":[{"role":"user","content":"Say hello"}]}`, model)
	head := "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
	for i := 0; i+1 < len(headers); i += 2 {
		head += headers[i] + ": " + headers[i+1] + "\r\n"
	}
	_, err = fmt.Fprintf(conn, "%sContent-Length: %d\r\n\r\n%s", head, len(payload), payload)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	require.Equal(t, []string{"chunked"}, resp.TransferEncoding)

	writesTo.Lock()
	defer writesTo.Unlock()
	return string(b), writesTo.client[conn.LocalAddr().String()]
}

// chunkedEnd is the end of a chunked HTTP/1.1 response without trailers.
const chunkedEnd = "0\r\n\r\n"

// writeWith returns the index of the first write that contains s, or -1.
func writeWith(writes []string, s string) int {
	for i, w := range writes {
		if strings.Contains(w, s) {
			return i
		}
	}
	return -1
}

func TestLastEventLeavesWithTheEnd(t *testing.T) {
	vendor := fakevendor.Start(t, fakevendor.Options{Name: "ends", PerToken: 10 * time.Millisecond,
		Reply: "one two three", EndWithLastEvent: true})
	block := func(settings ...string) string {
		return routerBlock(settings, vendorBlock("ends", "openai_compatible", vendor.URL(), "", "model end-model"))
	}
	dir := t.TempDir()

	t.Run("settled in memory: one write", func(t *testing.T) {
		startTracedRouter(t, block("ledger sqlite "+filepath.Join(dir, "async.db")))
		body, writes := tracedStream(t, "end-model")
		require.True(t, strings.HasSuffix(body, "data: [DONE]\n\n"), body)
		last := writes[len(writes)-1]
		assert.Contains(t, last, "data: [DONE]", "the last event and the end leave together: %q", writes)
		assert.True(t, strings.HasSuffix(last, chunkedEnd), "%q", writes)
		// The events before it were flushed as they came.
		first := writeWith(writes, `"one"`)
		require.GreaterOrEqual(t, first, 0, "%q", writes)
		assert.Less(t, first, writeWith(writes, `" three"`), "%q", writes)
		assert.NotContains(t, writes[first], "[DONE]")
	})

	// Settling that may wait on the network does not hold the answer's
	// last bytes: they are flushed before it, the end after.
	released := func(t *testing.T, headers ...string) {
		t.Helper()
		body, writes := tracedStream(t, "end-model", headers...)
		require.True(t, strings.HasSuffix(body, "data: [DONE]\n\n"), body)
		done := writeWith(writes, "data: [DONE]")
		require.GreaterOrEqual(t, done, 0, "%q", writes)
		assert.NotContains(t, writes[done], chunkedEnd, "the last event is flushed before settling: %q", writes)
		assert.Equal(t, chunkedEnd, writes[len(writes)-1], "%q", writes)
	}
	t.Run("a ledger that commits each entry", func(t *testing.T) {
		startTracedRouter(t, block("ledger sqlite "+filepath.Join(dir, "sync.db"), "ledger_flush_interval 0"))
		released(t)
	})
	t.Run("limits in Redis", func(t *testing.T) {
		redisAddr := testservices.RedisAddr(t)
		startTracedRouter(t, block("ledger memory",
			fmt.Sprintf("shared redis %s {\n\t\tkey_prefix llmr-roottest-lastwrite:\n\t}", redisAddr),
			clientLimits("requests 100 per 1m")))
		released(t, "X-Client", fmt.Sprint("lastwrite-", time.Now().UnixNano()))
	})
}
